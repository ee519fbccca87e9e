"""POST /api/webhook/livekit: signature checks, go-live/offline, repeats, unknown events, faults."""

import datetime
import time

from django.db import OperationalError, connection

from streams.models import Stream, StreamSession
from webhooks.models import WebhookEvent

from .deliveries import URL, ingress_event, post

NOW_MS = int(time.time() * 1000)


def _state(stream: Stream) -> tuple:
    stream.refresh_from_db()
    return (stream.is_live, stream.live_since, stream.viewer_count, stream.live_changed_at_ms)


def test_it_puts_the_stream_live_then_offline(client, livekit, stream):
    response = post(client, ingress_event(livekit, "ingress_started", stream, at_ms=NOW_MS))

    assert response.status_code == 200
    stream.refresh_from_db()
    assert stream.is_live
    assert stream.live_since == datetime.datetime.fromtimestamp(NOW_MS / 1000, tz=datetime.UTC)
    session = StreamSession.objects.get(stream=stream)
    assert session.ended_at is None

    response = post(client, ingress_event(livekit, "ingress_ended", stream, at_ms=NOW_MS + 5_000))

    assert response.status_code == 200
    stream.refresh_from_db()
    assert not stream.is_live and stream.live_since is None
    session.refresh_from_db()
    assert session.ended_at is not None
    assert list(WebhookEvent.objects.values_list("event", flat=True).order_by("id")) == [
        "ingress_started",
        "ingress_ended",
    ]


