"""Live-state services: a stream going live or offline, and who is watching.

Every path that changes the live flag comes through here (webhooks, key reset or delete, revocation,
reconcile), so a session is always opened and closed together with it. Every path that takes away a
creator's right to stream ends in ``stream_shutdown``.

The viewer count is the people connected to the creator's room, which is not the same as the stream
being live: viewers stay in the room while the encoder restarts, so going offline does not reset them;
only the room closing (or LiveKit's own list, in reconcile) does.

LiveKit delivers events late, twice and out of order, so every change carries the time of the event that
caused it and an older event never overrides a newer one. A participant's events are ordered by the
connection they are about (its ``joinedAtMs``): LiveKit keeps one connection per identity, so the newest
connection decides, and the late leave of an older one (a second tab replacing the first) changes
nothing. Presence keeps one row per identity with the connection time of the last event applied to it,
a leave kept as a tombstone; a room-wide reset is remembered in a row of its own, so a join older than
the reset that arrives after it does not count either, and the tombstones it supersedes are deleted.
The result does not depend on the order of delivery.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from django.db import transaction
from django.db.models import Q, QuerySet

from accounts.models import CreatorStatus

from . import livekit as lk
from .chat_rights import chat_rights_enforce, chat_rights_plan
from .identities import host_identity
from .models import Stream, StreamSession, ViewerPresence
from .selectors import host_changed
from .stream_state import stream_count_changed, stream_state_changed
from .tasks import livekit_release, schedule

# Participants that are not people watching: the encoder behind the ingress, recorders and bots.
NOT_VIEWER_KINDS = frozenset({"INGRESS", "EGRESS", "AGENT"})
# The presence row holding the time of the room's last reset. Never present; no identity we mint is "*".
ROOM_RESET = "*"
PUBLISHING = "ENDPOINT_PUBLISHING"


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
    stream_state_changed(user_id=stream.user_id)
    StreamSession.objects.filter(stream=stream, ended_at__isnull=True).update(ended_at=stream.live_since)
    StreamSession.objects.create(
        stream=stream, started_at=stream.live_since, peak_viewers=stream.viewer_count
    )
    return True


@transaction.atomic
def stream_go_offline(*, stream: Stream, at_ms: int | None = None) -> bool:
    """Mark the stream offline (closing its session) unless a newer event decided. Returns whether it was.

    Viewers are not reset: an encoder that stops and starts again leaves them connected to the room.
    """
    at_ms = now_ms() if at_ms is None else at_ms
    stream = _locked(stream)
    was_live = stream.is_live
    if at_ms >= stream.live_changed_at_ms:
        stream.live_changed_at_ms = at_ms
        if stream.is_live:
            stream_state_changed(user_id=stream.user_id)
        stream.is_live = False
        stream.live_since = None
        stream.save(update_fields=["is_live", "live_since", "live_changed_at_ms", "updated_at"])
        StreamSession.objects.filter(stream=stream, ended_at__isnull=True).update(ended_at=_at(at_ms))
    else:
        was_live = False
    _recount(stream)
    return was_live


def stream_key_forget(stream: Stream) -> None:
    """Drop the key from the (locked) stream row; deleting it at LiveKit is the caller's next step."""
    stream.ingress_id, stream.ingress_type, stream.server_url, stream.stream_key = None, "", "", ""
    stream.save(update_fields=["ingress_id", "ingress_type", "server_url", "stream_key", "updated_at"])


@transaction.atomic
def stream_shutdown(*, user_id: int) -> None:
    """End everything that lets this creator stream: the one path for reject, revoke, deactivate, delete.

    Here the key is forgotten, the stream goes offline (its session closed) and its viewers are gone.
    Once that commits, the ingress is deleted at LiveKit (the encoder is cut off, the key dies) and the
    room closed (every viewer disconnected). The change stands when LiveKit is unreachable: the task
    retries, and ``reconcile`` deletes the ingresses of creators who may not stream.
    """
    stream = Stream.objects.select_for_update().filter(user_id=user_id).first()
    if stream is None:
        return  # never approved: no key, no room of ours
    ingress_ids = [stream.ingress_id] if stream.ingress_id else []
    if ingress_ids:
        stream_key_forget(stream)
    at_ms = now_ms()
    stream_go_offline(stream=stream, at_ms=at_ms)
    _room_reset(stream, at_ms)  # the room is closed below: nobody stays connected
    host_changed(user_id=user_id)  # no token is issued from a cached copy once this commits
    schedule(livekit_release, ingress_ids=ingress_ids, room=lk.room_name_for(user_id))


