"""A stand-in LiveKit server for tests and development: LiveKit's API, signalling and data, in one process.

It answers the Twirp methods (``twirp.py``) with the real protobuf messages, checks JWTs like LiveKit
(``auth.py``), lets the real livekit-client (and LiveKit's other SDKs) join rooms over ``/rtc/v1`` with
a WebRTC peer connection and exchange data (``rtc.py``, ``media.py``), keeps rooms, participants and
ingresses in one state (``state.py``), lets a test play the outside world (an encoder starts, viewers join
without a browser), sends webhooks signed like LiveKit's (``webhooks.py``), and can be made down, slow or
failing per method.

The server runs on its own event loop in a thread, so synchronous tests and Django's live server can use
it at once. Every control is thread-safe.
"""

import asyncio
import base64
import collections
import contextlib
import copy
import functools
import hashlib
import json
import threading
import time
from typing import Any

import av
import jwt
from aiohttp import web
from google.protobuf import json_format
from livekit.protocol import ingress as proto_ingress
from livekit.protocol import models as proto_models
from livekit.protocol import room as proto_room
from livekit.protocol import webhook as proto_webhook

from . import auth, media, rtc, twirp
from .state import Reason, State, now_ns, random_id
from .webhooks import WebhookSender


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
        self.state = State(self._sender.emit)
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
        self.state.reset()  # connected clients are told SERVER_SHUTDOWN, as at a real server's stop
        self.stop()
        self._sender.close()
        if self._loop is not None:
            with contextlib.suppress(TimeoutError):
                asyncio.run_coroutine_threadsafe(_cancel_pending(), self._loop).result(5)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
            self._loop = None

    async def _serve(self) -> None:
        app = web.Application(client_max_size=2**20)
        app.router.add_post("/twirp/{service}/{method}", functools.partial(twirp.handle, self))
        app.router.add_get("/rtc/v1/validate", self._validate)
        app.router.add_get("/rtc/validate", self._validate)
        app.router.add_get("/rtc/v1", functools.partial(rtc.handle, self))
        app.router.add_get("/rtc", functools.partial(rtc.handle, self))
        app.router.add_post("/_standin/encoder", self._control_encoder)
        app.router.add_post("/_standin/participants", self._control_participants)
        app.router.add_get("/_standin/state", self._control_state)
        media.use_loopback(self.host)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
        await site.start()
        if not self.port:
            self.port = runner.addresses[0][1]
        self._runner = runner

    def reset(self) -> None:
        """Forget all state, faults and modes (between tests); connected clients are sent away."""
        self.state.reset()
        with self._lock:
            self.faults: dict[str, str] = {}
            self.slow_seconds = 10.0  # a test that shortened it must not make the next one's "slow" fast
            self.clock_skew = 0
            self.require_extra_grant: str | None = None
            self.calls: collections.Counter[str] = collections.Counter()
            self.recorded_tokens: list[str] = []
            self.signal_paths: list[str] = []  # /rtc or /rtc/v1, per signalling connection
            self.sent_data: list[proto_room.SendDataRequest] = []
            old = [p for room in getattr(self, "publishers", {}).values() for p in room.values()]
            self.publishers: dict[str, dict[str, media.Publisher]] = {}  # room → identity → encoder
            self.relayed_data: list[proto_models.DataPacket] = []  # as the recipients got them
            self.refused_data: list[tuple[str, proto_models.DataPacket]] = []  # (identity, packet)
        for publisher in old:
            self._on_loop(publisher.stop)
        self._sender.reset()

    def _on_loop(self, callback) -> None:
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(callback)

    def publishers_in(self, room: str) -> list["media.Publisher"]:
        with self._lock:
            return list(self.publishers.get(room, {}).values())

    def _media_changed(self, room: str) -> None:
        for _, session in self.state.connected(room):
            session.media_changed()

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
        with self.state.lock:
            return {key: copy.deepcopy(value) for key, value in self.state.ingresses.items()}

    @property
    def rooms(self) -> dict[str, proto_models.Room]:
        with self.state.lock:
            return {name: self.state.room_view(name) for name in self.state.rooms}

    def participants(self, room: str) -> list[proto_models.ParticipantInfo]:
        with self.state.lock:
            return [copy.deepcopy(p) for p in self.state.participants.get(room, {}).values()]

    # --- The outside world, played by tests -----------------------------------------------------------

    def room_create(self, name: str, *, notify: bool = True) -> proto_models.Room:
        return self.state.room_create(name, notify=notify)

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
        tracks: list[proto_models.TrackInfo] | None = None,
    ) -> proto_models.ParticipantInfo:
        """A participant with no connection (a viewer the test plays): connected clients see it join."""
        now = time.time()
        info = proto_models.ParticipantInfo(
            sid=random_id("PA_"),
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
            tracks=tracks or [],
        )
        joined = self.state.participant_join(room, info)
        if wait:
            self.flush()
        return joined

    def participant_leave(self, room: str, identity: str, *, wait: bool = True) -> None:
        self.state.participant_leave(room, identity, reason=Reason.CLIENT_INITIATED)
        if wait:
            self.flush()

    def encoder_start(self, ingress_id: str, *, wait: bool = True, file: str | None = None) -> None:
        """OBS starts publishing to the ingress: it goes PUBLISHING and its publisher joins the room,
        publishing the test pattern (or ``file``, a local video played in a loop) and a soft tone."""
        # An unreadable file fails here, before anything changes.
        video = media.FileVideo(file, file) if file else None
        with self.state.lock:
            info = self.state.ingress(ingress_id)
            now = now_ns()
            info.state.status = proto_ingress.IngressState.Status.ENDPOINT_PUBLISHING
            info.state.started_at = now
            info.state.updated_at = now
            info.state.ended_at = 0
            info.state.room_id = self.state.room_create(info.room_name).sid
            started = copy.deepcopy(info)
        self._sender.emit("ingress_started", ingress_info=started)
        # The encoder's video and audio, as LiveKit's ingress publishes them (camera and microphone).
        tracks = [
            proto_models.TrackInfo(
                sid=random_id("TR_"),
                type=proto_models.TrackType.VIDEO,
                source=proto_models.TrackSource.CAMERA,
                name="video",
                mime_type="video/VP8",
                width=media.WIDTH,
                height=media.HEIGHT,
            ),
            proto_models.TrackInfo(
                sid=random_id("TR_"),
                type=proto_models.TrackType.AUDIO,
                source=proto_models.TrackSource.MICROPHONE,
                name="audio",
                mime_type="audio/opus",
            ),
        ]
        joined = self.participant_join(
            started.room_name,
            started.participant_identity,
            started.participant_name,
            kind="INGRESS",
            can_publish=True,
            can_publish_data=False,
            wait=False,
            tracks=tracks,
        )
        publisher = media.Publisher(
            sid=joined.sid,
            identity=joined.identity,
            tracks=list(joined.tracks),
            video=video or media.PatternVideo(started.participant_name or started.participant_identity),
        )
        with self._lock:
            self.publishers.setdefault(started.room_name, {})[joined.identity] = publisher
        room = self.state.room_view(started.room_name)
        for track in joined.tracks:
            self._sender.emit("track_published", room=room, participant=joined, track=track)
        self._media_changed(started.room_name)
        if wait:
            self.flush()

    def encoder_stop(self, ingress_id: str, *, wait: bool = True) -> None:
        with self.state.lock:
            info = self.state.ingress(ingress_id)
            self.state.ingress_end(info)
            ended = copy.deepcopy(info)
        self.ingress_ended(ended)
        if wait:
            self.flush()

    def ingress_ended(self, ended: proto_ingress.IngressInfo) -> None:
        with self._lock:
            publisher = self.publishers.get(ended.room_name, {}).pop(ended.participant_identity, None)
        if publisher is not None:
            with self.state.lock:
                info = copy.deepcopy(self.state.participants.get(ended.room_name, {}).get(publisher.identity))
            if info is not None:
                room = self.state.room_view(ended.room_name)
                for track in info.tracks:
                    self._sender.emit("track_unpublished", room=room, participant=info, track=track)
        self.state.participant_leave(
            ended.room_name, ended.participant_identity, reason=Reason.CLIENT_INITIATED
        )
        if publisher is not None:
            self._on_loop(publisher.stop)
            self._media_changed(ended.room_name)
        self._sender.emit("ingress_ended", ingress_info=ended)

    # --- Data -----------------------------------------------------------------------------------------

    def relay(self, room: str, packet: proto_models.DataPacket, *, sender_sid: str) -> None:
        """On the event loop: one data packet to every other connected participant of the room (or only to
        its destination identities), on the channel of its kind, as LiveKit's BroadcastDataPacketForRoom."""
        destinations = set(packet.destination_identities)
        label = rtc.RELIABLE if packet.kind == proto_models.DataPacket.RELIABLE else rtc.LOSSY
        data = packet.SerializeToString()
        with self._lock:
            self.relayed_data.append(copy.deepcopy(packet))
        for info, session in self.state.connected(room, but=sender_sid):
            if not destinations or info.identity in destinations:
                session.send_data(label, data)

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

    # --- HTTP handlers --------------------------------------------------------------------------------

    async def _validate(self, request: web.Request) -> web.Response:
        token = request.query.get("access_token", "")
        headers = {"Access-Control-Allow-Origin": "*"}
        with self._lock:
            self.recorded_tokens.append(token)
        try:
            claims = auth.verify(
                token, api_key=self.api_key, api_secret=self.api_secret, clock_skew=self.clock_skew
            )
            auth.join_grant(claims)
        except auth.Refused as refused:
            return web.Response(status=refused.status, text=refused.text, headers=headers)
        return web.Response(text="success", headers=headers)

    # --- Control API, for another process (simulate_stream) -------------------------------------------

    async def _control_encoder(self, request: web.Request) -> web.Response:
        data = await request.json()
        with self.state.lock:
            matches = [
                i.ingress_id
                for i in self.state.ingresses.values()
                if i.ingress_id == data.get("ingressId") or (data.get("room") and i.room_name == data["room"])
            ]
        if not matches:
            return web.json_response({"detail": "no such ingress"}, status=404)
        if data.get("action") == "start":
            action = functools.partial(self.encoder_start, file=data.get("file") or None)
        else:
            action = self.encoder_stop
        loop = asyncio.get_running_loop()
        try:
            for ingress_id in matches:
                await loop.run_in_executor(None, action, ingress_id)
        except (OSError, ValueError, av.error.FFmpegError) as error:
            return web.json_response({"detail": f"cannot play that file: {error}"}, status=400)
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
        with self.state.lock:
            state = {
                "ingresses": [
                    {
                        "ingressId": i.ingress_id,
                        "room": i.room_name,
                        "status": proto_ingress.IngressState.Status.Name(i.state.status),
                    }
                    for i in self.state.ingresses.values()
                ],
                "rooms": {
                    name: [p.identity for p in self.state.participants.get(name, {}).values()]
                    for name in self.state.rooms
                },
            }
        return web.json_response(state)


async def _cancel_pending() -> None:
    # A "slow" handler may still be sleeping: end it rather than leave it to die with the loop.
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


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
