"""Writing each session's viewer series and figures from LiveKit's webhooks.

``analytics_event_apply`` runs after the live-state handler, inside the transaction that records the
delivery, so a repeated delivery never reaches it. It first records the facts (a connection's join or
leave, a room reset), then brings the series of the sessions they touch up to date:

- the viewer count changing by ``delta`` over [lo, hi) shifts the rows of the intervals wholly inside by
  ``delta`` (one UPDATE) and recomputes the two boundary intervals from the connections;
- intervals past a session's last row are computed from the connections;
- a session starting or ending is rebuilt whole.

Each step applies a difference between two sets of facts, and a fact already held changes nothing, so
deliveries in any order, any number of times, end in the series the facts alone give.
"""

from collections import Counter
from datetime import UTC, datetime, timedelta

from django.db.models import F, Max, Min, Q, Sum
from django.utils import timezone

from streams import livekit as lk
from streams.live import is_viewer
from streams.models import Stream, StreamSession

from .models import BUCKET_MS, RoomReset, SeriesPoint, SessionStats, ViewerSpan

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Connections and resets are kept this long after they end (``prune_analytics_facts``); a session that
# ended before that is final: no late delivery changes its series, which its facts could no longer rebuild.
FACTS_KEPT_DAYS = 30


def bucket_of(at_ms: int) -> int:
    return at_ms - at_ms % BUCKET_MS


def to_ms(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def from_ms(at_ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=at_ms)


def session_window(session: StreamSession) -> tuple[int, int | None]:
    """The session's [start, end) in ms; end is None while it is live."""
    end = to_ms(session.ended_at) if session.ended_at else None
    return to_ms(session.started_at), end


# --- The series, from the connections --------------------------------------------------------------


def series_compute(
    *, stream_id: int, start: int, end: int | None, first: int, last: int
) -> list[tuple[int, int, int, int]]:
    """(bucket, viewers at its end, peak, presence ms) for intervals first..last of a session [start, end)."""
    lo = max(first, start)
    hi = last + BUCKET_MS if end is None else min(last + BUCKET_MS, end)
    if lo >= hi:
        return []
    spans = (
        ViewerSpan.objects.filter(stream_id=stream_id, joined_at_ms__lt=hi)
        .filter(Q(ended_at_ms__isnull=True) | Q(ended_at_ms__gt=lo))
        .values_list("joined_at_ms", "ended_at_ms")
    )
    count, changes = 0, []
    for joined, ended in spans:
        if ended is not None and ended <= joined:
            continue  # cut by a reset at the instant it joined: never watched
        if joined <= lo:
            count += 1
        else:
            changes.append((joined, 1))
        if ended is not None and ended < hi:
            changes.append((ended, -1))
    changes.sort()  # at one instant a leave (-1) comes before a join (+1): a hand-over is not a peak
    rows, i = [], 0
    for bucket in range(bucket_of(first), last + 1, BUCKET_MS):
        b_lo, b_hi = max(bucket, lo), min(bucket + BUCKET_MS, hi)
        if b_lo >= b_hi:
            continue
        while i < len(changes) and changes[i][0] <= b_lo:  # at the interval's first instant
            count, i = count + changes[i][1], i + 1
        peak, presence, t = count, 0, b_lo
        while i < len(changes) and changes[i][0] < b_hi:
            at, delta = changes[i]
            presence += count * (at - t)
            t, count, i = at, count + delta, i + 1
            peak = max(peak, count)
        presence += count * (b_hi - t)
        rows.append((bucket, count, peak, presence))
    return rows


def _rows_write(session: StreamSession, rows: list[tuple[int, int, int, int]]) -> None:
    # An upsert on (session, bucket): at most one row per session per interval, whatever the event rate.
    SeriesPoint.objects.bulk_create(
        [SeriesPoint(session=session, bucket=b, viewers=v, peak=p, presence_ms=ms) for b, v, p, ms in rows],
        update_conflicts=True,
        unique_fields=["session", "bucket"],
        update_fields=["viewers", "peak", "presence_ms"],
    )


def _series_shift(session: StreamSession, lo: int, hi: int | None, delta: int) -> None:
    """The count changed by ``delta`` over [lo, hi) (hi None: from lo on); bring the session's rows along."""
    start, end = session_window(session)
    lo = max(lo, start)
    if end is not None:
        hi = end if hi is None else min(hi, end)
    if hi is not None and lo >= hi:
        return
    rows = SeriesPoint.objects.filter(session=session)
    last_row = rows.aggregate(last=Max("bucket"))["last"]
    first_b = bucket_of(lo)
    last_b = bucket_of(hi) if hi is not None else None  # the interval the change ends in
    if last_row is not None:
        inside = rows.filter(bucket__gt=first_b)
        if last_b is not None:
            inside = inside.filter(bucket__lt=last_b)
        # Whole intervals inside the change: every instant of them moved by delta.
        inside.update(
            viewers=F("viewers") + delta,
            peak=F("peak") + delta,
            presence_ms=F("presence_ms") + delta * BUCKET_MS,
        )
        for b in {first_b, last_b} - {None}:
            if b <= last_row:
                _rows_write(
                    session,
                    series_compute(stream_id=session.stream_id, start=start, end=end, first=b, last=b),
                )
    upto = max(first_b, last_b or first_b)
    from_b = bucket_of(start) if last_row is None else last_row + BUCKET_MS
    if upto >= from_b:
        _rows_write(
            session,
            series_compute(stream_id=session.stream_id, start=start, end=end, first=from_b, last=upto),
        )


def _stats_refresh(session: StreamSession) -> None:
    start, end = session_window(session)
    rows = SeriesPoint.objects.filter(session=session)
    totals = rows.aggregate(peak=Max("peak"), presence=Sum("presence_ms"))
    last = rows.order_by("-bucket").values_list("bucket", "viewers").first()
    spans = ViewerSpan.objects.filter(stream_id=session.stream_id).filter(
        Q(ended_at_ms__isnull=True) | Q(ended_at_ms__gt=F("joined_at_ms")),
        Q(ended_at_ms__isnull=True) | Q(ended_at_ms__gt=start),
    )
    if end is not None:
        spans = spans.filter(joined_at_ms__lt=end)
    # An upsert: one query, where update_or_create takes a savepoint, a read and a write.
    SessionStats.objects.bulk_create(
        [
            SessionStats(
                session=session,
                peak=totals["peak"] or 0,
                presence_ms=totals["presence"] or 0,
                unique_viewers=spans.values("identity").distinct().count(),
                last_bucket=last[0] if last else None,
                last_viewers=last[1] if last else 0,
            )
        ],
        update_conflicts=True,
        unique_fields=["session"],
        update_fields=["peak", "presence_ms", "unique_viewers", "last_bucket", "last_viewers"],
    )


def _open_to_change():
    return Q(ended_at__isnull=True) | Q(ended_at__gte=timezone.now() - timedelta(days=FACTS_KEPT_DAYS))


def _count_change(stream_id: int, lo: int, hi: int | None, delta: int) -> None:
    if delta == 0 or (hi is not None and hi <= lo):
        return
    sessions = StreamSession.objects.filter(_open_to_change(), stream_id=stream_id).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=from_ms(lo))
    )
    if hi is not None:
        sessions = sessions.filter(started_at__lt=from_ms(hi))
    for session in sessions:
        _series_shift(session, lo, hi, delta)
        _stats_refresh(session)