# --- Presence -----------------------------------------------------------------------------------------


def is_viewer(*, stream: Stream, identity: str, kind: str = "STANDARD") -> bool:
    """Whether a participant in the creator's room counts as a viewer (the creator's self-view does not)."""
    return kind not in NOT_VIEWER_KINDS and identity not in (host_identity(stream.user_id), ROOM_RESET)


def _recount(stream: Stream) -> int:
    """Store the number of present viewers on the locked stream and keep the open session's peak."""
    count = ViewerPresence.objects.filter(stream=stream, present=True).count()
    if count != stream.viewer_count:
        stream.viewer_count = count
        stream.save(update_fields=["viewer_count", "updated_at"])
        stream_count_changed(user_id=stream.user_id)
    if count:
        StreamSession.objects.filter(stream=stream, ended_at__isnull=True, peak_viewers__lt=count).update(
            peak_viewers=count
        )
    return count


def _room_reset(stream: Stream, at_ms: int) -> int:
    """Everyone in the room at ``at_ms`` left; joins newer than that stay.

    The reset row now answers for every connection up to ``at_ms``, so older rows (tombstones included)
    are deleted: the table holds a room's current viewers and recent leaves, not every guest ever.
    """
    ViewerPresence.objects.filter(stream=stream, last_event_at_ms__lte=at_ms).exclude(
        identity=ROOM_RESET
    ).delete()
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
def presence_sync(*, stream: Stream, joined_at_ms: dict[str, int], at_ms: int | None = None) -> int:
    """Make the room's viewers exactly LiveKit's list at ``at_ms``: identity → its connection's joinedAtMs.

    The list is a room-wide reset at ``at_ms`` (whoever is not on it has left) plus the listed
    connections, each at its own join time, so the later leave of a listed connection still applies.
    """
    at_ms = now_ms() if at_ms is None else at_ms
    stream = _locked(stream)
    _room_reset(stream, at_ms)
    newer = set(ViewerPresence.objects.filter(stream=stream).values_list("identity", flat=True))
    ViewerPresence.objects.bulk_create(
        ViewerPresence(stream=stream, identity=identity, present=True, last_event_at_ms=min(joined, at_ms))
        for identity, joined in joined_at_ms.items()
        if identity not in newer  # an event newer than the listing already decided
    )
    return _recount(stream)


# --- Reconcile ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Repair:
    description: str
    apply: Callable[[], object]


