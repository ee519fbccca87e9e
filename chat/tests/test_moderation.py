"""Moderators (appointed by the creator), deleting a message, timing a chatter out, the moderation log."""

import json

import pytest

from chat import services
from chat.models import ChatMessage, ModerationAction, Moderator
from streams import livekit as door
from streams.selectors import host_get
from streams.services import viewer_token_issue

pytestmark = pytest.mark.django_db

CHAT = "/api/viewer/stream/alice/chat"
MODERATORS = "/api/stream/moderators"


def say(client, text, token=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.post(CHAT, {"text": text}, content_type="application/json", **headers)


def events(livekit, kind):
    return [e for e in (json.loads(r.data) for r in livekit.sent_data) if e["type"] == kind]


@pytest.fixture
def mod(client, live, outsider):
    """charlie moderates alice's chat."""
    client.force_login(live)
    assert (
        client.post(MODERATORS, {"username": "Charlie"}, content_type="application/json").status_code == 201
    )
    client.logout()
    return outsider


def test_the_creator_appoints_lists_and_dismisses_moderators(client, creator, outsider):
    client.force_login(creator)
    response = client.post(MODERATORS, {"username": "charlie"}, content_type="application/json")
    assert response.status_code == 201 and response.json()["username"] == "charlie"
    assert [m["username"] for m in client.get(MODERATORS).json()] == ["charlie"]
    assert (
        client.delete(MODERATORS, {"username": "charlie"}, content_type="application/json").status_code == 204
    )
    assert client.get(MODERATORS).json() == []
    assert (
        client.delete(MODERATORS, {"username": "charlie"}, content_type="application/json").status_code == 404
    )


def test_moderators_api_is_for_creators(client, creator, viewer):
    assert client.get(MODERATORS).status_code == 401
    client.force_login(viewer)
    assert client.get(MODERATORS).status_code == 403
    assert client.post(MODERATORS, {"username": "alice"}, content_type="application/json").status_code == 403


def test_unknown_or_self_is_refused(client, creator):
    client.force_login(creator)
    assert client.post(MODERATORS, {"username": "nobody"}, content_type="application/json").status_code == 404
    assert client.post(MODERATORS, {"username": "alice"}, content_type="application/json").status_code == 400
    assert not Moderator.objects.exists()


def test_a_moderators_message_says_so(client, live, mod):
    client.force_login(mod)
    assert say(client, "I keep order").json()["role"] == "moderator"


@pytest.mark.parametrize("who", ["creator", "moderator"])
def test_the_creator_or_a_moderator_deletes_a_message_for_everyone(client, live, viewer, mod, livekit, who):
    client.force_login(viewer)
    message = say(client, "rude words").json()
    client.force_login(live if who == "creator" else mod)
    livekit.sent_data.clear()

    assert client.delete(f"{CHAT}/{message['id']}").status_code == 204

    assert events(livekit, "delete") == [{"type": "delete", "id": message["id"]}]
    client.logout()
    assert client.get(CHAT).json()["messages"] == []
    log = ModerationAction.objects.get(kind="delete")
    assert (log.actor_name, log.kind, log.target_name, log.detail) == (
        "alice" if who == "creator" else "charlie",
        "delete",
        "bob",
        "rude words",
    )


def test_a_viewer_cannot_delete(client, live, viewer, outsider, livekit):
    client.force_login(viewer)
    message = say(client, "mine").json()
    client.force_login(outsider)  # not a moderator
    livekit.sent_data.clear()
    assert client.delete(f"{CHAT}/{message['id']}").status_code == 403
    client.logout()
    assert client.delete(f"{CHAT}/{message['id']}").status_code == 401
    assert livekit.sent_data == []
    assert ChatMessage.objects.get().deleted_at is None


def test_another_creators_message_is_404(client, live, other_creator, viewer, livekit):
    client.force_login(viewer)
    message = say(client, "in alice's room").json()
    client.force_login(other_creator)
    assert client.delete(f"/api/viewer/stream/erin/chat/{message['id']}").status_code == 404


@pytest.mark.parametrize("minutes", [1, 10, 60])
def test_a_time_out_refuses_the_chatter_and_withdraws_their_right(
    client, live, viewer, livekit, minutes, django_capture_on_commit_callbacks
):
    room = door.room_name_for(live.pk)
    livekit.participant_join(room, str(viewer.pk), name="bob", can_publish_data=True)
    client.force_login(viewer)
    message = say(client, "spam").json()
    client.force_login(live)
    livekit.sent_data.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{CHAT}/{message['id']}/timeout", {"minutes": minutes}, content_type="application/json"
        )

    assert response.status_code == 201
    [event] = events(livekit, "timeout")
    assert event["identity"] == str(viewer.pk) and event["seconds"] == minutes * 60
    [bob] = [p for p in livekit.participants(room) if p.identity == str(viewer.pk)]
    assert bob.permission.can_publish_data is False
    client.force_login(viewer)
    livekit.sent_data.clear()
    refused = say(client, "still here")
    assert refused.status_code == 403 and refused.json()["reason"] == "timed_out"
    assert minutes * 60 - 5 <= int(refused["Retry-After"]) <= minutes * 60
    assert livekit.sent_data == []
    assert ModerationAction.objects.get(kind="time_out").detail == f"{minutes} min"


