"""Exactly-once under concurrency: copies of one delivery arriving at once, on real threads and connections.

PostgreSQL only: SQLite serialises writers, so it cannot show the race this guards against.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import make_creator
from streams.models import StreamSession, ViewerPresence
from webhooks.models import WebhookEvent

from .deliveries import http_post, ingress_event, participant_event

NOW_MS = int(time.time() * 1000)
COPIES = 8


@pytest.fixture
def stream(transactional_db):
    stream = make_creator("alice").stream
    stream.ingress_id = "IN_alicealice1"
    stream.save()
    return stream


def _at_once(base_url: str, deliveries: list) -> list[tuple[int, dict]]:
    barrier = threading.Barrier(len(deliveries))

    def send(delivery):
        barrier.wait()
        return http_post(base_url, delivery)

    with ThreadPoolExecutor(len(deliveries)) as pool:
        return list(pool.map(send, deliveries))


@pytest.mark.postgres
def test_eight_copies_at_once_go_live_once(live_server, livekit, stream):
    delivery = ingress_event(livekit, "ingress_started", stream, at_ms=NOW_MS)

    answers = _at_once(live_server.url, [delivery] * COPIES)

    assert [status for status, _ in answers] == [200] * COPIES
    assert sorted(body["detail"] for _, body in answers) == ["Already handled."] * (COPIES - 1) + ["Applied."]
    assert WebhookEvent.objects.count() == 1
    assert StreamSession.objects.filter(stream=stream).count() == 1
    stream.refresh_from_db()
    assert stream.is_live


@pytest.mark.postgres
def test_eight_copies_of_a_join_at_once_count_one_viewer(live_server, livekit, stream):
    delivery = participant_event(livekit, "participant_joined", stream, "101", joined_at_ms=NOW_MS)

    answers = _at_once(live_server.url, [delivery] * COPIES)

    assert [status for status, _ in answers] == [200] * COPIES
    assert WebhookEvent.objects.count() == 1
    assert ViewerPresence.objects.count() == 1
    stream.refresh_from_db()
    assert stream.viewer_count == 1


@pytest.mark.postgres
def test_eight_different_viewers_joining_at_once_are_all_counted(live_server, livekit, stream):
    deliveries = [
        participant_event(livekit, "participant_joined", stream, f"guest-{n}", joined_at_ms=NOW_MS + n)
        for n in range(COPIES)
    ]

    answers = _at_once(live_server.url, deliveries)

    assert [status for status, _ in answers] == [200] * COPIES
    stream.refresh_from_db()
    assert stream.viewer_count == COPIES
