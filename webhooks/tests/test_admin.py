"""Admin: the received-event log and stream sessions, read-only for staff, closed to everyone else."""

import datetime
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from streams.models import StreamSession
from webhooks.models import WebhookEvent

EVENTS_URL = "/admin/webhooks/webhookevent/"
SESSIONS_URL = "/admin/streams/streamsession/"


def _event(livekit_id: str, event: str, room: str = "7", **fields) -> WebhookEvent:
    return WebhookEvent.objects.create(
        livekit_id=livekit_id,
        event=event,
        room=room,
        created_at=timezone.now(),
        payload={"id": livekit_id, "event": event},
        **fields,
    )


@pytest.fixture
def events(db):
    return [
        _event("EV_started00001", "ingress_started", room="7"),
        _event("EV_joined000001", "participant_joined", room="7"),
        _event("EV_joined000002", "participant_joined", room="8"),
    ]


def test_staff_filter_events_by_type_and_room(client, staff, events):
    client.force_login(staff)

    by_type = client.get(EVENTS_URL, {"event": "participant_joined"})
    by_room = client.get(EVENTS_URL, {"room": "8"})

    assert by_type.status_code == 200
    assert set(by_type.context["cl"].result_list) == {events[1], events[2]}
    assert list(by_room.context["cl"].result_list) == [events[2]]


def test_staff_find_an_event_by_its_livekit_id(client, staff, events):
    client.force_login(staff)

    response = client.get(EVENTS_URL, {"q": "EV_joined000001"})

    assert list(response.context["cl"].result_list) == [events[1]]


def test_staff_filter_events_by_date(client, staff, events):
    client.force_login(staff)
    WebhookEvent.objects.filter(pk=events[0].pk).update(received_at=timezone.now() - timedelta(days=3))
    since = timezone.now() - timedelta(days=1)

    response = client.get(EVENTS_URL, {"received_at__gte": since.isoformat()})

    assert set(response.context["cl"].result_list) == {events[1], events[2]}


def test_the_event_log_is_read_only(client, staff, events):
    client.force_login(staff)

    detail = client.get(f"{EVENTS_URL}{events[0].pk}/change/")

    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content
    assert client.get(f"{EVENTS_URL}add/").status_code == 403
    assert client.post(f"{EVENTS_URL}{events[0].pk}/delete/", {"post": "yes"}).status_code == 403
    assert WebhookEvent.objects.count() == 3


@pytest.mark.parametrize("user", ["creator", "viewer", "outsider"])
def test_non_staff_cannot_see_the_event_log(client, events, user, request):
    client.force_login(request.getfixturevalue(user))

    response = client.get(EVENTS_URL)

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_staff_see_sessions_without_the_stream_key(client, staff, creator):
    stream = creator.stream
    stream.stream_key = "topsecretkey"
    stream.save()
    start = timezone.now() - timedelta(hours=2)
    session = StreamSession.objects.create(
        stream=stream, started_at=start, ended_at=start + timedelta(hours=1), peak_viewers=12
    )
    client.force_login(staff)

    listing = client.get(SESSIONS_URL, {"q": "alice"})
    detail = client.get(f"{SESSIONS_URL}{session.pk}/change/")

    assert list(listing.context["cl"].result_list) == [session]
    assert detail.status_code == 200
    assert b"topsecretkey" not in listing.content + detail.content
    assert b'name="_save"' not in detail.content
    assert client.get(f"{SESSIONS_URL}add/").status_code == 403


# --- prune_webhook_events -----------------------------------------------------------------------------


def test_prune_deletes_only_events_older_than_the_given_days(db, capsys):
    old = _event("EV_old00000001", "room_started")
    WebhookEvent.objects.filter(pk=old.pk).update(received_at=timezone.now() - datetime.timedelta(days=31))
    _event("EV_new00000001", "room_started")

    call_command("prune_webhook_events", "--days", "30")

    assert list(WebhookEvent.objects.values_list("livekit_id", flat=True)) == ["EV_new00000001"]
    assert "Deleted 1 webhook event(s)" in capsys.readouterr().out


def test_prune_refuses_negative_days(db):
    with pytest.raises(CommandError):
        call_command("prune_webhook_events", "--days", "-1")