def test_a_guest_can_be_timed_out_by_a_moderator(client, live, mod, livekit):
    token = viewer_token_issue(viewer=None, host=host_get(user_id=live.pk), guest_name="Zoe").token
    message = say(client, "guest spam", token=token).json()
    client.force_login(mod)
    assert (
        client.post(
            f"{CHAT}/{message['id']}/timeout", {"minutes": 1}, content_type="application/json"
        ).status_code
        == 201
    )
    client.logout()
    assert say(client, "again", token=token).status_code == 403


def test_a_time_out_ends(client, live, viewer, livekit):
    client.force_login(viewer)
    message = say(client, "spam").json()
    services.chatter_time_out(actor=live, host=host_get(user_id=live.pk), message_id=message["id"], minutes=1)
    from django.utils import timezone

    from chat.models import TimeOut

    TimeOut.objects.update(until=timezone.now())
    assert say(client, "back").status_code == 201


def test_a_timed_out_chatters_refused_messages_do_not_use_up_their_flood_limit(client, live, viewer, livekit):
    """The time-out is checked by the insert, before the flood count: once it ends they can chat at once."""
    from django.utils import timezone

    from chat.models import TimeOut

    client.force_login(viewer)
    message = say(client, "spam").json()
    services.chatter_time_out(actor=live, host=host_get(user_id=live.pk), message_id=message["id"], minutes=1)
    statuses = [say(client, f"again {n}").status_code for n in range(services.FLOOD_MESSAGES + 2)]
    assert statuses == [403] * (services.FLOOD_MESSAGES + 2)
    assert ChatMessage.objects.count() == 1
    TimeOut.objects.update(until=timezone.now())
    assert say(client, "back").status_code == 201


def test_bad_time_outs(client, live, viewer, livekit):
    client.force_login(live)
    mine = say(client, "creator line").json()
    assert (
        client.post(
            f"{CHAT}/{mine['id']}/timeout", {"minutes": 1}, content_type="application/json"
        ).status_code
        == 400
    )
    client.force_login(viewer)
    theirs = say(client, "x").json()
    client.force_login(live)
    assert (
        client.post(
            f"{CHAT}/{theirs['id']}/timeout", {"minutes": 5}, content_type="application/json"
        ).status_code
        == 400
    )
    assert (
        client.post(f"{CHAT}/999999/timeout", {"minutes": 1}, content_type="application/json").status_code
        == 404
    )


def test_the_moderation_log(client, live, viewer, mod, livekit):
    client.force_login(viewer)
    message = say(client, "oops").json()
    client.force_login(mod)
    client.delete(f"{CHAT}/{message['id']}")
    client.force_login(live)
    log = client.get("/api/stream/moderation-log").json()
    assert [(e["actor"], e["action"], e["target"]) for e in log] == [
        ("charlie", "delete", "bob"),
        ("alice", "appoint", "charlie"),
    ]
    client.force_login(viewer)
    assert client.get("/api/stream/moderation-log").status_code == 403


def test_the_schema_lists_the_chat_endpoints(client):
    import yaml

    paths = yaml.safe_load(client.get("/api/schema/").content)["paths"]
    operations = {
        (path, method)
        for path, item in paths.items()
        for method in item
        if "chat" in path or "moderat" in path
    }
    assert operations >= {
        ("/api/viewer/stream/{username}/chat", "get"),
        ("/api/viewer/stream/{username}/chat", "post"),
        ("/api/viewer/stream/{username}/chat/{message_id}", "delete"),
        ("/api/viewer/stream/{username}/chat/{message_id}/timeout", "post"),
        ("/api/stream/moderators", "get"),
        ("/api/stream/moderators", "post"),
        ("/api/stream/moderators", "delete"),
        ("/api/stream/moderation-log", "get"),
    }


def test_the_history_tells_the_page_who_may_moderate(client, live, viewer, mod):
    assert client.get(CHAT).json()["canModerate"] is False
    client.force_login(viewer)
    assert client.get(CHAT).json()["canModerate"] is False
    client.force_login(mod)
    assert client.get(CHAT).json()["canModerate"] is True
    client.force_login(live)
    assert client.get(CHAT).json()["canModerate"] is True


