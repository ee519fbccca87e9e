"""Order: in whatever order and however often deliveries arrive, the final state is the latest events."""

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import make_creator
from streams.models import Stream, StreamSession, ViewerPresence
from webhooks.models import WebhookEvent

from .deliveries import ingress_event, participant_event, post, room_event

T0 = int(time.time() * 1000) - 600_000
IDENTITIES = ["101", "102", "guest-1764000000000-ab12", "HOST"]  # HOST stands for Host-<creator id>


@st.composite
def stream_story(draw):
    """One stream's realistic events: the encoder starting, stopping and restarting, viewers coming and
    going, and the same identity connecting again (a second tab) before its old connection's leave."""
    clock = T0 + draw(st.integers(0, 5_000))
    ingress = []
    for n in range(draw(st.integers(0, 4))):
        clock += draw(st.integers(1, 4_000))
        ingress.append(("ingress_started" if n % 2 == 0 else "ingress_ended", clock))
    viewers = []
    for identity in IDENTITIES:
        at = T0 + draw(st.integers(0, 3_000))
        connections = draw(st.integers(0, 3))
        for n in range(connections):
            joined = at + draw(st.integers(1, 3_000))
            viewers.append(("participant_joined", identity, joined, joined))
            if n < connections - 1 or draw(st.booleans()):
                left = joined + draw(st.integers(1, 3_000))
                name = draw(st.sampled_from(["participant_left", "participant_connection_aborted"]))
                viewers.append((name, identity, joined, left))
                # Either the next connection comes after this leave, or it is a second tab: it joins
                # first, and this connection's leave (LiveKit dropping it) comes up to seconds later.
                at = draw(st.sampled_from([left, joined]))
            else:
                at = joined
    finished = draw(st.none() | st.integers(T0, T0 + 20_000))
    return {"ingress": ingress, "viewers": viewers, "finished": finished}


def _expected(story: dict) -> tuple[bool, int]:
    """Live if the latest ingress event is a start; viewers are the identities whose newest connection
    has not left and joined after the room last closed. The encoder stopping does not reset viewers:
    they stay connected to the room."""
    ingress = story["ingress"]
    live = bool(ingress) and max(ingress, key=lambda e: e[1])[0] == "ingress_started"
    # room_finished has only createdAt, in seconds
    reset = story["finished"] // 1000 * 1000 if story["finished"] is not None else -1
    latest: dict[str, tuple[int, bool]] = {}
    for name, identity, joined, _left in story["viewers"]:
        if identity == "HOST":
            continue
        # LiveKit keeps one connection per identity: the newest connection (joinedAtMs) decides, and a
        # connection's leave comes after its join.
        clock = (joined, name != "participant_joined")
        latest[identity] = max(latest.get(identity, clock), clock)
    present = [i for i, (at, leaving) in latest.items() if not leaving and at > reset]
    return live, len(present)


def _deliveries(livekit, stream: Stream, story: dict) -> list:
    out = [ingress_event(livekit, name, stream, at_ms=at) for name, at in story["ingress"]]
    for name, identity, joined, left in story["viewers"]:
        identity = f"Host-{stream.user_id}" if identity == "HOST" else identity
        out.append(
            participant_event(livekit, name, stream, identity, joined_at_ms=joined, created_at=left // 1000)
        )
    if story["finished"] is not None:
        out.append(room_event(livekit, "room_finished", stream, created_at=story["finished"] // 1000))
    return out


@pytest.fixture
def streams(db):
    streams = []
    for n, name in enumerate(["alice", "erin", "frank"]):
        stream = make_creator(name).stream
        stream.ingress_id = f"IN_orderstream{n}"
        stream.save()
        streams.append(stream)
    return streams


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stories=st.lists(stream_story(), min_size=3, max_size=3), data=st.data())
def test_the_final_state_is_that_of_the_latest_events(client, livekit, streams, stories, data):
    WebhookEvent.objects.all().delete()
    ViewerPresence.objects.all().delete()
    StreamSession.objects.all().delete()
    Stream.objects.update(is_live=False, live_since=None, viewer_count=0, live_changed_at_ms=0)

    deliveries = [
        d for stream, story in zip(streams, stories, strict=True) for d in _deliveries(livekit, stream, story)
    ]
    repeats = data.draw(st.lists(st.sampled_from(deliveries), max_size=5)) if deliveries else []
    for delivery in data.draw(st.permutations(deliveries + repeats)):
        assert post(client, delivery).status_code == 200

    assert WebhookEvent.objects.count() == len(deliveries)
    for stream, story in zip(streams, stories, strict=True):
        stream.refresh_from_db()
        live, viewers = _expected(story)
        assert (stream.is_live, stream.viewer_count) == (live, viewers), story
        assert StreamSession.objects.filter(stream=stream, ended_at__isnull=True).count() == int(live)
