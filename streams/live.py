"""Live-state services: a stream going live or offline, and who is watching.

Every path that changes the live flag comes through here (webhooks, key reset or delete, revocation,
reconcile), so a session is always opened and closed and the viewer count always reset together.
"""

import time
from datetime import UTC, datetime

from django.db import transaction

from .models import Stream, StreamSession, ViewerPresence


def now_ms() -> int:
    return int(time.time() * 1000)


def _at(at_ms: int) -> datetime:
    return datetime.fromtimestamp(at_ms / 1000, tz=UTC)


@transaction.atomic
def stream_go_live(*, stream: Stream, at_ms: int | None = None) -> bool:
    """Mark the stream live unless a newer event already decided its state. Returns whether it changed."""
    at_ms = now_ms() if at_ms is None else at_ms
    stream = Stream.objects.select_for_update().get(pk=stream.pk)
    if at_ms < stream.live_changed_at_ms:
        return False
    stream.live_changed_at_ms = at_ms
    if stream.is_live:
        stream.save(update_fields=["live_changed_at_ms", "updated_at"])
        return False
    stream.is_live = True
    stream.live_since = _at(at_ms)
    stream.save(update_fields=["is_live", "live_since", "live_changed_at_ms", "updated_at"])
    StreamSession.objects.filter(stream=stream, ended_at__isnull=True).update(ended_at=stream.live_since)
    StreamSession.objects.create(
        stream=stream, started_at=stream.live_since, peak_viewers=stream.viewer_count
    )
    return True


@transaction.atomic
def stream_go_offline(*, stream: Stream, at_ms: int | None = None) -> bool:
    """Mark the stream offline (closing its session, zeroing viewers) unless a newer event decided."""
    at_ms = now_ms() if at_ms is None else at_ms
    stream = Stream.objects.select_for_update().get(pk=stream.pk)
    if at_ms < stream.live_changed_at_ms:
        return False
    stream.live_changed_at_ms = at_ms
    was_live = stream.is_live
    stream.is_live = False
    stream.live_since = None
    stream.viewer_count = 0
    stream.save(update_fields=["is_live", "live_since", "viewer_count", "live_changed_at_ms", "updated_at"])
    StreamSession.objects.filter(stream=stream, ended_at__isnull=True).update(ended_at=_at(at_ms))
    ViewerPresence.objects.filter(stream=stream, present=True).update(present=False, last_event_at_ms=at_ms)
    return was_live
