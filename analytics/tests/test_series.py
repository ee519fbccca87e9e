"""The series and figures written from webhooks: exact, order-free, repeat-free, within the row bound."""

import random

import pytest

from analytics.models import BUCKET_MS, SeriesPoint, SessionStats
from analytics.services import bucket_of, viewer_span_join, viewer_span_leave
from streams.models import StreamSession
from webhooks.models import WebhookEvent

from .story import END, MIN, T0, deliveries, expected_viewers, send


@pytest.fixture
def stream(creator):
    stream = creator.stream
    stream.ingress_id = "IN_analytics01"
    stream.save()
    return stream


def _series(session) -> list[tuple]:
    return list(
        SeriesPoint.objects.filter(session=session).values_list("bucket", "viewers", "peak", "presence_ms")
    )


def _figures(session) -> tuple:
    stats = SessionStats.objects.get(session=session)
    return stats.peak, stats.presence_ms, stats.unique_viewers


def test_it_writes_the_series_of_a_two_hour_session(client, livekit, stream):
    send(client, deliveries(livekit, stream))

    session = StreamSession.objects.get(stream=stream)
    rows = _series(session)
    assert len(rows) == END * MIN // BUCKET_MS == 480  # one row per 15 s interval, no more
    assert [b for b, *_ in rows] == list(range(T0, T0 + END * MIN, BUCKET_MS))
    for bucket, viewers, peak, presence in rows:
        # The story's visits start and end on interval boundaries: each interval is flat.
        assert viewers == peak == expected_viewers(bucket), bucket
        assert presence == viewers * BUCKET_MS
    peak, presence_ms, unique = _figures(session)
    assert peak == 3  # 101, 102 and the guest between minutes 20 and 30
    assert presence_ms == (29 + 50 + 100 + 10) * MIN  # 189 minutes watched
    assert unique == 3  # 101 twice is one viewer; the host is none
    assert presence_ms / (END * MIN) == pytest.approx(1.575)  # the average viewer count


def test_a_peak_inside_an_interval_is_kept(client, livekit, stream):
    visits = [("101", 1, 50), ("102", 5, 6)]
    send(client, deliveries(livekit, stream, visits=visits, end=None))
    from webhooks.tests.deliveries import participant_event

    # 201 watches 3 s inside one interval: the count at the interval's end misses it, the peak does not.
    joined = T0 + 40 * MIN + 4_000
    send(client, [participant_event(livekit, "participant_joined", stream, "201", joined_at_ms=joined)])
    send(
        client,
        [
            participant_event(
                livekit,
                "participant_left",
                stream,
                "201",
                joined_at_ms=joined,
                created_at=(joined + 3_000) // 1000,
            )
        ],
    )

    row = SeriesPoint.objects.get(bucket=T0 + 40 * MIN)
    assert (row.viewers, row.peak, row.presence_ms) == (1, 2, BUCKET_MS + 3_000)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_out_of_order_and_repeated_deliveries_change_nothing(client, livekit, stream, seed):
    items = deliveries(livekit, stream)
    send(client, items)
    session = StreamSession.objects.get(stream=stream)
    in_order = _series(session), _figures(session)

    # The same story on a second stream of the same shape, delivered shuffled and with repeats. The
    # start stays first: a start older than the stream's end makes no session (the live state's rule).
    from conftest import make_creator

    other = make_creator("erin").stream
    other.ingress_id = "IN_analytics02"
    other.save()
    start, *rest = deliveries(livekit, other)
    rng = random.Random(seed)
    rng.shuffle(rest)
    send(client, [start, *rest, *rng.sample(rest, 5)])

    other_session = StreamSession.objects.get(stream=other)
    assert WebhookEvent.objects.count() == len(items) * 2  # the repeats were recognised as such
    assert (_series(other_session), _figures(other_session)) == in_order


def test_a_late_older_join_changes_nothing_once_its_leave_is_known(client, livekit, stream):
    send(client, deliveries(livekit, stream))
    session = StreamSession.objects.get(stream=stream)
    before = _series(session), _figures(session)
    from webhooks.tests.deliveries import participant_event

    # The join of a connection whose leave was applied, delivered again under a new id (LiveKit retrying).
    late = participant_event(livekit, "participant_joined", stream, "102", joined_at_ms=T0 + 10 * MIN)
    send(client, [late])

    assert (_series(session), _figures(session)) == before


