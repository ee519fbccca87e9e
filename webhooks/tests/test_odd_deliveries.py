"""Signed deliveries we cannot use, unreadable or oversized bodies, and bugs versus outages.

LiveKit retries a 5xx forever and never a 2xx or 4xx: a signed delivery whose fields we cannot use is
answered 200, recorded with its problem and changes nothing; only a database outage is a 503.
"""

import logging
import time

import pytest
from django.db import IntegrityError, connection

from livekit_standin.server import sign_webhook
from streams.livekit import room_name_for, user_id_from_room
from streams.models import Stream, StreamSession, ViewerPresence
from webhooks.models import WebhookEvent

from .deliveries import ingress_event, participant_event, post

NOW_MS = int(time.time() * 1000)


def _assert_nothing_changed(stream: Stream) -> None:
    stream.refresh_from_db()
    assert not stream.is_live and stream.viewer_count == 0
    assert StreamSession.objects.count() == 0
    assert not ViewerPresence.objects.exists()


def _assert_recorded_not_applied(response, stream: Stream, problem: str) -> WebhookEvent:
    assert response.status_code == 200
    assert response.json() == {"detail": "Recorded; not applied."}
    _assert_nothing_changed(stream)
    event = WebhookEvent.objects.get()
    assert problem in event.problem
    return event


def test_an_id_longer_than_64_characters_is_recorded_once_and_changes_nothing(client, livekit, stream):
    delivery = ingress_event(livekit, "ingress_started", stream, at_ms=NOW_MS, event_id="EV_" + "x" * 70)

    event = _assert_recorded_not_applied(post(client, delivery), stream, "id is longer than 64")
    assert len(event.livekit_id) <= 64

    repeat = post(client, delivery)
    assert repeat.status_code == 200 and repeat.json() == {"detail": "Already handled."}
    assert WebhookEvent.objects.count() == 1


def test_an_event_name_longer_than_its_column_is_recorded(client, livekit, stream):
    delivery = livekit.build_webhook(
        "ingress_started" + "_" * 120, room={"name": room_name_for(stream.user_id)}
    )

    _assert_recorded_not_applied(post(client, delivery), stream, "event is longer than 64")


def test_a_room_name_longer_than_128_characters_is_recorded(client, livekit, stream):
    delivery = livekit.build_webhook("room_finished", room={"name": "9" * 129})

    _assert_recorded_not_applied(post(client, delivery), stream, "room is longer than 128")


def test_an_identity_longer_than_128_characters_is_recorded(client, livekit, stream):
    delivery = participant_event(livekit, "participant_joined", stream, "g" * 129, joined_at_ms=NOW_MS)

    _assert_recorded_not_applied(post(client, delivery), stream, "identity is longer than 128")


def test_a_created_at_of_2_to_the_62_is_recorded(client, livekit, stream):
    delivery = livekit.build_webhook(
        "room_finished", room={"name": room_name_for(stream.user_id)}, created_at=2**62
    )

    _assert_recorded_not_applied(post(client, delivery), stream, "createdAt")


def test_an_ingress_clock_years_ahead_is_recorded(client, livekit, stream):
    delivery = ingress_event(livekit, "ingress_started", stream, at_ms=NOW_MS + 10 * 365 * 86400 * 1000)

    _assert_recorded_not_applied(post(client, delivery), stream, "is not a time we can use")


@pytest.mark.parametrize("digits", ["²", "٢", "２"])
def test_only_ascii_digits_name_a_room(client, livekit, stream, digits):
    # The creator's room written in other digits: "²" made int() fail (a 500); "٢" (Arabic-Indic) and
    # "２" (full width) were read as the creator's id.
    other = str(stream.user_id).translate(str.maketrans("0123456789", _digits_like(digits)))
    delivery = livekit.build_webhook(
        "participant_joined", room={"name": other}, participant={"identity": "9", "joinedAtMs": str(NOW_MS)}
    )

    response = post(client, delivery)

    assert response.status_code == 200 and response.json() == {"detail": "Applied."}
    assert user_id_from_room(other) is None
    _assert_nothing_changed(stream)
    assert WebhookEvent.objects.get().room == other


def _digits_like(sample: str) -> str:
    if sample == "²":
        return "⁰¹²³⁴⁵⁶⁷⁸⁹"
    base = ord(sample) - 2
    return "".join(chr(base + n) for n in range(10))


def _signed(livekit, body: bytes) -> tuple[bytes, str]:
    return body, sign_webhook(body, api_key=livekit.api_key, api_secret=livekit.api_secret)


@pytest.mark.parametrize(
    "body",
    [b'{"event": "room_finished", "id": ', b"[" * 2048 + b"]" * 2048, b'{"event": 5}', b"\xff\xfe{}"],
    ids=["truncated", "nested-brackets", "wrong-type", "not-utf8"],
)
def test_a_signed_body_we_cannot_read_is_unreadable_not_a_bad_signature(client, livekit, db, body):
    response = post(client, _signed(livekit, body))

    assert response.status_code == 400
    assert response.json() == {"detail": "Unreadable webhook body."}
    assert WebhookEvent.objects.count() == 0


def test_a_signed_event_without_an_id_is_unreadable(client, livekit, db):
    response = post(client, _signed(livekit, b'{"event": "room_finished"}'))

    assert response.status_code == 400
    assert response.json() == {"detail": "Unreadable webhook body."}


def test_an_oversized_body_gets_json(client, livekit, stream, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body, auth = livekit.build_webhook("room_finished", room={"name": "x" * 2000})

    response = post(client, (body, auth))

    assert response.status_code == 413
    assert response.json() == {"detail": "The webhook body is too large."}
    assert WebhookEvent.objects.count() == 0


def _break_a_constraint(execute, sql, params, many, context):
    # A bug, not an outage: some write the handler makes violates a constraint other than the event id.
    if sql.lstrip().upper().startswith("UPDATE") and "streams_stream" in sql:
        raise IntegrityError("duplicate key value violates unique constraint (a bug)")
    return execute(sql, params, many, context)


def test_a_bug_is_a_logged_500_not_a_503_that_livekit_would_retry_forever(client, livekit, stream, caplog):
    delivery = ingress_event(livekit, "ingress_started", stream, at_ms=NOW_MS)

    with (
        caplog.at_level(logging.ERROR, logger="webhooks.views"),
        connection.execute_wrapper(_break_a_constraint),
    ):
        response = post(client, delivery)

    assert response.status_code == 500
    assert response.json() == {"detail": "Internal error."}
    assert any("a bug, not an outage" in record.getMessage() for record in caplog.records)
    assert WebhookEvent.objects.count() == 0