def live_reconcile_plan() -> list[Repair]:
    """What to change so our live flags, viewers and ingresses match LiveKit's. Reads only.

    Webhooks can be lost, so LiveKit is the truth: a stream is live when its ingress is publishing (and its
    creator still approved); a live room's viewers are its participants; an ingress in one of our rooms
    that no stream points to (left by a reset that failed half-way) is deleted, and so are the key and the
    room of a creator who may not stream (a revocation LiveKit did not hear of). Raises LiveKitError.
    """
    ingresses = lk.ingress_list()
    by_id = {ingress.ingress_id: ingress for ingress in ingresses}
    repairs: list[Repair] = []
    streams = list(
        Stream.objects.select_related("user").filter(Q(is_live=True) | Q(ingress_id__isnull=False))
    )
    # Who is in every publishing room, asked of LiveKit in one concurrent batch, not one room after another.
    in_room = lk.participant_list_many(
        rooms=[
            lk.room_name_for(stream.user_id)
            for stream in streams
            if stream.user.is_approved_creator
            and getattr(by_id.get(stream.ingress_id or ""), "status", None) == PUBLISHING
        ]
    )
    for stream in streams:
        name = stream.user.username
        if not stream.user.is_approved_creator:
            # A path that missed the shutdown, or a key saved by a reset racing the revocation.
            repairs.append(
                Repair(
                    f"{name}: creator not approved: delete the key, go offline",
                    partial(_unapproved_shutdown, stream.user_id),
                )
            )
            continue
        ingress = by_id.get(stream.ingress_id or "")
        publishing = ingress is not None and ingress.status == PUBLISHING
        if publishing and not stream.is_live:
            repairs.append(
                Repair(f"{name}: go live (ingress publishing)", partial(stream_go_live, stream=stream))
            )
        elif stream.is_live and not publishing:
            why = "ingress gone" if ingress is None else f"ingress {ingress.status}"
            repairs.append(Repair(f"{name}: go offline ({why})", partial(stream_go_offline, stream=stream)))
        if publishing:
            participants = in_room[lk.room_name_for(stream.user_id)]
            viewers = {
                p.identity: p.joined_at_ms
                for p in participants
                if is_viewer(stream=stream, identity=p.identity, kind=p.kind)
            }
            # A fan-out that gave up (LiveKit down, no worker) leaves wrong rights: set them again.
            rights = chat_rights_plan(stream=stream, participants=participants)
            if rights.changes or rights.to_remove:
                repairs.append(
                    Repair(
                        f"{name}: chat rights of {len(rights.changes) + len(rights.to_remove)} participants",
                        partial(chat_rights_enforce, stream=stream, plan=rights),
                    )
                )
            ours = set(
                ViewerPresence.objects.filter(stream=stream, present=True).values_list("identity", flat=True)
            )
            if set(viewers) != ours or stream.viewer_count != len(viewers):
                repairs.append(
                    Repair(
                        f"{name}: viewers {stream.viewer_count} → {len(viewers)}",
                        partial(presence_sync, stream=stream, joined_at_ms=viewers),
                    )
                )
    # A revocation whose room could not be closed (LiveKit down, no worker) left its viewers connected.
    handled = {stream.user_id for stream in streams if not stream.user.is_approved_creator}
    occupied = {
        user_id: room.name
        for room in lk.room_list()
        if room.num_participants and (user_id := lk.user_id_from_room(room.name)) is not None
    }
    may_stream = set(_approved(occupied).values_list("user_id", flat=True))
    for user_id, room in occupied.items():
        if user_id not in may_stream and user_id not in handled:
            repairs.append(
                Repair(
                    f"room {room}: close it, its creator may not stream", partial(_unapproved_close, user_id)
                )
            )
    # Read after listing: an ingress a reset saved meanwhile is then known and kept.
    owned = set(Stream.objects.exclude(ingress_id=None).values_list("ingress_id", flat=True))
    for ingress in ingresses:
        if lk.user_id_from_room(ingress.room_name) is not None and ingress.ingress_id not in owned:
            repairs.append(
                Repair(
                    f"room {ingress.room_name}: delete stray ingress {ingress.ingress_id}",
                    partial(_stray_ingress_delete, ingress.ingress_id),
                )
            )
    return repairs


def _approved(user_ids) -> QuerySet[Stream]:
    return Stream.objects.filter(
        user_id__in=user_ids, user__is_active=True, user__creator_status=CreatorStatus.APPROVED
    )


def _unapproved_shutdown(user_id: int) -> None:
    if not _approved([user_id]).exists():  # staff may have approved them again since the plan was made
        stream_shutdown(user_id=user_id)


def _unapproved_close(user_id: int) -> None:
    if not _approved([user_id]).exists():
        lk.room_delete(room=lk.room_name_for(user_id))


def _stray_ingress_delete(ingress_id: str) -> None:
    if Stream.objects.filter(ingress_id=ingress_id).exists():
        return  # a stream took it since the plan was made
    lk.ingress_delete(ingress_id=ingress_id)
