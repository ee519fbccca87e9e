"""Revoking a creator in the admin ends their streaming at LiveKit and here."""

import pytest
from rest_framework.test import APIClient

from accounts.models import CreatorStatus
from streams import livekit as lk
from streams.models import Stream


@pytest.fixture
def live_alice(livekit, creator):
    """alice streaming from OBS, with a viewer in her room."""
    client = APIClient()
    client.force_authenticate(creator)
    client.post("/api/stream/ingress", {"ingressType": "RTMP"}, format="json")
    stream = Stream.objects.get(user=creator)
    livekit.encoder_start(stream.ingress_id)
    livekit.participant_join(lk.room_name_for(creator.pk), "12", name="bob")
    Stream.objects.filter(pk=stream.pk).update(is_live=True, viewer_count=1)
    return client


def assert_revoked(livekit, creator, client):
    creator.refresh_from_db()
    assert creator.creator_status == CreatorStatus.REJECTED
    stream = Stream.objects.get(user=creator)
    assert (stream.is_live, stream.viewer_count, stream.ingress_id, stream.stream_key) == (False, 0, None, "")
    assert livekit.ingresses == {}
    assert lk.room_name_for(creator.pk) not in livekit.rooms  # viewers were disconnected
    assert client.get("/api/stream/credentials").status_code == 403


def test_the_changelist_action_revokes(client, staff, creator, live_alice, livekit):
    client.force_login(staff)
    response = client.post(
        "/admin/accounts/user/", {"action": "revoke_creators", "_selected_action": [creator.pk]}, follow=True
    )
    assert "Revoked 1 creator(s)." in response.content.decode()
    assert_revoked(livekit, creator, live_alice)


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


def test_the_button_on_the_users_page_revokes(client, staff, creator, live_alice, livekit):
    client.force_login(staff)
    data = change_form_data(client, creator)
    client.post(f"/admin/accounts/user/{creator.pk}/change/", {**data, "_revoke_creator": "1"})
    assert_revoked(livekit, creator, live_alice)


def test_deactivating_a_creator_in_the_admin_revokes_too(client, staff, creator, live_alice, livekit):
    client.force_login(staff)
    data = change_form_data(client, creator)
    data.pop("is_active")
    response = client.post(f"/admin/accounts/user/{creator.pk}/change/", {**data, "_save": "1"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    creator.refresh_from_db()
    assert creator.is_active is False
    assert Stream.objects.get(user=creator).ingress_id is None
    assert livekit.ingresses == {}
    assert lk.room_name_for(creator.pk) not in livekit.rooms
