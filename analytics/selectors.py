"""Reads of a creator's analytics, shared by the pages and the API.

The overview reads a fixed number of queries whatever the number of sessions: the figures live in one
``SessionStats`` row per session (joined), and followers gained are a subquery of the same query.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Count, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce, TruncDate, TruncMinute
from django.utils import timezone

from accounts.models import Follow
from streams.models import Stream, StreamSession

from .models import BUCKET_MS, SeriesPoint, SessionStats
from .services import bucket_of, from_ms, session_window, to_ms

OVERVIEW_DAYS = 30
LIVE_FILL = 2_400  # ten hours of 15 s intervals


def _chat_model():
    # The chat app keeps messages per session; it sits beside this one, so it is reached through the
    # session's reverse relation, not imported. Without it every session reports 0 messages.
    try:
        return StreamSession._meta.get_field("chat_messages").related_model
    except FieldDoesNotExist:
        return None


def chat_stored() -> bool:
    return _chat_model() is not None


@dataclass(frozen=True)
class SessionFigures:
    id: int
    started_at: datetime
    ended_at: datetime | None
    duration_s: int
    peak_viewers: int
    average_viewers: float
    minutes_watched: float
    unique_viewers: int
    followers_gained: int
    chat_messages: int

    @property
    def live(self) -> bool:
        return self.ended_at is None

    @property
    def length(self) -> str:
        hours, rest = divmod(self.duration_s, 3600)
        return f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min {rest % 60:02d} s"


@dataclass(frozen=True)
class Day:
    date: date
    hours_streamed: float
    minutes_watched: float
    followers_gained: int


@dataclass(frozen=True)
class Point:
    t: int  # start of the 15 s interval, ms since the epoch
    viewers: int
    peak: int

    @property
    def time_utc(self) -> str:
        return from_ms(self.t).strftime("%H:%M:%S")


def _figures(session: StreamSession, stats: SessionStats | None, now_ms: int) -> SessionFigures:
    """``session`` carries the annotations of ``_with_counts``."""
    start, end = session_window(session)
    until = end if end is not None else max(now_ms, start)
    presence = stats.presence_ms if stats else 0
    if stats and stats.last_bucket is not None:
        # Rows are written by events: after the last one nothing changed, so its count held until the end
        # (or now, while live). A session closed by a webhook is rebuilt to its end and has no such tail;
        # one closed another way (a revoked creator, a key reset) may.
        presence += stats.last_viewers * max(0, until - (stats.last_bucket + BUCKET_MS))
    duration = until - start
    return SessionFigures(
        id=session.pk,
        started_at=session.started_at,
        ended_at=session.ended_at,
        duration_s=duration // 1000,
        peak_viewers=stats.peak if stats else 0,
        average_viewers=round(presence / duration, 2) if duration > 0 else 0.0,
        minutes_watched=round(presence / 60_000, 1),
        unique_viewers=stats.unique_viewers if stats else 0,
        followers_gained=session.followers_gained,
        chat_messages=session.chat_count,
    )


def _stats(session: StreamSession) -> SessionStats | None:
    try:
        return session.analytics
    except SessionStats.DoesNotExist:
        return None


def _with_counts(sessions, now: datetime):
    """Annotate each session with the follows of its creator made while it ran and the chat messages said
    in it (a subquery each, no N+1)."""
    follows = (
        Follow.objects.filter(
            following_id=OuterRef("stream__user_id"),
            created_at__gte=OuterRef("started_at"),
            created_at__lt=Coalesce(OuterRef("ended_at"), Value(now)),
        )
        .order_by()
        .values("following_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    sessions = sessions.annotate(followers_gained=Coalesce(Subquery(follows), 0))
    chat = _chat_model()
    if chat is None:
        return sessions.annotate(chat_count=Value(0))
    said = chat.objects.filter(session=OuterRef("pk")).order_by().values("session").annotate(n=Count("id"))
    return sessions.annotate(chat_count=Coalesce(Subquery(said.values("n")), 0))


def session_list(*, stream: Stream, days: int = OVERVIEW_DAYS) -> list[SessionFigures]:
    """The stream's sessions that started in the last ``days`` days, newest first, with their figures."""
    now = timezone.now()
    sessions = StreamSession.objects.filter(stream=stream, started_at__gte=now - timedelta(days=days))
    sessions = _with_counts(sessions.select_related("analytics").order_by("-started_at"), now)
    now_ms = to_ms(now)
    return [_figures(s, _stats(s), now_ms) for s in sessions]


def day_list(*, stream: Stream, sessions: list[SessionFigures], days: int = OVERVIEW_DAYS) -> list[Day]:
    """The last ``days`` days, oldest first: hours streamed and minutes watched by the day a session
    started, followers gained by the day they followed."""
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    follows = dict(
        Follow.objects.filter(following_id=stream.user_id, created_at__date__gte=first)
        .annotate(day=TruncDate("created_at"))
        .values_list("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    streamed: dict[date, float] = {}
    watched: dict[date, float] = {}
    for s in sessions:
        day = timezone.localdate(s.started_at)
        streamed[day] = streamed.get(day, 0.0) + s.duration_s / 3600
        watched[day] = watched.get(day, 0.0) + s.minutes_watched
    out = []
    for n in range(days):
        day = first + timedelta(days=n)
        out.append(
            Day(day, round(streamed.get(day, 0.0), 2), round(watched.get(day, 0.0), 1), follows.get(day, 0))
        )
    return out


def session_get(*, session_id: int) -> StreamSession | None:
    sessions = StreamSession.objects.select_related("analytics", "stream").filter(pk=session_id)
    return _with_counts(sessions, timezone.now()).first()


def session_detail(*, session: StreamSession) -> tuple[SessionFigures, list[Point]]:
    """A session's figures and its series, one point per 15 s interval (the rows are dense; a live
    session's run on to now).

    ``session`` comes from ``session_get`` (with its stats and followers)."""
    figures = _figures(session, _stats(session), to_ms(timezone.now()))
    start, end = session_window(session)
    rows = SeriesPoint.objects.filter(session=session)
    if end is not None:
        rows = rows.filter(bucket__lt=end)  # a change cut by the session's end left nothing past it
    points = [Point(t, v, p) for t, v, p in rows.values_list("bucket", "viewers", "peak")]
    if end is None and points:
        # Live: rows are written when something changes, so the count since the last one held until now.
        # Drawn as such, the curve keeps growing between changes (at most LIVE_FILL more points).
        last, now_b = points[-1], bucket_of(to_ms(timezone.now()))
        for t in range(last.t + BUCKET_MS, min(now_b, last.t + LIVE_FILL * BUCKET_MS) + 1, BUCKET_MS):
            points.append(Point(t, last.viewers, last.viewers))
    return figures, points


@dataclass(frozen=True)
class ChatMinute:
    t: int  # start of the minute, ms since the epoch
    messages: int

    @property
    def time_utc(self) -> str:
        return from_ms(self.t).strftime("%H:%M")


def chat_rate(*, session: StreamSession) -> list[ChatMinute]:
    """Chat messages per minute of the session, minutes without any left out."""
    chat = _chat_model()
    if chat is None:
        return []
    minutes = (
        chat.objects.filter(session=session)
        .annotate(minute=TruncMinute("created_at"))
        .order_by("minute")
        .values_list("minute")
        .annotate(n=Count("id"))
    )
    return [ChatMinute(to_ms(minute), n) for minute, n in minutes]
