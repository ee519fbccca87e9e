"""Rooms, participants and ingresses: the one state that the Twirp API, the ``/rtc`` signalling and the
tests' controls all read and change (LiveKit's ``pkg/rtc/room.go`` and ``roommanager.go`` in small).

A participant is either simulated by a test (no connection) or connected: then ``sessions`` holds its
signalling session, and every change of the room is pushed to the connected participants as LiveKit
pushes it (``SignalResponse.update``), and moving one (permission change, removal, eviction) reaches it.
Webhooks are emitted after the lock is released, in the order the changes happened.
"""

import copy
import secrets
import string
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from livekit.protocol import ingress as proto_ingress
from livekit.protocol import models as proto_models
from livekit.protocol import rtc as proto_rtc

_ALPHABET = string.ascii_letters + string.digits
Reason = proto_models.DisconnectReason
State_ = proto_models.ParticipantInfo.State


def random_id(prefix: str, length: int = 12) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


_last_ns = 0
_clock_lock = threading.Lock()


def now_ns() -> int:
    """Ingress state clock: strictly increasing by at least 1 ms, as a real encoder's stop and restart
    are; consumers order ingress events by it at millisecond resolution."""
    global _last_ns
    with _clock_lock:
        _last_ns = max(time.time_ns(), _last_ns + 1_000_000)
        return _last_ns


class NotFound(Exception):
    pass


class Session(Protocol):
    """A connected participant's signalling session (``rtc.Session``); both methods are thread-safe."""

    def send(self, response: proto_rtc.SignalResponse) -> None: ...

    def leave(self, reason: int) -> None:
        """Send LeaveRequest(reason, DISCONNECT) and close the connection."""