def session_series_rebuild(*, session: StreamSession) -> None:
    """Recompute a session's whole series, when it starts or ends (its window changed)."""
    start, end = session_window(session)
    SeriesPoint.objects.filter(session=session).delete()
    if end is None:
        latest = ViewerSpan.objects.filter(stream_id=session.stream_id).aggregate(
            joined=Max("joined_at_ms"), ended=Max("ended_at_ms")
        )
        upto = max(start, latest["joined"] or 0, latest["ended"] or 0)
    else:
        upto = end - 1
    if upto >= start:
        rows = series_compute(
            stream_id=session.stream_id, start=start, end=end, first=start, last=bucket_of(upto)
        )
        _rows_write(session, rows)
    _stats_refresh(session)


# --- The facts -------------------------------------------------------------------------------------


def _first_reset_from(stream_id: int, at_ms: int) -> int | None:
    return RoomReset.objects.filter(stream_id=stream_id, at_ms__gte=at_ms).aggregate(at=Min("at_ms"))["at"]


def viewer_span_join(*, stream: Stream, identity: str, joined_at_ms: int) -> None:
    """A connection joined; a room reset already known at or after its join ends it there."""
    # No get_or_create (a savepoint and two more queries): the caller holds the stream's row lock.
    if ViewerSpan.objects.filter(stream=stream, identity=identity, joined_at_ms=joined_at_ms).exists():
        return  # a repeat, or its leave came first and counted it already
    reset = _first_reset_from(stream.pk, joined_at_ms)
    ViewerSpan.objects.create(stream=stream, identity=identity, joined_at_ms=joined_at_ms, ended_at_ms=reset)
    _count_change(stream.pk, joined_at_ms, reset, 1)


def viewer_span_leave(*, stream: Stream, identity: str, joined_at_ms: int, left_at_ms: int) -> None:
    """A connection left (its join may not have arrived yet: then the leave brings both)."""
    reset = _first_reset_from(stream.pk, joined_at_ms)
    end = left_at_ms if reset is None else min(left_at_ms, reset)
    span = ViewerSpan.objects.filter(stream=stream, identity=identity, joined_at_ms=joined_at_ms).first()
    if span is None:
        ViewerSpan.objects.create(
            stream=stream,
            identity=identity,
            joined_at_ms=joined_at_ms,
            left_at_ms=left_at_ms,
            ended_at_ms=end,
        )
        _count_change(stream.pk, joined_at_ms, end, 1)
        return
    if span.left_at_ms is not None and span.left_at_ms <= left_at_ms:
        return  # this leave, or an earlier one of the same connection, is applied
    old = span.ended_at_ms
    span.left_at_ms = left_at_ms
    span.ended_at_ms = end if old is None else min(old, end)
    span.save(update_fields=["left_at_ms", "ended_at_ms"])
    if old is None or span.ended_at_ms < old:
        _count_change(stream.pk, span.ended_at_ms, old, -1)


