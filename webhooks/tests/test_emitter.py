"""End to end: the stand-in plays encoder and audience, and delivers its webhooks to the live server."""

import pytest
from django.core.management import call_command

from conftest import make_creator
from streams import livekit as lk
from streams.models import StreamSession
from webhooks.models import WebhookEvent


@pytest.fixture
def site(live_server, livekit):
    livekit.site_url = live_server.url
    return live_server


@pytest.fixture
def stream(transactional_db, livekit):
    user = make_creator("alice")
    ingress = lk.ingress_create(user_id=user.pk, username=user.username, ingress_type="RTMP")
    stream = user.stream
    stream.ingress_id = ingress.ingress_id
    stream.stream_key = ingress.stream_key
    stream.save()
    return stream


def _status(stream) -> tuple[bool, int]:
    stream.refresh_from_db()
    return stream.is_live, stream.viewer_count


def test_the_encoder_and_viewers_move_the_stream(site, livekit, stream):
    room = lk.room_name_for(stream.user_id)

    livekit.encoder_start(stream.ingress_id)
    assert _status(stream) == (True, 0)  # the publisher behind the ingress is no viewer

    livekit.participant_join(room, "101", name="bob")
    livekit.participant_join(room, "guest-1764000000000-ab12", name="Guest")
    livekit.participant_join(room, f"Host-{stream.user_id}", name="alice")
    assert _status(stream) == (True, 2)

    livekit.participant_leave(room, "101")
    assert _status(stream) == (True, 1)

    livekit.encoder_stop(stream.ingress_id)
    assert _status(stream) == (False, 1)  # the guest is still in the room, waiting
    session = StreamSession.objects.get(stream=stream)
    assert session.ended_at is not None and session.peak_viewers == 2

    livekit.encoder_start(stream.ingress_id)  # the encoder restarts: the guest is still watching
    assert _status(stream) == (True, 1)


def test_duplicated_deliveries_change_nothing_more(site, livekit, stream):
    livekit.webhook_mode = "duplicate"
    room = lk.room_name_for(stream.user_id)

    livekit.encoder_start(stream.ingress_id)
    livekit.participant_join(room, "101")
    livekit.flush()

    assert _status(stream) == (True, 1)
    assert StreamSession.objects.count() == 1
    bodies = {body for body, _ in livekit.webhooks}
    assert len(livekit.sent_webhooks) == 2 * len(bodies)  # the stand-in posted every event twice
    assert WebhookEvent.objects.count() == len(bodies)


def test_deliveries_released_in_reverse_end_in_the_latest_state(site, livekit, stream):
    livekit.webhook_mode = "hold"
    room = lk.room_name_for(stream.user_id)
    livekit.encoder_start(stream.ingress_id)
    livekit.participant_join(room, "101")
    livekit.participant_join(room, "102")
    livekit.participant_leave(room, "101")
    livekit.encoder_stop(stream.ingress_id)
    livekit.encoder_start(stream.ingress_id)

    livekit.release_held(order="reverse")
    livekit.flush()

    # live again after the restart, and 102 never left the room
    assert _status(stream) == (True, 1)
    assert StreamSession.objects.filter(ended_at__isnull=True).count() == 1


def test_a_dropped_delivery_is_repaired_by_reconcile(site, livekit, stream):
    livekit.webhook_mode = "drop"
    livekit.encoder_start(stream.ingress_id)
    assert _status(stream) == (False, 0)

    call_command("reconcile")

    assert _status(stream) == (True, 0)
