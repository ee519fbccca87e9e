"""Live-state services: a stream going live or offline, and who is watching.

Every path that changes the live flag comes through here (webhooks, key reset or delete, revocation,
reconcile), so a session is always opened and closed and the viewer count always reset together.

LiveKit delivers events late, twice and out of order, so every change carries the time of the event that
caused it and an older event never overrides a newer one. Presence keeps one row per identity with the
time of the last event applied to it, a leave kept as a tombstone; a room-wide reset (the stream going
offline, the room finishing) is remembered in a tombstone row of its own, so a join older than the reset
that arrives after it does not count either. The result does not depend on the order of delivery.
"""

import time
from datetime import UTC, datetime

from django.db import transaction

from .models import Stream, StreamSession, ViewerPresence

# Participants that are not people watching: the encoder behind the ingress, recorders and bots.
NOT_VIEWER_KINDS = frozenset({"INGRESS", "EGRESS", "AGENT"})
# The presence row holding the time of the room's last reset. Never present; no identity we mint is "*".
ROOM_RESET = "*"


def now_ms() -> int:
    return int(time.time() * 1000)


def _at(at_ms: int) -> datetime:
    return datetime.fromtimestamp(at_ms / 1000, tz=UTC)


def _locked(stream: Stream) -> Stream:
    # Every change of one stream's live state or presence takes this row lock first: changes of one room
    # are serialised (exact recounts, no duplicate first inserts), and locks are always taken in one order.
    return Stream.objects.select_for_update().get(pk=stream.pk)


@transaction.atomic
def stream_go_live(*, stream: Stream, at_ms: int | None = None) -> bool:
    """Mark the stream live unless a newer event already decided its state. Returns whether it changed."""
    at_ms = now_ms() if at_ms is None else at_ms
    stream = _locked(stream)
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
    """Mark the stream offline (closing its session, zeroing viewers) unless a newer event decided.

    Returns whether it was live. The viewers present at ``at_ms`` are reset even when a newer start keeps
    the stream live, so the count does not depend on whether this event arrived before or after that start.
    """
    at_ms = now_ms() if at_ms is None else at_ms
    stream = _locked(stream)
    was_live = stream.is_live
    if at_ms >= stream.live_changed_at_ms:
        stream.live_changed_at_ms = at_ms
        stream.is_live = False
        stream.live_since = None
        stream.save(update_fields=["is_live", "live_since", "live_changed_at_ms", "updated_at"])
        StreamSession.objects.filter(stream=stream, ended_at__isnull=True).update(ended_at=_at(at_ms))
    else:
        was_live = False
    _room_reset(stream, at_ms)
    return was_live


# --- Presence -----------------------------------------------------------------------------------------


def is_viewer(*, stream: Stream, identity: str, kind: str = "STANDARD") -> bool:
    """Whether a participant in the creator's room counts as a viewer (the creator's self-view does not)."""
    return kind not in NOT_VIEWER_KINDS and identity not in (f"Host-{stream.user_id}", ROOM_RESET)


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


def _room_reset(stream: Stream, at_ms: int) -> int:
    """Everyone in the room at ``at_ms`` left; joins newer than that stay."""
    ViewerPresence.objects.filter(stream=stream, present=True, last_event_at_ms__lte=at_ms).update(
        present=False, last_event_at_ms=at_ms
    )
    reset, created = ViewerPresence.objects.get_or_create(
        stream=stream, identity=ROOM_RESET, defaults={"present": False, "last_event_at_ms": at_ms}
    )
    if not created and reset.last_event_at_ms < at_ms:
        reset.last_event_at_ms = at_ms
        reset.save(update_fields=["last_event_at_ms"])
    return _recount(stream)


def _presence_apply(*, stream: Stream, identity: str, present: bool, at_ms: int) -> int:
    stream = _locked(stream)
    rows = {
        row.identity: row
        for row in ViewerPresence.objects.filter(stream=stream, identity__in=[identity, ROOM_RESET])
    }
    row, reset = rows.get(identity), rows.get(ROOM_RESET)
    if present and reset is not None and at_ms <= reset.last_event_at_ms:
        return stream.viewer_count  # joined before the room was reset: already gone
    if row is None:
        ViewerPresence.objects.create(
            stream=stream, identity=identity, present=present, last_event_at_ms=at_ms
        )
    else:
        # A join must be strictly newer than what we hold, a leave may tie: a join and a leave of one
        # connection carry the same joinedAtMs, and whichever order they arrive in, the leave wins.
        newer = at_ms > row.last_event_at_ms if present else at_ms >= row.last_event_at_ms
        if not newer or (row.present == present and row.last_event_at_ms == at_ms):
            return stream.viewer_count
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
    return _room_reset(_locked(stream), at_ms)


@transaction.atomic
def presence_sync(*, stream: Stream, identities: set[str], at_ms: int | None = None) -> int:
    """Make the room's viewers exactly ``identities`` (LiveKit's own list, filtered by ``is_viewer``)."""
    at_ms = now_ms() if at_ms is None else at_ms
    stream = _locked(stream)
    ViewerPresence.objects.filter(stream=stream, present=True).exclude(identity__in=identities).update(
        present=False, last_event_at_ms=at_ms
    )
    known = set(ViewerPresence.objects.filter(stream=stream).values_list("identity", flat=True))
    ViewerPresence.objects.filter(stream=stream, identity__in=identities, present=False).update(
        present=True, last_event_at_ms=at_ms
    )
    ViewerPresence.objects.bulk_create(
        ViewerPresence(stream=stream, identity=identity, present=True, last_event_at_ms=at_ms)
        for identity in identities - known
    )
    return _recount(stream)
