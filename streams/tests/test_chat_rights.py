"""Rights of participants already in the room follow the chat rules, against the stand-in LiveKit."""

import pytest

from accounts.models import Block, Follow
from streams import livekit as lk
from streams.chat_rights import chat_rights_apply, chat_rights_fan_out
from streams.identities import host_identity
from streams.models import Stream


def rights(livekit, room):
    return {p.identity: p.permission.can_publish_data for p in livekit.participants(room)}


def subscribe_flags(livekit, room):
    return {p.identity: p.permission.can_subscribe for p in livekit.participants(room)}


@pytest.fixture
def room_with_everyone(livekit, creator, viewer, outsider):
    """alice's room: her OBS ingress, her self-view, bob (a follower), charlie (not) and a guest."""
    Follow.objects.create(follower=viewer, following=creator)
    room = lk.room_name_for(creator.pk)
    livekit.participant_join(room, str(creator.pk), name="alice", kind="INGRESS", can_publish_data=False)
    livekit.participant_join(room, host_identity(creator.pk), name="alice", can_publish_data=True)
    livekit.participant_join(room, str(viewer.pk), name="bob", can_publish_data=True)
    livekit.participant_join(room, str(outsider.pk), name="charlie", can_publish_data=True)
    livekit.participant_join(room, "guest-1764000000000-0a1b2c3d", name="Zoe", can_publish_data=True)
    return room


def set_chat(stream, **fields):
    for name, value in fields.items():
        setattr(stream, name, value)
    stream.save()


def test_followers_only_takes_chat_from_non_followers_only(
    livekit, creator, viewer, outsider, room_with_everyone
):
    set_chat(creator.stream, is_chat_followers_only=True)

    result = chat_rights_apply(creator_id=creator.pk)

    assert rights(livekit, room_with_everyone) == {
        str(creator.pk): False,  # the ingress publisher is left as it is
        f"Host-{creator.pk}": True,
        str(viewer.pk): True,
        str(outsider.pk): False,
        "guest-1764000000000-0a1b2c3d": False,
    }
    assert result.updated == 2
    assert all(subscribe_flags(livekit, room_with_everyone).values())


def test_turning_chat_off_and_on_restores_each_right(livekit, creator, viewer, outsider, room_with_everyone):
    set_chat(creator.stream, is_chat_enabled=False)
    chat_rights_apply(creator_id=creator.pk)
    assert not any(v for k, v in rights(livekit, room_with_everyone).items())

    set_chat(creator.stream, is_chat_enabled=True)
    chat_rights_apply(creator_id=creator.pk)
    after = rights(livekit, room_with_everyone)
    assert after[f"Host-{creator.pk}"] and after[str(viewer.pk)] and after[str(outsider.pk)]
    assert after["guest-1764000000000-0a1b2c3d"]
    assert all(subscribe_flags(livekit, room_with_everyone).values())


def test_only_changed_rights_are_sent(livekit, creator, room_with_everyone):
    before = livekit.calls["UpdateParticipant"]
    chat_rights_apply(creator_id=creator.pk)
    assert livekit.calls["UpdateParticipant"] == before
    assert livekit.calls["ListParticipants"] == 1


def test_a_blocked_viewer_in_the_room_is_removed(livekit, creator, outsider, room_with_everyone):
    Block.objects.create(blocker=creator, blocked=outsider)
    chat_rights_apply(creator_id=creator.pk)
    assert str(outsider.pk) not in rights(livekit, room_with_everyone)


def test_a_viewer_who_blocked_the_creator_is_removed_too(livekit, creator, viewer, room_with_everyone):
    # A block either way: the creator does not exist for them, in the room as on the pages.
    Block.objects.create(blocker=viewer, blocked=creator)
    chat_rights_apply(creator_id=creator.pk)
    assert str(viewer.pk) not in rights(livekit, room_with_everyone)


def test_without_a_broker_livekit_down_costs_the_request_one_try(
    livekit, creator, outsider, room_with_everyone
):
    """Catches: retrying inside the request when there is no worker (eager tasks would retry inline,
    holding the creator's page for every backoff)."""
    set_chat(creator.stream, is_chat_followers_only=True)
    livekit.set_fault("*", "down")

    assert chat_rights_fan_out.apply(kwargs={"creator_id": creator.pk}).get() == {"skipped": "pending"}

    assert livekit.calls["ListParticipants"] == 1
    livekit.clear_faults()
    assert rights(livekit, room_with_everyone)[str(outsider.pk)] is True  # left to reconcile


def test_reconcile_reapplies_rights_a_fan_out_gave_up_on(
    livekit, creator, viewer, outsider, room_with_everyone
):
    from django.core.management import call_command

    Stream.objects.filter(user=creator).update(is_chat_followers_only=True, is_live=True)
    ingress = lk.ingress_create(user_id=creator.pk, username="alice", ingress_type="RTMP")
    Stream.objects.filter(user=creator).update(ingress_id=ingress.ingress_id)
    livekit.encoder_start(ingress.ingress_id)

    call_command("reconcile", "--dry-run")
    assert rights(livekit, room_with_everyone)[str(outsider.pk)] is True  # a dry run changes nothing

    call_command("reconcile")
    after = rights(livekit, room_with_everyone)
    assert after[str(outsider.pk)] is False and after[str(viewer.pk)] is True
    assert after["guest-1764000000000-0a1b2c3d"] is False
