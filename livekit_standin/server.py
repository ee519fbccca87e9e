"""A stand-in LiveKit server for tests and development: LiveKit's wire protocol, no media.

It answers the Twirp methods StreamIt calls (``livekit.Ingress``, ``livekit.RoomService``) with the real
protobuf messages, checks the Bearer JWT like LiveKit (signature, expiry, issuer, the grant each method
needs) and answers errors in LiveKit's shapes: a bad signature or an expired token is a plain-text 401, a
missing grant a Twirp JSON ``unauthenticated``. It keeps state like the server (ingresses ``IN_…`` with
12-character keys, rooms, participants), lets a test play the outside world (an encoder starts, viewers
join), sends webhooks signed like LiveKit's, and can be made down, slow or failing per method.

The server runs on its own event loop in a thread, so synchronous tests and Django's live server can use
it at once. Every control is thread-safe.
"""

import asyncio
import base64
import collections
import copy
import hashlib
import json
import secrets
import string
import threading
import time
from collections.abc import Callable
from typing import Any

import jwt
from aiohttp import web
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from livekit.protocol import ingress as proto_ingress
from livekit.protocol import models as proto_models
from livekit.protocol import room as proto_room
from livekit.protocol import webhook as proto_webhook

from .webhooks import WebhookSender

PAGE_SIZE = 20
_ALPHABET = string.ascii_letters + string.digits

# The grant each method needs, as LiveKit checks it (room-scoped methods also need room = that room).
GRANTS: dict[str, tuple[str, bool]] = {
    "CreateIngress": ("ingressAdmin", False),
    "UpdateIngress": ("ingressAdmin", False),
    "ListIngress": ("ingressAdmin", False),
    "DeleteIngress": ("ingressAdmin", False),
    "CreateRoom": ("roomCreate", False),
    "DeleteRoom": ("roomCreate", False),
    "ListRooms": ("roomList", False),
    "ListParticipants": ("roomAdmin", True),
    "GetParticipant": ("roomAdmin", True),
    "RemoveParticipant": ("roomAdmin", True),
    "UpdateParticipant": ("roomAdmin", True),
    "SendData": ("roomAdmin", True),
}

REQUESTS: dict[str, type[Message]] = {
    "CreateIngress": proto_ingress.CreateIngressRequest,
    "UpdateIngress": proto_ingress.UpdateIngressRequest,
    "ListIngress": proto_ingress.ListIngressRequest,
    "DeleteIngress": proto_ingress.DeleteIngressRequest,
    "CreateRoom": proto_room.CreateRoomRequest,
    "DeleteRoom": proto_room.DeleteRoomRequest,
    "ListRooms": proto_room.ListRoomsRequest,
    "ListParticipants": proto_room.ListParticipantsRequest,
    "GetParticipant": proto_room.RoomParticipantIdentity,
    "RemoveParticipant": proto_room.RoomParticipantIdentity,
    "UpdateParticipant": proto_room.UpdateParticipantRequest,
    "SendData": proto_room.SendDataRequest,
}

SERVICES = {"livekit.Ingress": {m for m in GRANTS if "Ingress" in m}, "livekit.RoomService": None}


def _random_id(prefix: str, length: int = 12) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


_last_ns = 0
_clock_lock = threading.Lock()


def _now_ns() -> int:
    """Ingress state clock: strictly increasing by at least 1 ms, as a real encoder's stop and restart
    are; consumers order ingress events by it at millisecond resolution."""
    global _last_ns
    with _clock_lock:
        _last_ns = max(time.time_ns(), _last_ns + 1_000_000)
        return _last_ns


class TwirpFailure(Exception):
    def __init__(self, status: int, code: str, msg: str):
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


