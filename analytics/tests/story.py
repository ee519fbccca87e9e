"""A stream told as signed webhook deliveries from the stand-in, on a clock the test sets."""

import time

from analytics.models import BUCKET_MS
from streams.models import Stream
from webhooks.tests.deliveries import ingress_event, participant_event, post

MIN = 60_000
# Two simulated hours that ended an hour ago, starting on an interval boundary to keep the figures round.
T0 = (int(time.time() * 1000) - 3 * 3600_000) // BUCKET_MS * BUCKET_MS

# (identity, joined, left) in minutes from T0; left None: still there when the stream ends at 120.
VISITS = [
    ("101", 1, 30),
    ("102", 10, 60),
    ("guest-1764000000000-ab12", 20, None),
    ("101", 90, 100),  # a second connection of the same viewer
]
END = 120


def deliveries(livekit, stream: Stream, visits=VISITS, end=END) -> list:
    out = [ingress_event(livekit, "ingress_started", stream, at_ms=T0)]
    # The creator's self-view is in the room too, and never counts.
    host = f"Host-{stream.user_id}"
    out.append(participant_event(livekit, "participant_joined", stream, host, joined_at_ms=T0 + 5_000))
    for identity, joined, left in visits:
        joined_ms = T0 + joined * MIN
        out.append(participant_event(livekit, "participant_joined", stream, identity, joined_at_ms=joined_ms))
        if left is not None:
            out.append(
                participant_event(
                    livekit,
                    "participant_left",
                    stream,
                    identity,
                    joined_at_ms=joined_ms,
                    created_at=(T0 + left * MIN) // 1000,
                )
            )
    if end is not None:
        out.append(ingress_event(livekit, "ingress_ended", stream, at_ms=T0 + end * MIN))
    return out


def send(client, items) -> None:
    for delivery in items:
        assert post(client, delivery).status_code == 200


def expected_viewers(at_ms: int, visits=VISITS, end=END) -> int:
    """How many watch at an instant, straight from the story."""
    return sum(
        1
        for _, joined, left in visits
        if T0 + joined * MIN <= at_ms < T0 + (left if left is not None else end) * MIN
    )
