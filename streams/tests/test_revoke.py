"""Every admin path that takes away a creator's right to stream ends their streaming the same way.

The buttons, the bulk actions, the status field, deactivating and deleting the user all go through one
service; these tests run them with real commits (the LiveKit work starts on commit) against the stand-in
and check the same end state: the stream offline with its session closed, no ingress and no room.
"""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import CreatorStatus, User
from streams import livekit as lk
from streams.models import Stream, StreamSession

pytestmark = pytest.mark.django_db(transaction=True)

CHANGELIST = reverse("admin:accounts_user_changelist")


@pytest.fixture
def live_alice(livekit, creator):
    """alice streaming from OBS, with two viewers in her room."""
    client = APIClient()
    client.force_authenticate(creator)
    assert client.post("/api/stream/ingress", {"ingressType": "RTMP"}, format="json").status_code == 200
    stream = Stream.objects.get(user=creator)
    livekit.encoder_start(stream.ingress_id)
    room = lk.room_name_for(creator.pk)
    livekit.participant_join(room, "12", name="bob")
    livekit.participant_join(room, "guest-1764000000000-ab12", name="Guest")
    from streams import live

    live.stream_go_live(stream=stream)
    for identity in ("12", "guest-1764000000000-ab12"):
        live.viewer_join(stream=stream, identity=identity, at_ms=live.now_ms())
    stream.refresh_from_db()
    assert (stream.is_live, stream.viewer_count) == (True, 2)
    assert room in livekit.rooms and len(livekit.ingresses) == 1
    return client


def assert_streaming_ended(livekit, user_id: int) -> None:
    stream = Stream.objects.filter(user_id=user_id).first()
    if stream is not None:  # gone with a deleted user
        assert (stream.is_live, stream.viewer_count, stream.ingress_id, stream.stream_key) == (
            False,
            0,
            None,
            "",
        )
        assert not StreamSession.objects.filter(stream=stream, ended_at__isnull=True).exists()
    assert livekit.ingresses == {}  # the key no longer works
    assert lk.room_name_for(user_id) not in livekit.rooms  # the encoder and viewers were disconnected


def change_form_data(client, user) -> dict:
    """What the admin's change page would post back unchanged."""
    form = client.get(f"/admin/accounts/user/{user.pk}/change/").context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None or name in ("password", "last_login", "groups", "user_permissions"):
            continue
        if name == "date_joined":
            data.update(
                {"date_joined_0": value.strftime("%Y-%m-%d"), "date_joined_1": value.strftime("%H:%M:%S")}
            )
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        else:
            data[name] = value.pk if hasattr(value, "pk") else value
    return data


def _button(name):
    def run(client, user):
        data = change_form_data(client, user)
        return client.post(f"/admin/accounts/user/{user.pk}/change/", {**data, name: "1"})

    return run


def _action(name):
    def run(client, user):
        return client.post(CHANGELIST, {"action": name, "_selected_action": [user.pk]})

    return run


def _status_field(status):
    def run(client, user):
        data = change_form_data(client, user)
        return client.post(
            f"/admin/accounts/user/{user.pk}/change/", {**data, "creator_status": status, "_save": "1"}
        )

    return run


def _deactivate(client, user):
    data = change_form_data(client, user)
    data.pop("is_active")
    return client.post(f"/admin/accounts/user/{user.pk}/change/", {**data, "_save": "1"})


def _without_history(user):
    # The admin refuses to delete a user whose stream has sessions (StreamSessionAdmin is read-only
    # history); a creator who never had one can be deleted while live.
    StreamSession.objects.filter(stream__user=user).delete()


def _approve_and_deactivate(client, user):
    """Both fields in one save: approval must not leave a deactivated creator's key working."""
    User.objects.filter(pk=user.pk).update(creator_status=CreatorStatus.PENDING)  # key left by a raw update
    data = change_form_data(client, user)
    data.pop("is_active")
    return client.post(
        f"/admin/accounts/user/{user.pk}/change/",
        {**data, "creator_status": CreatorStatus.APPROVED, "_save": "1"},
    )


def _delete(client, user):
    _without_history(user)
    return client.post(f"/admin/accounts/user/{user.pk}/delete/", {"post": "yes"})


