"""Pages polling the status while the stream goes live and offline and viewers join: once a change has
committed, no poll is answered with the state before it (a count: not later than COUNT_SECONDS after).

Real threads, real commits, PostgreSQL, on both caches: a poll that read the row just before a change
committed must not store it for the polls after (the generation read before the row retires it).
"""

import threading
import time

import pytest
from django.db import connection
from django.test import Client

from streams import live, stream_state
from streams.models import Stream

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

POLLERS = 6
TOGGLES = 25
JOINS = 40
COUNT_SECONDS = 0.2


class Polls:
    """Guests polling the status endpoint in threads: (asked at, answered at, isLive, viewerCount)."""

    def __init__(self):
        self.answers: list[tuple[float, float, bool, int]] = []
        self.errors: list[BaseException] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.poll) for _ in range(POLLERS)]

    def poll(self):
        client = Client()
        try:
            while not self.stop.is_set():
                asked = time.monotonic()
                response = client.get("/api/viewer/stream/alice/status")
                answered = time.monotonic()
                assert response.status_code == 200, response.content
                body = response.json()
                self.answers.append((asked, answered, body["isLive"], body["viewerCount"]))
        except BaseException as error:  # reported by the test, not lost in the thread
            self.errors.append(error)
        finally:
            connection.close()

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(10)
        assert self.errors == []


def test_no_poll_sees_the_live_flag_before_a_committed_change(host_cache, creator):
    # Catches: invalidating before the commit, or copies stored without the generation read before the row.
    windows: list[tuple[float, float, bool]] = []  # change committed .. next change begins, the state
    with Polls() as polls:
        for _ in range(TOGGLES):
            for go, is_live in ((live.stream_go_live, True), (live.stream_go_offline, False)):
                go(stream=Stream.objects.get(user=creator))
                committed = time.monotonic()
                time.sleep(0.02)  # pages keep polling
                windows.append((committed, time.monotonic(), is_live))
    inside = [
        (seen, is_live)
        for asked, answered, seen, _ in polls.answers
        for start, end, is_live in windows
        if start <= asked and answered <= end
    ]
    assert len(inside) >= TOGGLES  # the race was run: polls were answered between changes
    stale = [seen for seen, is_live in inside if seen != is_live]
    assert stale == [], f"{len(stale)} of {len(inside)} polls answered the state before a committed change"


def test_no_poll_sees_a_count_older_than_the_window(host_cache, creator, monkeypatch):
    # Catches: a count that never invalidates, or a throttle that drops the last change of a burst.
    monkeypatch.setattr(stream_state, "COUNT_SECONDS", COUNT_SECONDS)
    committed: list[tuple[float, int]] = []  # (committed at, count): joins only, so counts only grow
    with Polls() as polls:
        for n in range(JOINS):
            count = live.viewer_join(
                stream=Stream.objects.get(user=creator), identity=f"guest-{n}", at_ms=live.now_ms()
            )
            committed.append((time.monotonic(), count))
            time.sleep(0.01)
        time.sleep(2 * COUNT_SECONDS)  # then the last count must be served
    assert committed[-1][1] == JOINS
    late = [
        (seen, count)
        for asked, _, _, seen in polls.answers
        for at, count in committed
        if asked >= at + COUNT_SECONDS and seen < count
    ]
    assert late == [], f"{len(late)} polls answered a count older than {COUNT_SECONDS} s"
    assert max(asked for asked, *_ in polls.answers) >= committed[-1][0] + COUNT_SECONDS