class State:
    def __init__(self, emit: Callable[..., None]):
        self._emit = emit  # emit(event, **payload): a webhook
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            old = list(getattr(self, "sessions", {}).values())
            self.ingresses: dict[str, proto_ingress.IngressInfo] = {}
            self.rooms: dict[str, proto_models.Room] = {}
            self.participants: dict[str, dict[str, proto_models.ParticipantInfo]] = {}
            self.sessions: dict[str, Session] = {}  # participant sid → its connection
        for session in old:  # a test ended with clients connected: they go, as at a server restart
            session.leave(Reason.SERVER_SHUTDOWN)

    # --- Reading -------------------------------------------------------------------------------------

    def room_view(self, name: str) -> proto_models.Room:
        with self.lock:
            room = copy.deepcopy(self.rooms[name])
            people = self.participants.get(name, {}).values()
            room.num_participants = len(people)
            room.num_publishers = sum(1 for p in people if p.permission.can_publish)
            return room

    def participant(self, room: str, identity: str) -> proto_models.ParticipantInfo:
        with self.lock:
            if room not in self.rooms:
                raise NotFound("requested room does not exist")
            if identity not in self.participants[room]:
                raise NotFound("participant does not exist")
            return self.participants[room][identity]

    def by_sid(self, room: str, sid: str) -> proto_models.ParticipantInfo | None:
        with self.lock:
            for info in self.participants.get(room, {}).values():
                if info.sid == sid:
                    return info
            return None

    def connected(self, room: str, *, but: str = "") -> list[tuple[proto_models.ParticipantInfo, Session]]:
        with self.lock:
            return [
                (p, self.sessions[p.sid])
                for p in self.participants.get(room, {}).values()
                if p.sid in self.sessions and p.sid != but
            ]

    # --- Rooms ---------------------------------------------------------------------------------------

    def room_create(self, name: str, *, notify: bool = True, **fields: Any) -> proto_models.Room:
        with self.lock:
            created = name not in self.rooms
            if created:
                now = time.time()
                self.rooms[name] = proto_models.Room(
                    sid=random_id("RM_"),
                    name=name,
                    creation_time=int(now),
                    creation_time_ms=int(now * 1000),
                    empty_timeout=300,
                    departure_timeout=20,
                )
                self.participants[name] = {}
            room = self.rooms[name]
            for field, value in fields.items():
                if value:
                    setattr(room, field, value)
            view = self.room_view(name)
        if created and notify:
            self._emit("room_started", room=view)
        return view

    def room_delete(self, name: str) -> None:
        """DeleteRoom: everyone connected is told ``ROOM_DELETED`` and disconnected."""
        with self.lock:
            if name not in self.rooms:
                raise NotFound("requested room does not exist")
            view = self.room_view(name)
            gone = list(self.participants.pop(name, {}).values())
            del self.rooms[name]
            sessions = [self.sessions.pop(p.sid) for p in gone if p.sid in self.sessions]
        for session in sessions:
            session.leave(Reason.ROOM_DELETED)
        for info in gone:
            self._emit("participant_left", room=view, participant=info)
        self._emit("room_finished", room=view)

    def room_update_metadata(self, name: str, metadata: str) -> proto_models.Room:
        with self.lock:
            if name not in self.rooms:
                raise NotFound("requested room does not exist")
            self.rooms[name].metadata = metadata
            view = self.room_view(name)
            targets = self.connected(name)
        for _, session in targets:
            session.send(proto_rtc.SignalResponse(room_update=proto_rtc.RoomUpdate(room=view)))
        return view

    # --- Participants --------------------------------------------------------------------------------

    def participant_join(
        self,
        room: str,
        info: proto_models.ParticipantInfo,
        session: Session | None = None,
        greet: Callable[[list[proto_models.ParticipantInfo]], None] | None = None,
    ) -> proto_models.ParticipantInfo:
        """Add a participant. A second one with the same identity evicts the first (``DUPLICATE_IDENTITY``).
        A simulated one is ACTIVE at once; a connected one is JOINED until its peer connection is up.
        ``greet(others)`` runs under the lock, so the JoinResponse it queues comes before any update."""
        self.room_create(room)
        with self.lock:
            old = self.participants[room].get(info.identity)
            if greet is not None:
                greet(
                    [
                        copy.deepcopy(p)
                        for p in self.participants[room].values()
                        if p.identity != info.identity and not p.permission.hidden
                    ]
                )
            old_session = self.sessions.pop(old.sid, None) if old is not None else None
            info.version = max(info.version, 1)
            self.participants[room][info.identity] = info
            if session is not None:
                self.sessions[info.sid] = session
            view = self.room_view(room)
            joined = copy.deepcopy(info)
        if old is not None:
            # LiveKit tells the others nothing about the old session (its clients look participants up by
            # identity: a late DISCONNECTED would delete the new one); the old one gets its reason.
            if old_session is not None:
                old_session.leave(Reason.DUPLICATE_IDENTITY)
            self._emit("participant_left", room=view, participant=old)
        self.broadcast(room, joined, but=joined.sid)
        if info.state == State_.ACTIVE:
            self._emit("participant_joined", room=view, participant=joined)
        return joined

    def participant_active(self, room: str, sid: str) -> None:
        """A connected participant's peer connection is up: ACTIVE, and only now ``participant_joined``
        (LiveKit sends that webhook when the participant becomes active)."""
        with self.lock:
            info = self.by_sid(room, sid)
            if info is None or info.state == State_.ACTIVE:
                return
            info.state = State_.ACTIVE
            info.version += 1
            active = copy.deepcopy(info)
            view = self.room_view(room)
        self.broadcast(room, active, but=sid)
        self._emit("participant_joined", room=view, participant=active)

    def participant_leave(self, room: str, identity: str, *, reason: int, sid: str = "") -> bool:
        """Remove a participant (by identity; with ``sid``, only that session of it). A server-side reason
        disconnects its client with that reason; the others get its DISCONNECTED info."""
        with self.lock:
            info = self.participants.get(room, {}).get(identity)
            if info is None or (sid and info.sid != sid):
                return False
            del self.participants[room][identity]
            session = self.sessions.pop(info.sid, None)
            info.state = State_.DISCONNECTED
            info.disconnect_reason = reason
            info.version += 1
            gone = copy.deepcopy(info)
            view = self.room_view(room) if room in self.rooms else None
        if session is not None and reason not in (Reason.CLIENT_INITIATED, Reason.SIGNAL_CLOSE):
            session.leave(reason)
        self.broadcast(room, gone)
        self._emit("participant_left", room=view, participant=gone)
        return True

    def participant_update(
        self,
        room: str,
        identity: str,
        *,
        permission: proto_models.ParticipantPermission | None = None,
        name: str = "",
        metadata: str = "",
        attributes: dict[str, str] | None = None,
    ) -> proto_models.ParticipantInfo:
        """UpdateParticipant: the new info (version + 1) goes to the participant itself and to everyone."""
        with self.lock:
            info = self.participant(room, identity)
            if permission is not None:
                # Like LiveKit: the permission sent replaces the whole set; what is unset becomes False.
                info.permission.CopyFrom(permission)
            if name:
                info.name = name
            if metadata:
                info.metadata = metadata
            for key, value in (attributes or {}).items():
                if value:
                    info.attributes[key] = value
                else:
                    info.attributes.pop(key, None)
            info.version += 1
            updated = copy.deepcopy(info)
        self.broadcast(room, updated)
        return updated

    def broadcast(self, room: str, info: proto_models.ParticipantInfo, *, but: str = "") -> None:
        update = proto_rtc.SignalResponse(update=proto_rtc.ParticipantUpdate(participants=[info]))
        for other, session in self.connected(room, but=but):
            # A hidden participant (a recorder, an agent listening in) is news to itself only.
            if not info.permission.hidden or other.sid == info.sid:
                session.send(update)

    # --- Ingresses -----------------------------------------------------------------------------------

    def ingress(self, ingress_id: str) -> proto_ingress.IngressInfo:
        with self.lock:
            if ingress_id not in self.ingresses:
                raise NotFound("ingress does not exist")
            return self.ingresses[ingress_id]

    def ingress_end(self, info: proto_ingress.IngressInfo) -> None:
        now = now_ns()
        info.state.status = proto_ingress.IngressState.Status.ENDPOINT_INACTIVE
        info.state.ended_at = now
        info.state.updated_at = now