# --- The delay, enforced by the server ------------------------------------------------------------


def test_a_delayed_viewer_message_goes_to_the_creator_and_moderators_first(
    client, live, viewer, mod, livekit, django_capture_on_commit_callbacks, monkeypatch
):
    from chat import services as chat_services
    from streams.services import stream_chat_settings_update

    released = []
    monkeypatch.setattr(chat_services, "_release_later", released.append)  # the timer, run by hand below
    stream_chat_settings_update(stream=live.stream, is_chat_delayed=True)
    client.force_login(viewer)
    livekit.sent_data.clear()
    with django_capture_on_commit_callbacks(execute=True):
        message = say(client, "wait for it").json()

    assert message["pending"] is True  # the sender's own copy says it is held
    [held] = livekit.sent_data
    assert sorted(held.destination_identities) == sorted([f"Host-{live.pk}", str(mod.pk), str(viewer.pk)])
    assert json.loads(held.data)["message"]["pending"] is True
    assert released == [message["id"]]
    client.logout()
    assert client.get(CHAT).json()["messages"] == []  # viewers do not see it yet
    client.force_login(mod)
    [pending] = client.get(CHAT).json()["messages"]
    assert pending["pending"] is True

    assert chat_services.message_release_now(message_id=message["id"]) is True
    released_packet = livekit.sent_data[-1]
    assert list(released_packet.destination_identities) == []  # everyone
    assert "pending" not in json.loads(released_packet.data)["message"]


def test_a_held_message_deleted_before_its_release_never_reaches_viewers(
    client, live, viewer, livekit, monkeypatch
):
    from chat import services as chat_services
    from streams.services import stream_chat_settings_update

    monkeypatch.setattr(chat_services, "_release_later", lambda message_id: None)
    stream_chat_settings_update(stream=live.stream, is_chat_delayed=True)
    client.force_login(viewer)
    message = say(client, "regrettable").json()
    client.force_login(live)
    assert client.delete(f"{CHAT}/{message['id']}").status_code == 204
    livekit.sent_data.clear()
    assert chat_services.message_release_now(message_id=message["id"]) is False
    assert livekit.sent_data == []


def test_the_creator_and_moderators_are_never_held(client, live, mod, livekit):
    from streams.services import stream_chat_settings_update

    stream_chat_settings_update(stream=live.stream, is_chat_delayed=True)
    for who in (live, mod):
        client.force_login(who)
        livekit.sent_data.clear()
        say(client, f"now from {who.username}")
        [packet] = livekit.sent_data
        assert list(packet.destination_identities) == []


# --- Slow mode, enforced by the server ------------------------------------------------------------


def test_slow_mode_lets_one_message_through_per_period(client, live, viewer, mod, livekit):
    from streams.services import stream_chat_settings_update

    stream_chat_settings_update(stream=live.stream, chat_slow_seconds=30)
    client.force_login(viewer)
    assert say(client, "first").status_code == 201
    livekit.sent_data.clear()
    refused = say(client, "second")
    assert refused.status_code == 429
    assert 25 <= int(refused["Retry-After"]) <= 30
    assert "Slow mode" in refused.json()["detail"]
    assert livekit.sent_data == []
    # The creator and moderators are not slowed; nor is another chatter by this one's wait.
    for who in (live, mod, live, mod):
        client.force_login(who)
        assert say(client, f"from {who.username}").status_code == 201


def test_slow_mode_in_the_chat_settings_api_and_stream_info(client, creator):
    client.force_login(creator)
    response = client.put(
        "/api/stream/chat-settings", {"chatSlowSeconds": 10}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["chatSlowSeconds"] == 10
    bad = client.put("/api/stream/chat-settings", {"chatSlowSeconds": 601}, content_type="application/json")
    assert bad.status_code == 400
    client.logout()
    assert client.get("/api/viewer/stream/alice").json()["chatSlowSeconds"] == 10


def test_slow_mode_off_is_no_limit_beyond_the_flood_limit(client, live, viewer, livekit):
    client.force_login(viewer)
    assert [say(client, f"m{n}").status_code for n in range(3)] == [201, 201, 201]


def test_the_right_comes_back_when_the_time_out_ends(live, viewer, livekit):
    from django.utils import timezone

    from chat import services as chat_services
    from chat.models import TimeOut

    room = door.room_name_for(live.pk)
    livekit.participant_join(room, str(viewer.pk), name="bob", can_publish_data=False)  # timed out
    TimeOut.objects.create(creator=live, identity=str(viewer.pk), until=timezone.now())
    chat_services._give_back_right(creator_id=live.pk, identity=str(viewer.pk))
    [bob] = livekit.participants(room)
    assert bob.permission.can_publish_data is True