class StandIn:
    """One stand-in LiveKit server. ``start()`` it, point LIVEKIT_URL at ``ws_url``, ``stop()`` it."""

    def __init__(self, *, api_key: str, api_secret: str, host: str = "127.0.0.1", port: int = 0):
        self.api_key = api_key
        self.api_secret = api_secret
        self.host = host
        self.port = port
        self.slow_seconds = 10.0
        self._lock = threading.RLock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._sender = WebhookSender(self)
        self.reset()

    # --- Life cycle -----------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._runner is not None

    def start(self) -> "StandIn":
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(
                target=self._loop.run_forever, name="livekit-standin", daemon=True
            )
            self._thread.start()
        if self._runner is None:
            asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(10)
        return self

    def stop(self) -> None:
        """Stop listening: connections are refused until ``start()`` (on the same port)."""
        if self._runner is not None and self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            self._runner = None

    def close(self) -> None:
        self.stop()
        self._sender.close()
        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(_cancel_pending(), self._loop).result(5)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
            self._loop = None

    async def _serve(self) -> None:
        app = web.Application(client_max_size=2**20)
        app.router.add_post("/twirp/{service}/{method}", self._twirp)
        app.router.add_get("/rtc/v1/validate", self._validate)
        app.router.add_get("/rtc/validate", self._validate)
        app.router.add_post("/_standin/encoder", self._control_encoder)
        app.router.add_post("/_standin/participants", self._control_participants)
        app.router.add_get("/_standin/state", self._control_state)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
        await site.start()
        if not self.port:
            self.port = runner.addresses[0][1]
        self._runner = runner

    def reset(self) -> None:
        """Forget all state, faults and modes (between tests)."""
        with self._lock:
            self._ingresses: dict[str, proto_ingress.IngressInfo] = {}
            self._rooms: dict[str, proto_models.Room] = {}
            self._participants: dict[str, dict[str, proto_models.ParticipantInfo]] = {}
            self.faults: dict[str, str] = {}
            self.clock_skew = 0
            self.require_extra_grant: str | None = None
            self.calls: collections.Counter[str] = collections.Counter()
            self.recorded_tokens: list[str] = []
            self.sent_data: list[proto_room.SendDataRequest] = []
        self._sender.reset()

    # --- Faults ---------------------------------------------------------------------------------------

    def set_fault(self, method: str, mode: str) -> None:
        """``mode``: "down" (the connection drops), "slow" (answers after ``slow_seconds``), "error" (503)."""
        if mode not in ("down", "slow", "error"):
            raise ValueError(mode)
        with self._lock:
            self.faults[method] = mode

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    # --- State, read by tests -------------------------------------------------------------------------

    @property
    def ingresses(self) -> dict[str, proto_ingress.IngressInfo]:
        with self._lock:
            return {key: copy.deepcopy(value) for key, value in self._ingresses.items()}

    @property
    def rooms(self) -> dict[str, proto_models.Room]:
        with self._lock:
            return {name: self._room_view(name) for name in self._rooms}

    def participants(self, room: str) -> list[proto_models.ParticipantInfo]:
        with self._lock:
            return [copy.deepcopy(p) for p in self._participants.get(room, {}).values()]

    def _room_view(self, name: str) -> proto_models.Room:
        room = copy.deepcopy(self._rooms[name])
        people = self._participants.get(name, {}).values()
        room.num_participants = len(people)
        room.num_publishers = sum(1 for p in people if p.permission.can_publish)
        return room

    # --- The outside world, played by tests -----------------------------------------------------------

    def room_create(self, name: str, *, notify: bool = True) -> proto_models.Room:
        with self._lock:
            created = name not in self._rooms
            if created:
                now = time.time()
                self._rooms[name] = proto_models.Room(
                    sid=_random_id("RM_"),
                    name=name,
                    creation_time=int(now),
                    creation_time_ms=int(now * 1000),
                    empty_timeout=300,
                )
                self._participants[name] = {}
            room = self._room_view(name)
        if created and notify:
            self._sender.emit("room_started", room=room)
        return room

    def participant_join(
        self,
        room: str,
        identity: str,
        name: str = "",
        kind: str = "STANDARD",
        can_publish_data: bool = True,
        can_subscribe: bool = True,
        can_publish: bool = False,
        *,
        wait: bool = True,
    ) -> proto_models.ParticipantInfo:
        self.room_create(room)
        now = time.time()
        info = proto_models.ParticipantInfo(
            sid=_random_id("PA_"),
            identity=identity,
            name=name,
            state=proto_models.ParticipantInfo.State.ACTIVE,
            joined_at=int(now),
            joined_at_ms=int(now * 1000),
            kind=proto_models.ParticipantInfo.Kind.Value(kind),
            is_publisher=can_publish,
            permission=proto_models.ParticipantPermission(
                can_subscribe=can_subscribe, can_publish=can_publish, can_publish_data=can_publish_data
            ),
        )
        with self._lock:
            self._participants[room][identity] = info
            room_view = self._room_view(room)
        self._sender.emit("participant_joined", room=room_view, participant=info)
        if wait:
            self.flush()
        return copy.deepcopy(info)

    def participant_leave(self, room: str, identity: str, *, wait: bool = True) -> None:
        with self._lock:
            info = self._participants.get(room, {}).pop(identity, None)
            room_view = self._room_view(room) if room in self._rooms else None
        if info is not None:
            self._sender.emit("participant_left", room=room_view, participant=info)
        if wait:
            self.flush()

    def encoder_start(self, ingress_id: str, *, wait: bool = True) -> None:
        """OBS starts publishing to the ingress: it goes PUBLISHING and its publisher joins the room."""
        with self._lock:
            info = self._ingresses[ingress_id]
            now = _now_ns()
            info.state.status = proto_ingress.IngressState.Status.ENDPOINT_PUBLISHING
            info.state.started_at = now
            info.state.updated_at = now
            info.state.ended_at = 0
            info.state.room_id = self.room_create(info.room_name).sid
            started = copy.deepcopy(info)
        self._sender.emit("ingress_started", ingress_info=started)
        self.participant_join(
            started.room_name,
            started.participant_identity,
            started.participant_name,
            kind="INGRESS",
            can_publish=True,
            can_publish_data=False,
            wait=False,
        )
        if wait:
            self.flush()

    def encoder_stop(self, ingress_id: str, *, wait: bool = True) -> None:
        with self._lock:
            info = self._ingresses[ingress_id]
            self._end_ingress(info)
            ended = copy.deepcopy(info)
        self._ingress_ended(ended)
        if wait:
            self.flush()

    def _end_ingress(self, info: proto_ingress.IngressInfo) -> None:
        now = _now_ns()
        info.state.status = proto_ingress.IngressState.Status.ENDPOINT_INACTIVE
        info.state.ended_at = now
        info.state.updated_at = now

    def _ingress_ended(self, ended: proto_ingress.IngressInfo) -> None:
        self.participant_leave(ended.room_name, ended.participant_identity, wait=False)
        self._sender.emit("ingress_ended", ingress_info=ended)

    # --- Webhooks -------------------------------------------------------------------------------------

    site_url = property(
        lambda self: self._sender.site_url, lambda self, v: setattr(self._sender, "site_url", v)
    )
    webhook_mode = property(lambda self: self._sender.mode, lambda self, v: self._sender.set_mode(v))
    webhooks = property(lambda self: self._sender.emitted)
    sent_webhooks = property(lambda self: self._sender.sent)

    def build_webhook(self, event: str, **payload: Any) -> tuple[bytes, str]:
        return self._sender.build(event, **payload)

    def release_held(self, order: str = "fifo") -> None:
        self._sender.release_held(order)

    def flush(self) -> None:
        """Wait until every queued delivery has been posted."""
        self._sender.flush()

    # --- Auth -----------------------------------------------------------------------------------------

    def _claims(self, token: str) -> dict:
        try:
            claims = jwt.decode(
                token,
                self.api_secret,
                algorithms=["HS256"],
                issuer=self.api_key,
                options={"verify_exp": False, "verify_nbf": False, "require": ["exp", "iss"]},
            )
        except jwt.PyJWTError as error:
            raise web.HTTPUnauthorized(text=f"invalid token: {error}") from error
        now = time.time() + self.clock_skew
        if claims["exp"] < now or claims.get("nbf", 0) > now + 60:
            raise web.HTTPUnauthorized(text="invalid token: token is expired (exp)")
        return claims

    def _check_grant(self, method: str, claims: dict, request: Message) -> None:
        video = claims.get("video") or {}
        grant, room_scoped = GRANTS[method]
        if not video.get(grant):
            raise TwirpFailure(401, "unauthenticated", f"permissions denied: {grant} is required")
        if room_scoped and video.get("room") != getattr(request, "room", None):
            raise TwirpFailure(401, "unauthenticated", "permissions denied: token is for another room")
        if self.require_extra_grant and not video.get(self.require_extra_grant):
            raise TwirpFailure(
                401, "unauthenticated", f"permissions denied: {self.require_extra_grant} is required"
            )

    # --- HTTP handlers --------------------------------------------------------------------------------

    async def _twirp(self, request: web.Request) -> web.StreamResponse:
        service, method = request.match_info["service"], request.match_info["method"]
        methods = SERVICES.get(service, set())
        if method not in REQUESTS or (methods is not None and method not in methods):
            return _twirp_error(404, "bad_route", f"no handler for path /twirp/{service}/{method}")
        with self._lock:
            self.calls[method] += 1
            fault = self.faults.get(method) or self.faults.get("*")
        if fault == "down":
            # As a crashed server: the connection closes with no answer.
            request.transport.close()
            raise web.HTTPServiceUnavailable()
        if fault == "slow":
            await asyncio.sleep(self.slow_seconds)
        if fault == "error":
            return _twirp_error(503, "unavailable", "the stand-in was told to fail")

        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return web.Response(status=401, text="no authorization header")
        claims = self._claims(auth.removeprefix("Bearer "))
        body = await request.read()
        message_class = REQUESTS[method]
        try:
            if request.content_type == "application/json":
                message = json_format.Parse(body or b"{}", message_class(), ignore_unknown_fields=True)
            else:
                message = message_class.FromString(body)
        except (DecodeError, json_format.ParseError) as error:
            return _twirp_error(400, "malformed", f"could not decode the request: {error}")
        try:
            self._check_grant(method, claims, message)
            with self._lock:
                reply, after = getattr(self, f"_do_{method}")(message)
        except TwirpFailure as failure:
            return _twirp_error(failure.status, failure.code, failure.msg)
        for effect in after:
            effect()
        if request.content_type == "application/json":
            return web.Response(text=json_format.MessageToJson(reply), content_type="application/json")
        return web.Response(body=reply.SerializeToString(), content_type="application/protobuf")

    async def _validate(self, request: web.Request) -> web.Response:
        token = request.query.get("access_token", "")
        headers = {"Access-Control-Allow-Origin": "*"}
        with self._lock:
            self.recorded_tokens.append(token)
        try:
            claims = self._claims(token)
        except web.HTTPUnauthorized as refused:
            return web.Response(status=401, text=refused.text, headers=headers)
        if not (claims.get("video") or {}).get("roomJoin"):
            return web.Response(status=401, text="permissions denied: roomJoin is required", headers=headers)
        return web.Response(text="success", headers=headers)

    # --- Twirp methods (called with the lock held; return the reply and effects to run after) ---------

    def _do_CreateIngress(self, req: proto_ingress.CreateIngressRequest):
        if req.input_type == proto_ingress.IngressInput.RTMP_INPUT:
            url = "rtmp://127.0.0.1:1935/x"
        elif req.input_type == proto_ingress.IngressInput.WHIP_INPUT:
            url = "http://127.0.0.1:8080/w"
        else:
            raise TwirpFailure(400, "invalid_argument", "unsupported input type")
        info = proto_ingress.IngressInfo(
            ingress_id=_random_id("IN_"),
            stream_key=_random_id("", 12),
            url=url,
            name=req.name,
            input_type=req.input_type,
            room_name=req.room_name,
            participant_identity=req.participant_identity,
            participant_name=req.participant_name,
            participant_metadata=req.participant_metadata,
            reusable=req.input_type == proto_ingress.IngressInput.RTMP_INPUT,
            state=proto_ingress.IngressState(
                status=proto_ingress.IngressState.Status.ENDPOINT_INACTIVE, updated_at=_now_ns()
            ),
        )
        if req.HasField("enable_transcoding"):
            info.enable_transcoding = req.enable_transcoding
        self._ingresses[info.ingress_id] = info
        return copy.deepcopy(info), []

    def _do_UpdateIngress(self, req: proto_ingress.UpdateIngressRequest):
        info = self._ingress_or_404(req.ingress_id)
        for field in ("name", "room_name", "participant_identity", "participant_name"):
            if getattr(req, field):
                setattr(info, field, getattr(req, field))
        return copy.deepcopy(info), []

    def _do_ListIngress(self, req: proto_ingress.ListIngressRequest):
        items = [
            i
            for i in self._ingresses.values()
            if (not req.room_name or i.room_name == req.room_name)
            and (not req.ingress_id or i.ingress_id == req.ingress_id)
        ]
        start = int(req.page_token.token or 0) if req.HasField("page_token") else 0
        reply = proto_ingress.ListIngressResponse(
            items=[copy.deepcopy(i) for i in items[start : start + PAGE_SIZE]]
        )
        if start + PAGE_SIZE < len(items):
            reply.next_page_token.token = str(start + PAGE_SIZE)
        return reply, []

    def _do_DeleteIngress(self, req: proto_ingress.DeleteIngressRequest):
        info = self._ingress_or_404(req.ingress_id)
        del self._ingresses[req.ingress_id]
        after: list[Callable[[], None]] = []
        if info.state.status == proto_ingress.IngressState.Status.ENDPOINT_PUBLISHING:
            self._end_ingress(info)
            ended = copy.deepcopy(info)
            after.append(lambda: self._ingress_ended(ended))
        return copy.deepcopy(info), after

    def _do_CreateRoom(self, req: proto_room.CreateRoomRequest):
        created = req.name not in self._rooms
        room = self.room_create(req.name, notify=False)
        return room, [lambda: self._sender.emit("room_started", room=room)] if created else []

    def _do_DeleteRoom(self, req: proto_room.DeleteRoomRequest):
        if req.room not in self._rooms:
            raise TwirpFailure(404, "not_found", "requested room does not exist")
        room = self._room_view(req.room)
        gone = list(self._participants.pop(req.room, {}).values())
        del self._rooms[req.room]
        effects = [
            (lambda p=p: self._sender.emit("participant_left", room=room, participant=p)) for p in gone
        ]
        effects.append(lambda: self._sender.emit("room_finished", room=room))
        return proto_room.DeleteRoomResponse(), effects

    def _do_ListRooms(self, req: proto_room.ListRoomsRequest):
        names = [n for n in self._rooms if not req.names or n in req.names]
        return proto_room.ListRoomsResponse(rooms=[self._room_view(n) for n in names]), []

    def _do_ListParticipants(self, req: proto_room.ListParticipantsRequest):
        if req.room not in self._rooms:
            raise TwirpFailure(404, "not_found", "requested room does not exist")
        people = [copy.deepcopy(p) for p in self._participants[req.room].values()]
        return proto_room.ListParticipantsResponse(participants=people), []

    def _do_GetParticipant(self, req: proto_room.RoomParticipantIdentity):
        return copy.deepcopy(self._participant_or_404(req.room, req.identity)), []

    def _do_RemoveParticipant(self, req: proto_room.RoomParticipantIdentity):
        info = self._participant_or_404(req.room, req.identity)
        del self._participants[req.room][req.identity]
        room = self._room_view(req.room)
        return proto_room.RemoveParticipantResponse(), [
            lambda: self._sender.emit("participant_left", room=room, participant=info)
        ]

    def _do_UpdateParticipant(self, req: proto_room.UpdateParticipantRequest):
        info = self._participant_or_404(req.room, req.identity)
        if req.HasField("permission"):
            # Like LiveKit: the permission sent replaces the whole set; what is unset becomes False.
            info.permission.CopyFrom(req.permission)
        if req.name:
            info.name = req.name
        if req.metadata:
            info.metadata = req.metadata
        return copy.deepcopy(info), []

    def _do_SendData(self, req: proto_room.SendDataRequest):
        if req.room not in self._rooms:
            raise TwirpFailure(404, "not_found", "requested room does not exist")
        self.sent_data.append(copy.deepcopy(req))
        return proto_room.SendDataResponse(), []

    def _ingress_or_404(self, ingress_id: str) -> proto_ingress.IngressInfo:
        if ingress_id not in self._ingresses:
            raise TwirpFailure(404, "not_found", "ingress does not exist")
        return self._ingresses[ingress_id]

    def _participant_or_404(self, room: str, identity: str) -> proto_models.ParticipantInfo:
        if room not in self._rooms:
            raise TwirpFailure(404, "not_found", "requested room does not exist")
        if identity not in self._participants[room]:
            raise TwirpFailure(404, "not_found", "participant does not exist")
        return self._participants[room][identity]

    # --- Control API, for another process (simulate_stream) -------------------------------------------

    async def _control_encoder(self, request: web.Request) -> web.Response:
        data = await request.json()
        with self._lock:
            matches = [
                i.ingress_id
                for i in self._ingresses.values()
                if i.ingress_id == data.get("ingressId") or (data.get("room") and i.room_name == data["room"])
            ]
        if not matches:
            return web.json_response({"detail": "no such ingress"}, status=404)
        action = self.encoder_start if data.get("action") == "start" else self.encoder_stop
        loop = asyncio.get_running_loop()
        for ingress_id in matches:
            await loop.run_in_executor(None, action, ingress_id)
        return web.json_response({"ingresses": matches})

    async def _control_participants(self, request: web.Request) -> web.Response:
        data = await request.json()
        loop = asyncio.get_running_loop()
        if data.get("action") == "leave":
            await loop.run_in_executor(None, self.participant_leave, data["room"], data["identity"])
        else:
            await loop.run_in_executor(
                None, lambda: self.participant_join(data["room"], data["identity"], data.get("name", ""))
            )
        return web.json_response({"participants": len(self.participants(data["room"]))})

    async def _control_state(self, request: web.Request) -> web.Response:
        with self._lock:
            state = {
                "ingresses": [
                    {
                        "ingressId": i.ingress_id,
                        "room": i.room_name,
                        "status": proto_ingress.IngressState.Status.Name(i.state.status),
                    }
                    for i in self._ingresses.values()
                ],
                "rooms": {
                    name: [p.identity for p in self._participants.get(name, {}).values()]
                    for name in self._rooms
                },
            }
        return web.json_response(state)


async def _cancel_pending() -> None:
    # A "slow" handler may still be sleeping: end it rather than leave it to die with the loop.
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _twirp_error(status: int, code: str, msg: str) -> web.Response:
    return web.json_response({"code": code, "msg": msg}, status=status)


def sign_webhook(
    body: bytes, *, api_key: str, api_secret: str, valid_for: int = 300, clock_skew: int = 0
) -> str:
    """The Authorization value LiveKit sends: a raw JWT (no "Bearer") carrying the body's SHA-256."""
    now = int(time.time()) + clock_skew
    claims = {
        "iss": api_key,
        "nbf": now,
        "exp": now + valid_for,
        "sha256": base64.b64encode(hashlib.sha256(body).digest()).decode(),
        "video": {},
    }
    return jwt.encode(claims, api_secret, algorithm="HS256")


def event_body(event: proto_webhook.WebhookEvent) -> bytes:
    # LiveKit's protojson: camelCase names, int64 as strings.
    return json.dumps(json_format.MessageToDict(event), separators=(",", ":")).encode()


__all__ = ["StandIn", "event_body", "sign_webhook"]