def test_a_join_delivered_after_the_room_reset_ends_there(client, livekit, stream):
    # The viewer's leave never arrives; the stream ending empties the room, whichever came first.
    visits = [("101", 1, None)]
    items = deliveries(livekit, stream, visits=visits, end=10)
    send(client, [items[0], items[-1], *items[1:-1]])

    session = StreamSession.objects.get(stream=stream)
    assert _figures(session) == (1, 9 * MIN, 1)
    assert len(_series(session)) == 10 * MIN // BUCKET_MS


def test_many_events_in_one_interval_make_one_row(creator):
    from streams.live import stream_go_live

    stream = creator.stream
    stream_go_live(stream=stream, at_ms=T0)
    for n in range(50):  # a burst: fifty viewers come and go within 15 s
        viewer_span_join(stream=stream, identity=f"v{n}", joined_at_ms=T0 + 100 * n)
        viewer_span_leave(
            stream=stream, identity=f"v{n}", joined_at_ms=T0 + 100 * n, left_at_ms=T0 + 100 * n + 50
        )

    session = StreamSession.objects.get(stream=stream)
    assert SeriesPoint.objects.filter(session=session).count() == 1
    assert _figures(session) == (1, 50 * 50, 50)


def test_a_ten_hour_stream_stays_within_its_row_bound(creator):
    """A viewer arriving every two minutes for ten hours: never more than one row per session per interval."""
    from streams.live import stream_go_live, stream_go_offline

    stream = creator.stream
    start = T0 - 8 * 3600_000 + 7_000  # not on an interval boundary: the first and last are partial
    stream_go_live(stream=stream, at_ms=start)
    for n in range(10 * 30):
        joined = start + n * 120_000
        viewer_span_join(stream=stream, identity=f"v{n % 300}", joined_at_ms=joined)
        viewer_span_leave(
            stream=stream, identity=f"v{n % 300}", joined_at_ms=joined, left_at_ms=joined + 600_000
        )
    end = start + 10 * 3600_000
    stream_go_offline(stream=stream, at_ms=end)
    from analytics.services import room_reset_record, session_series_rebuild

    room_reset_record(stream=stream, at_ms=end)
    session = StreamSession.objects.get(stream=stream)
    session_series_rebuild(session=session)

    rows = SeriesPoint.objects.filter(session=session).count()
    assert rows == (bucket_of(end - 1) - bucket_of(start)) // BUCKET_MS + 1 == 2401
    assert _figures(session)[0] == 5  # ten-minute visits, one every two minutes


@pytest.mark.parametrize("seed", [4, 5, 6, 7])
def test_a_room_reset_and_lost_leaves_give_one_result_in_any_order(client, livekit, stream, seed):
    """The room closes at minute 45 (everyone out; 102's leave is never sent), viewers come back after."""
    from conftest import make_creator
    from webhooks.tests.deliveries import room_event

    visits = [("101", 1, 30), ("102", 10, None), ("103", 40, 50), ("102", 46, 70), ("104", 60, None)]

    def story(target):
        items = deliveries(livekit, target, visits=visits, end=90)
        items.append(room_event(livekit, "room_finished", target, created_at=(T0 + 45 * MIN) // 1000))
        return items

    send(client, story(stream))
    session = StreamSession.objects.get(stream=stream)
    expected = _series(session), _figures(session)
    # 102's first connection [10, 45) and 103's [40, 45) are cut by the close.
    assert expected[1] == (2, (29 + 35 + 5 + 24 + 30) * MIN, 4)
    assert [v for b, v, *_ in expected[0] if b == T0 + 44 * MIN] == [2]
    assert [v for b, v, *_ in expected[0] if b == T0 + 45 * MIN] == [0]

    other = make_creator("erin").stream
    other.ingress_id = "IN_analytics03"
    other.save()
    start, *rest = story(other)
    rng = random.Random(seed)
    rng.shuffle(rest)
    send(client, [start, *rest, *rng.sample(rest, 3)])

    other_session = StreamSession.objects.get(stream=other)
    assert (_series(other_session), _figures(other_session)) == expected