def test_it_records_the_event_without_the_stream_key(client, livekit, stream):
    post(client, ingress_event(livekit, "ingress_started", stream, at_ms=NOW_MS, event_id="EV_keyless0001"))

    event = WebhookEvent.objects.get(livekit_id="EV_keyless0001")
    assert event.event == "ingress_started"
    assert event.room == str(stream.user_id)
    assert event.created_at == datetime.datetime.fromtimestamp(NOW_MS // 1000, tz=datetime.UTC)
    assert "alicekey1234" not in str(event.payload)


# --- Refusals -----------------------------------------------------------------------------------------


def _assert_refused_and_nothing_written(response, stream):
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid webhook signature."}
    assert WebhookEvent.objects.count() == 0
    stream.refresh_from_db()
    assert not stream.is_live
    assert StreamSession.objects.count() == 0


def test_it_refuses_a_body_with_a_changed_byte(client, livekit, stream):
    body, auth = ingress_event(livekit, "ingress_started", stream, at_ms=NOW_MS)
    position = body.index(b"ingress_started")
    changed = body[:position] + b"I" + body[position + 1 :]

    _assert_refused_and_nothing_written(post(client, (changed, auth)), stream)


def test_it_refuses_a_delivery_signed_with_another_secret(client, livekit, stream, settings):
    delivery = ingress_event(livekit, "ingress_started", stream, at_ms=NOW_MS)
    settings.LIVEKIT_API_SECRET = "another-secret-" + "x" * 32

    _assert_refused_and_nothing_written(post(client, delivery), stream)


def test_it_refuses_an_expired_token(client, livekit, stream):
    livekit.clock_skew = -3600  # the emitter signs as if an hour ago: the token expired long since
    delivery = ingress_event(livekit, "ingress_started", stream, at_ms=NOW_MS)

    _assert_refused_and_nothing_written(post(client, delivery), stream)


def test_it_refuses_a_missing_authorization_header(client, livekit, stream):
    body, _ = ingress_event(livekit, "ingress_started", stream, at_ms=NOW_MS)

    _assert_refused_and_nothing_written(post(client, (body, None)), stream)


def test_it_refuses_a_bearer_prefixed_header_as_livekit_does(client, livekit, stream):
    # LiveKit sends the bare JWT; its own WebhookReceiver does not strip "Bearer ", so neither do we.
    body, auth = ingress_event(livekit, "ingress_started", stream, at_ms=NOW_MS)

    _assert_refused_and_nothing_written(post(client, (body, f"Bearer {auth}")), stream)


def test_it_refuses_a_body_that_is_not_utf8(client, livekit, stream):
    _, auth = ingress_event(livekit, "ingress_started", stream, at_ms=NOW_MS)

    _assert_refused_and_nothing_written(post(client, (b"\xff\xfe{}", auth)), stream)


def test_it_only_accepts_post(client, db):
    assert client.get(URL).status_code == 405
    assert WebhookEvent.objects.count() == 0


# --- What an event may change -------------------------------------------------------------------------


def test_a_repeated_delivery_is_answered_200_and_changes_nothing(client, livekit, stream):
    delivery = ingress_event(livekit, "ingress_started", stream, at_ms=NOW_MS)
    first = post(client, delivery)
    state = _state(stream)

    second = post(client, delivery)

    assert first.status_code == second.status_code == 200
    assert second.json() == {"detail": "Already handled."}
    assert WebhookEvent.objects.count() == 1
    assert StreamSession.objects.count() == 1
    assert _state(stream) == state


def test_a_late_ingress_ended_does_not_take_down_a_newer_start(client, livekit, stream):
    post(client, ingress_event(livekit, "ingress_ended", stream, at_ms=NOW_MS))
    post(client, ingress_event(livekit, "ingress_started", stream, at_ms=NOW_MS + 1_000))
    post(client, ingress_event(livekit, "ingress_started", stream, at_ms=NOW_MS + 60_000))

    late = post(client, ingress_event(livekit, "ingress_ended", stream, at_ms=NOW_MS + 30_000))

    assert late.status_code == 200
    stream.refresh_from_db()
    assert stream.is_live
    assert WebhookEvent.objects.count() == 4
    assert StreamSession.objects.filter(ended_at__isnull=True).count() == 1


def test_the_ingress_clock_orders_events_within_one_second(client, livekit, stream):
    # Both events carry the same createdAt second; only the ingress state's clock says which is newer.
    post(client, ingress_event(livekit, "ingress_started", stream, at_ms=NOW_MS // 1000 * 1000 + 900))
    post(client, ingress_event(livekit, "ingress_ended", stream, at_ms=NOW_MS // 1000 * 1000 + 100))

    stream.refresh_from_db()
    assert stream.is_live


def test_an_ingress_no_stream_owns_makes_nothing_live(client, livekit, stream):
    stream.ingress_id = "IN_replacedkey1"  # a key reset replaced the ingress the encoder still uses
    stream.save()
    old = Stream(user_id=stream.user_id, ingress_id="IN_alicealice1")

    response = post(client, ingress_event(livekit, "ingress_started", old, at_ms=NOW_MS))

    assert response.status_code == 200
    assert WebhookEvent.objects.count() == 1
    assert not Stream.objects.filter(is_live=True).exists()


def test_a_revoked_creators_ingress_makes_nothing_live(client, livekit, stream):
    stream.user.creator_status = "rejected"
    stream.user.save()

    response = post(client, ingress_event(livekit, "ingress_started", stream, at_ms=NOW_MS))

    assert response.status_code == 200
    assert WebhookEvent.objects.count() == 1
    stream.refresh_from_db()
    assert not stream.is_live


def test_an_unknown_event_is_recorded_and_changes_nothing(client, livekit, stream):
    for name in ("room_started", "track_published", "egress_started", "something_new_from_livekit"):
        response = post(client, livekit.build_webhook(name, room={"name": str(stream.user_id)}))
        assert response.status_code == 200

    assert WebhookEvent.objects.count() == 4
    assert _state(stream)[:3] == (False, None, 0)


def test_an_event_about_a_room_we_do_not_know_is_recorded(client, livekit, db, settings):
    settings.LIVEKIT_ROOM_PREFIX = "site1-"
    delivery = livekit.build_webhook(
        "participant_joined",
        room={"name": "othersite-5"},
        participant={"identity": "9", "joinedAtMs": str(NOW_MS)},
    )

    assert post(client, delivery).status_code == 200
    assert WebhookEvent.objects.get().room == "othersite-5"


# --- Faults and cost ----------------------------------------------------------------------------------


def _fail_stream_updates(execute, sql, params, many, context):
    # The database goes away just as the handler writes the stream: after the event row was inserted.
    if sql.lstrip().upper().startswith("UPDATE") and "streams_stream" in sql:
        raise OperationalError("server closed the connection unexpectedly")
    return execute(sql, params, many, context)


def test_a_database_failure_answers_503_and_the_retry_applies_once(client, livekit, stream):
    delivery = ingress_event(livekit, "ingress_started", stream, at_ms=NOW_MS)

    with connection.execute_wrapper(_fail_stream_updates):
        failed = post(client, delivery)

    assert failed.status_code == 503
    assert failed.json()["detail"]
    assert WebhookEvent.objects.count() == 0  # the event row went with the failed effects
    assert StreamSession.objects.count() == 0
    assert not _state(stream)[0]

    retried = post(client, delivery)
    again = post(client, delivery)

    assert retried.status_code == 200 and retried.json() == {"detail": "Applied."}
    assert again.json() == {"detail": "Already handled."}
    assert WebhookEvent.objects.count() == 1
    assert StreamSession.objects.count() == 1
    assert _state(stream)[0]


def test_one_go_live_delivery_runs_in_a_bounded_number_of_queries(
    client, livekit, stream, django_assert_max_num_queries
):
    """Insert the event, find the stream, lock it, update it, open a session, then write the session's
    first analytics row and figures (analytics.services, 10 queries): no query per anything."""
    delivery = ingress_event(livekit, "ingress_started", stream, at_ms=NOW_MS)

    with django_assert_max_num_queries(20):
        assert post(client, delivery).status_code == 200