def _bulk_delete(client, user):
    _without_history(user)
    return client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [user.pk], "post": "yes"}
    )


ADMIN_PATHS = {
    "revoke button": _button("_revoke_creator"),
    "reject button": _button("_reject_creator"),
    "revoke action": _action("revoke_creators"),
    "reject action": _action("reject_creators"),
    "status field rejected": _status_field(CreatorStatus.REJECTED),
    "status field pending": _status_field(CreatorStatus.PENDING),
    "status field none": _status_field(CreatorStatus.NONE),
    "deactivate": _deactivate,
    "approve and deactivate at once": _approve_and_deactivate,
    "delete": _delete,
    "bulk delete": _bulk_delete,
}


@pytest.mark.parametrize("path", ADMIN_PATHS)
def test_every_admin_path_ends_the_stream_at_livekit_and_here(
    client, staff, creator, live_alice, livekit, path
):
    client.force_login(staff)

    response = ADMIN_PATHS[path](client, creator)

    assert response.status_code == 302, getattr(response, "context", None) and response.context.get("errors")
    assert_streaming_ended(livekit, creator.pk)
    if User.objects.filter(pk=creator.pk).exists():
        creator.refresh_from_db()
        assert not creator.is_approved_creator
        # The creator is refused, and has nothing left to delete.
        assert live_alice.get("/api/stream/credentials").status_code == 403


def test_a_revocation_stands_when_livekit_is_down_and_reconcile_finishes_it(
    client, staff, creator, live_alice, livekit, settings
):
    from django.core.management import call_command

    settings.LIVEKIT_TIMEOUT = 0.5
    client.force_login(staff)
    livekit.set_fault("*", "down")

    response = ADMIN_PATHS["revoke button"](client, creator)

    assert response.status_code == 302
    stream = Stream.objects.get(user=creator)
    assert (stream.is_live, stream.ingress_id) == (False, None)
    assert len(livekit.ingresses) == 1  # LiveKit could not be told yet
    livekit.clear_faults()

    call_command("reconcile")

    assert_streaming_ended(livekit, creator.pk)  # the key deleted and the room closed


def test_reconcile_deletes_the_key_of_a_creator_who_is_not_approved(creator, live_alice, livekit, capsys):
    from django.core.management import call_command

    # Changed behind the services' back (a shell, a data migration): the key still works at LiveKit.
    User.objects.filter(pk=creator.pk).update(creator_status=CreatorStatus.REJECTED)

    call_command("reconcile")

    assert "creator not approved" in capsys.readouterr().out
    assert_streaming_ended(livekit, creator.pk)


@pytest.mark.parametrize("path", ["approve button", "status field approved", "approve action"])
def test_every_approval_path_creates_the_stream_and_keys_work(client, staff, pending_creator, livekit, path):
    client.force_login(staff)
    run = {
        "approve button": _button("_approve_creator"),
        "status field approved": _status_field(CreatorStatus.APPROVED),
        "approve action": _action("approve_creators"),
    }[path]

    assert run(client, pending_creator).status_code == 302

    pending_creator.refresh_from_db()
    assert pending_creator.is_approved_creator and pending_creator.reviewed_by == staff
    api = APIClient()
    api.force_authenticate(pending_creator)
    assert api.post("/api/stream/ingress", {"ingressType": "RTMP"}, format="json").status_code == 200
    assert Stream.objects.get(user=pending_creator).ingress_id in livekit.ingresses


def test_an_approved_creator_has_a_revoke_button_not_a_reject_button(client, staff, creator, pending_creator):
    client.force_login(staff)
    approved_page = client.get(f"/admin/accounts/user/{creator.pk}/change/").content.decode()
    pending_page = client.get(f"/admin/accounts/user/{pending_creator.pk}/change/").content.decode()

    assert 'name="_revoke_creator"' in approved_page
    assert 'name="_reject_creator"' not in approved_page
    assert 'name="_approve_creator"' not in approved_page
    assert 'name="_reject_creator"' in pending_page and 'name="_approve_creator"' in pending_page
    assert 'name="_revoke_creator"' not in pending_page