def room_reset_record(*, stream: Stream, at_ms: int) -> None:
    """The room emptied at ``at_ms``: every connection joined by then ends there at the latest."""
    if RoomReset.objects.filter(stream=stream, at_ms=at_ms).exists():
        return
    RoomReset.objects.create(stream=stream, at_ms=at_ms)
    joined = ViewerSpan.objects.filter(stream=stream, joined_at_ms__lte=at_ms)
    cut = joined.filter(Q(ended_at_ms__isnull=True) | Q(ended_at_ms__gt=at_ms))
    ends = Counter(cut.values_list("ended_at_ms", flat=True))
    for old, n in ends.items():
        # One group at a time, each change applied right after its connections: a boundary interval is
        # recomputed from the connections, so it must not already hold the next group's change.
        joined.filter(ended_at_ms=old).update(ended_at_ms=at_ms)
        _count_change(stream.pk, at_ms, old, -n)


def _sessions_rebuild_from(stream: Stream, at_ms: int) -> None:
    # A start or end at at_ms changed the windows of the sessions open then or since.
    sessions = StreamSession.objects.filter(_open_to_change(), stream=stream).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gte=from_ms(at_ms))
    )
    for session in sessions:
        session_series_rebuild(session=session)


def analytics_facts_prune() -> int:
    """Delete connections and resets that ended more than FACTS_KEPT_DAYS ago. Returns how many went.

    The series and figures stay: they are the small part, one row per session per 15 s.
    """
    cutoff = to_ms(timezone.now() - timedelta(days=FACTS_KEPT_DAYS))
    spans, _ = ViewerSpan.objects.filter(ended_at_ms__lt=cutoff).delete()
    resets, _ = RoomReset.objects.filter(at_ms__lt=cutoff).delete()
    return spans + resets


# --- From webhooks ---------------------------------------------------------------------------------
# The clocks are those of webhooks.handlers (which this app sits below): a join at joinedAtMs, a leave at
# the later of joinedAtMs and createdAt, an ingress change at the ingress's own clock.


def _locked_stream_for_room(room_name: str | None) -> Stream | None:
    user_id = lk.user_id_from_room(room_name) if room_name else None
    if user_id is None:
        return None
    return Stream.objects.select_for_update().filter(user_id=user_id).first()


def _participant(event: lk.WebhookEvent) -> tuple[Stream, str, int] | None:
    participant = event.participant
    if participant is None:
        return None
    stream = _locked_stream_for_room(event.room_name)
    if stream is None or not is_viewer(stream=stream, identity=participant.identity, kind=participant.kind):
        return None
    return stream, participant.identity, participant.joined_at_ms


def _joined(event: lk.WebhookEvent) -> None:
    found = _participant(event)
    if found is not None:
        stream, identity, joined_ms = found
        viewer_span_join(stream=stream, identity=identity, joined_at_ms=joined_ms or event.created_at * 1000)


def _left(event: lk.WebhookEvent) -> None:
    found = _participant(event)
    if found is None:
        return
    stream, identity, joined_ms = found
    left_ms = max(joined_ms, event.created_at * 1000)
    if joined_ms:
        viewer_span_leave(stream=stream, identity=identity, joined_at_ms=joined_ms, left_at_ms=left_ms)
        return
    # No joinedAtMs to name the connection: every connection of theirs open at the leave ends.
    open_spans = ViewerSpan.objects.filter(
        stream=stream, identity=identity, joined_at_ms__lte=left_ms, left_at_ms__isnull=True
    )
    for joined in open_spans.values_list("joined_at_ms", flat=True):
        viewer_span_leave(stream=stream, identity=identity, joined_at_ms=joined, left_at_ms=left_ms)


def _room_finished(event: lk.WebhookEvent) -> None:
    stream = _locked_stream_for_room(event.room_name)
    if stream is not None:
        room_reset_record(stream=stream, at_ms=event.created_at * 1000)


def _ingress(event: lk.WebhookEvent) -> None:
    if event.ingress is None:
        return
    stream = Stream.objects.select_for_update().filter(ingress_id=event.ingress.ingress_id).first()
    if stream is None:
        return
    at_ms = event.ingress_updated_at_ms or event.created_at * 1000
    if event.event == "ingress_ended":
        room_reset_record(stream=stream, at_ms=at_ms)  # going offline empties the room, as in streams.live
    _sessions_rebuild_from(stream, at_ms)


_HANDLERS = {
    "participant_joined": _joined,
    "participant_left": _left,
    "participant_connection_aborted": _left,
    "room_finished": _room_finished,
    "ingress_started": _ingress,
    "ingress_ended": _ingress,
}


def analytics_event_apply(*, event: lk.WebhookEvent) -> None:
    """Record what a (first, verified, usable) delivery tells about viewers and bring the series along.

    Runs in the receiver's transaction; the stream's row is locked (as streams.live does) before any read,
    so deliveries about one room are applied one at a time.
    """
    handler = _HANDLERS.get(event.event)
    if handler is not None:
        handler(event)
