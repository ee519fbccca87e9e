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


# --- Presence -----------------------------------------------------------------------------------------

# Participants that are not people watching: the encoder behind the ingress, recorders and bots.
NOT_VIEWER_KINDS = frozenset({"INGRESS", "EGRESS", "AGENT"})


def is_viewer(*, stream: Stream, identity: str, kind: str = "STANDARD") -> bool:
    """Whether a participant in the creator's room counts as a viewer (the creator's self-view does not)."""
    return kind not in NOT_VIEWER_KINDS and identity != f"Host-{stream.user_id}"


def _recount(stream: Stream) -> int:
    """Store the number of present viewers on the locked stream and keep the open session's peak."""
    count = ViewerPresence.objects.filter(stream=stream, present=True).count()
    if count != stream.viewer_count:
        stream.viewer_count = count
        stream.save(update_fields=["viewer_count", "updated_at"])
    if count:
        StreamSession.objects.filter(stream=stream, ended_at__isnull=True, peak_viewers__lt=count).update(
            peak_viewers=count
        )
    return count


def _presence_apply(*, stream: Stream, identity: str, present: bool, at_ms: int) -> int:
    stream = Stream.objects.select_for_update().get(pk=stream.pk)
    # The stream row lock serialises every presence change of one room, so the recount below is exact and
    # two first joins of one identity cannot both insert.
    row = ViewerPresence.objects.filter(stream=stream, identity=identity).first()
    if row is None:
        ViewerPresence.objects.create(
            stream=stream, identity=identity, present=present, last_event_at_ms=at_ms
        )
    else:
        # A join must be strictly newer than what we hold, a leave may tie: a join and a leave of one
        # connection carry the same joinedAtMs, and whichever order they arrive in, the leave wins.
        newer = at_ms > row.last_event_at_ms if present else at_ms >= row.last_event_at_ms
        if not newer:
            return stream.viewer_count
        if row.present != present or row.last_event_at_ms != at_ms:
            row.present = present
            row.last_event_at_ms = at_ms
            row.save(update_fields=["present", "last_event_at_ms"])
    return _recount(stream)


@transaction.atomic
def viewer_join(*, stream: Stream, identity: str, kind: str = "STANDARD", at_ms: int) -> int:
    """Record a viewer in the room unless a newer event about them is already applied. Returns the count."""
    if not is_viewer(stream=stream, identity=identity, kind=kind):
        return stream.viewer_count
    return _presence_apply(stream=stream, identity=identity, present=True, at_ms=at_ms)


@transaction.atomic
def viewer_leave(*, stream: Stream, identity: str, kind: str = "STANDARD", at_ms: int) -> int:
    """Keep a tombstone for a viewer who left, so an older join delivered later cannot bring them back."""
    if not is_viewer(stream=stream, identity=identity, kind=kind):
        return stream.viewer_count
    return _presence_apply(stream=stream, identity=identity, present=False, at_ms=at_ms)


@transaction.atomic
def room_finished(*, stream: Stream, at_ms: int) -> int:
    """The room closed: everyone in it left, except joins newer than the close (a room opened again)."""
    stream = Stream.objects.select_for_update().get(pk=stream.pk)
    ViewerPresence.objects.filter(stream=stream, present=True, last_event_at_ms__lte=at_ms).update(
        present=False, last_event_at_ms=at_ms
    )
    return _recount(stream)


@transaction.atomic
def presence_sync(*, stream: Stream, identities: set[str], at_ms: int | None = None) -> int:
    """Make the room's presence exactly ``identities`` (LiveKit's own list, filtered to viewers)."""
    at_ms = now_ms() if at_ms is None else at_ms
    stream = Stream.objects.select_for_update().get(pk=stream.pk)
    ViewerPresence.objects.filter(stream=stream, present=True).exclude(identity__in=identities).update(
        present=False, last_event_at_ms=at_ms
    )
    known = dict(ViewerPresence.objects.filter(stream=stream).values_list("identity", "present"))
    ViewerPresence.objects.filter(stream=stream, identity__in=identities, present=False).update(
        present=True, last_event_at_ms=at_ms
    )
    ViewerPresence.objects.bulk_create(
        ViewerPresence(stream=stream, identity=identity, present=True, last_event_at_ms=at_ms)
        for identity in identities
        if identity not in known
    )
    return _recount(stream)
