"""``/rtc/v1`` and ``/rtc``: LiveKit's signalling over a WebSocket (binary ``SignalRequest``/
``SignalResponse``) and WebRTC peer connections, as LiveKit runs them (``pkg/service/rtcservice.go``,
``pkg/rtc/participant.go``). On ``/rtc/v1`` (livekit-client 2.x's default) there is one peer connection and
the client sends every offer; on ``/rtc`` (older clients, the Rust/Python SDK's default) the server offers a
subscriber connection that carries data to the client, and answers the client's publisher connection.

Join order as ``roommanager.go StartSession``: the token is checked before the upgrade (a refusal is a
plain-text 401, which livekit-client reads through ``/validate``), a second session of the same identity
evicts the first with ``DUPLICATE_IDENTITY``, the JoinResponse is the first message, the others hear of
the joiner, and the publisher offer sent with the join is answered. Data packets are relayed with the
sender's identity and sid stamped by the server, and dropped when it may not publish data.
"""

import asyncio
import base64
import contextlib
import gzip
import json
import logging
import time
from typing import TYPE_CHECKING

from aiohttp import WSMsgType, web
from aiortc import RTCDataChannel, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from google.protobuf.message import DecodeError
from livekit.protocol import models as proto_models
from livekit.protocol import rtc as proto_rtc

from . import media
from .auth import Refused, join_grant, verify
from .state import Reason, random_id

if TYPE_CHECKING:
    from .server import StandIn

log = logging.getLogger(__name__)

SERVER_VERSION = "1.13.5"
PROTOCOL = 17
PING_INTERVAL, PING_TIMEOUT = 5, 15  # seconds, as LiveKit's participant.go
LEAVE_GRACE = 0.2  # seconds between a LeaveRequest and the close, so the client reads it first
RELIABLE, LOSSY = "_reliable", "_lossy"
KINDS = {
    "": proto_models.ParticipantInfo.STANDARD,
    "standard": proto_models.ParticipantInfo.STANDARD,
    "ingress": proto_models.ParticipantInfo.INGRESS,
    "egress": proto_models.ParticipantInfo.EGRESS,
    "sip": proto_models.ParticipantInfo.SIP,
    "agent": proto_models.ParticipantInfo.AGENT,
}


def _now_ms() -> int:
    return int(time.time() * 1000)


def join_request(query: str) -> proto_rtc.JoinRequest:
    """``join_request`` = base64url(WrappedJoinRequest), its inner JoinRequest gzipped when it says so."""
    raw = base64.urlsafe_b64decode(query + "=" * (-len(query) % 4))
    wrapped = proto_rtc.WrappedJoinRequest.FromString(raw)
    inner = wrapped.join_request
    if wrapped.compression == proto_rtc.WrappedJoinRequest.GZIP:
        inner = gzip.decompress(inner)
    return proto_rtc.JoinRequest.FromString(inner)


def v0_join_request(query) -> proto_rtc.JoinRequest:
    """The older ``/rtc`` path carries the join as query parameters (livekit-client's
    ``createConnectionParams``, the Rust SDK's equivalent)."""
    join = proto_rtc.JoinRequest(
        reconnect=query.get("reconnect") in ("1", "true"), participant_sid=query.get("sid", "")
    )
    join.client_info.version = query.get("version", "")
    join.client_info.protocol = int(query.get("protocol") or 0)
    join.client_info.client_protocol = int(query.get("client_protocol") or 0)
    return join


def permission_from(video: dict) -> proto_models.ParticipantPermission:
    # LiveKit: an absent canPublish / canSubscribe / canPublishData means allowed.
    return proto_models.ParticipantPermission(
        can_subscribe=video.get("canSubscribe", True),
        can_publish=video.get("canPublish", True),
        can_publish_data=video.get("canPublishData", True),
        hidden=video.get("hidden", False),
        can_update_metadata=video.get("canUpdateOwnMetadata", False),
    )


async def handle(srv: "StandIn", request: web.Request) -> web.StreamResponse:
    if request.headers.get("Upgrade", "").lower() != "websocket":
        raise web.HTTPNotFound()
    auth = request.headers.get("Authorization", "")
    token = (
        auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else request.query.get("access_token", "")
    )
    with srv._lock:
        srv.recorded_tokens.append(token)
        srv.signal_paths.append(request.path)
    try:
        claims = verify(token, api_key=srv.api_key, api_secret=srv.api_secret, clock_skew=srv.clock_skew)
        identity, video = join_grant(claims)
    except Refused as refused:
        return web.Response(status=refused.status, text=refused.text)
    single_pc = request.path.rstrip("/").endswith("/v1")
    try:
        join = join_request(request.query["join_request"]) if single_pc else v0_join_request(request.query)
    except (KeyError, ValueError, DecodeError, OSError) as error:
        return web.Response(status=400, text=f"invalid join request: {error}")

    ws = web.WebSocketResponse(max_msg_size=2**20)
    await ws.prepare(request)
    if join.reconnect:
        # A resume of a session the stand-in no longer has: LiveKit answers only this, and the client
        # then joins from scratch.
        leave = proto_rtc.LeaveRequest(reason=Reason.STATE_MISMATCH, action=proto_rtc.LeaveRequest.RECONNECT)
        await ws.send_bytes(proto_rtc.SignalResponse(leave=leave).SerializeToString())
        await ws.close()
        return ws

    now = time.time()
    info = proto_models.ParticipantInfo(
        sid=random_id("PA_"),
        identity=identity,
        name=claims.get("name", ""),
        metadata=claims.get("metadata", ""),
        attributes=claims.get("attributes") or {},
        state=proto_models.ParticipantInfo.JOINED,
        joined_at=int(now),
        joined_at_ms=int(now * 1000),
        version=1,
        kind=KINDS.get(str(claims.get("kind", "")).lower(), proto_models.ParticipantInfo.STANDARD),
        permission=permission_from(video),
        client_protocol=join.client_info.client_protocol,
        capabilities=join.client_info.capabilities,
    )
    session = Session(srv, ws, video["room"], info, single_pc=single_pc)
    await session.run(join)
    return ws


class Session:
    """One connected participant: its WebSocket, its peer connection and its data channels."""

    def __init__(
        self,
        srv: "StandIn",
        ws: web.WebSocketResponse,
        room: str,
        info: proto_models.ParticipantInfo,
        *,
        single_pc: bool = True,
    ):
        self.srv, self.ws, self.room = srv, ws, room
        self.sid, self.identity = info.sid, info.identity
        self.info = info
        self.loop = asyncio.get_running_loop()
        self.outbox: asyncio.Queue = asyncio.Queue()
        self.single_pc = single_pc
        # /rtc/v1: one PC, the client offers. /rtc: the server offers a subscriber PC (data to the client
        # goes there) and answers the client's publisher PC (data from the client arrives there).
        self.publisher: RTCPeerConnection | None = None
        self.subscriber: RTCPeerConnection | None = None
        self.offer_id = 0
        self.answered = asyncio.Event()  # /rtc: the client answered our last offer
        self.channels: dict[str, RTCDataChannel] = {}  # where data to this client goes, by label
        self.attached: dict[str, RTCRtpSender] = {}  # track sid → the sender carrying it here
        self.waiting: list[bytes] = []  # reliable packets for a channel that is not open yet
        self.last_sequence = 0
        self.gone = False

    # --- Called by the state, from any thread --------------------------------------------------------

    def send(self, response: proto_rtc.SignalResponse) -> None:
        self.loop.call_soon_threadsafe(self.outbox.put_nowait, response)

    def leave(self, reason: int) -> None:
        self.loop.call_soon_threadsafe(self.outbox.put_nowait, reason)

    def media_changed(self) -> None:
        """A publisher joined or left the room: subscribe to its tracks, or let go of them."""
        self.loop.call_soon_threadsafe(lambda: self.loop.create_task(self._media_changed()))

    # --- Life ----------------------------------------------------------------------------------------

    async def run(self, join: proto_rtc.JoinRequest) -> None:
        writer = asyncio.create_task(self._write())
        state = self.srv.state
        try:
            state.participant_join(self.room, self.info, self, greet=self._greet)
            if join.HasField("publisher_offer"):
                await self._answer(join.publisher_offer)
            if not self.single_pc:
                await self._offer_subscriber()
            async for message in self.ws:
                if message.type != WSMsgType.BINARY:
                    continue
                try:
                    request = proto_rtc.SignalRequest.FromString(message.data)
                except DecodeError:
                    continue
                if not await self._on_request(request):
                    break
        except Exception:
            log.exception("stand-in session %s failed", self.sid)
        finally:
            # Gone without a word from the server: the client left (or its connection dropped).
            state.participant_leave(self.room, self.identity, reason=self._reason_gone(), sid=self.sid)
            self.gone = True
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            with contextlib.suppress(Exception):
                for pc in (self.publisher, self.subscriber):
                    if pc is not None:
                        await asyncio.wait_for(pc.close(), 2)
                await self.ws.close()

    def _reason_gone(self) -> int:
        return getattr(self, "_client_reason", Reason.SIGNAL_CLOSE)

    def _greet(self, others: list[proto_models.ParticipantInfo]) -> None:
        room = self.srv.state.room_view(self.room)
        response = proto_rtc.JoinResponse(
            room=room,
            participant=self.info,
            other_participants=others,
            server_version=SERVER_VERSION,
            server_info=proto_models.ServerInfo(
                edition=proto_models.ServerInfo.Standard, version=SERVER_VERSION, protocol=PROTOCOL
            ),
            # GO: subscriber primary only with two PCs; on /rtc/v1 the one PC is the publisher.
            subscriber_primary=not self.single_pc,
            ping_interval=PING_INTERVAL,
            ping_timeout=PING_TIMEOUT,
        )
        self.outbox.put_nowait(proto_rtc.SignalResponse(join=response))

    async def _write(self) -> None:
        while True:
            item = await self.outbox.get()
            if isinstance(item, int):
                leave = proto_rtc.LeaveRequest(reason=item, action=proto_rtc.LeaveRequest.DISCONNECT)
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await self.ws.send_bytes(proto_rtc.SignalResponse(leave=leave).SerializeToString())
                await asyncio.sleep(LEAVE_GRACE)
                await self.ws.close()
                return
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.ws.send_bytes(item.SerializeToString())

    async def _on_request(self, request: proto_rtc.SignalRequest) -> bool:
        which = request.WhichOneof("message")
        if which == "offer":
            await self._answer(request.offer)
        elif which == "answer" and self.subscriber is not None:
            await self.subscriber.setRemoteDescription(
                RTCSessionDescription(sdp=request.answer.sdp, type="answer")
            )
            self.answered.set()  # a re-offer may go now
        elif which == "trickle":
            await self._trickle(request.trickle)
        elif which == "ping":
            self.send(proto_rtc.SignalResponse(pong=_now_ms()))
        elif which == "ping_req":
            pong = proto_rtc.Pong(last_ping_timestamp=request.ping_req.timestamp, timestamp=_now_ms())
            self.send(proto_rtc.SignalResponse(pong_resp=pong))
        elif which == "leave":
            self._client_reason = Reason.CLIENT_INITIATED
            return False
        # Other requests (subscription permissions, layers, track settings) change nothing here.
        return True

    # --- Peer connection -----------------------------------------------------------------------------

    def _new_pc(self, *, primary: bool) -> RTCPeerConnection:
        pc = media.peer_connection()
        pc.on("datachannel", self._on_channel)
        if primary:  # the participant is ACTIVE once its primary PC connects, as in LiveKit
            pc.on("connectionstatechange", lambda: self._on_connection_state(pc))
        return pc

    async def _answer(self, offer: proto_rtc.SessionDescription) -> None:
        if self.publisher is None:
            self.publisher = self._new_pc(primary=self.single_pc)
        pc = self.publisher
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer.sdp, type="offer"))
        if self.single_pc:
            # Tracks go on the offer's free recvonly sections, attached before the answer (LiveKit's
            # downtracks on the one PC); the answer narrows those sections to sendonly.
            self._attach_media(pc)
        await pc.setLocalDescription(await pc.createAnswer())
        # The answer must echo the offer's id, or livekit-client drops it as an answer to an old offer.
        answer = proto_rtc.SessionDescription(
            type="answer", sdp=pc.localDescription.sdp, id=offer.id, mid_to_track_id=self._mids(pc)
        )
        self.send(proto_rtc.SignalResponse(answer=answer))

    async def _offer_subscriber(self) -> None:
        """/rtc: the server's PC towards the client, with the data channels LiveKit creates on it
        (``transportmanager.go createDataChannelsForSubscriber``), offered right after the join."""
        self.subscriber = pc = self._new_pc(primary=True)
        # Media first: with MAX_BUNDLE aiortc bundles later sections onto the first transceiver's
        # transport, but a data channel created first keeps a transport of its own, which the answer closes.
        self._attach_media(pc)
        for label, options in (
            (RELIABLE, {"ordered": True}),
            (LOSSY, {"ordered": False, "maxRetransmits": 0}),
        ):
            channel = pc.createDataChannel(label, **options)
            self.channels[label] = channel
            channel.on("open", self._flush)
        await self._offer()

    async def _offer(self) -> None:
        pc = self.subscriber
        self._attach_media(pc)
        self.answered.clear()
        await pc.setLocalDescription(await pc.createOffer())
        self.offer_id += 1
        offer = proto_rtc.SessionDescription(
            type="offer", sdp=pc.localDescription.sdp, id=self.offer_id, mid_to_track_id=self._mids(pc)
        )
        self.send(proto_rtc.SignalResponse(offer=offer))

    # --- Media from the room's publishers (the simulated encoders) -----------------------------------

    def _detach_gone(self) -> None:
        live = {info.sid for publisher in self.srv.publishers_in(self.room) for info in publisher.tracks}
        for sid in [sid for sid in self.attached if sid not in live]:  # its publisher left
            sender = self.attached.pop(sid)
            if sender.track is not None:
                sender.track.stop()
            sender.replaceTrack(None)  # frees the section for a later track

    def _unattached(self) -> bool:
        return any(
            info.sid not in self.attached
            for publisher in self.srv.publishers_in(self.room)
            for info in publisher.tracks
        )

    def _attach_media(self, pc: RTCPeerConnection) -> None:
        self._detach_gone()
        if not self.info.permission.can_subscribe:
            return
        for publisher in self.srv.publishers_in(self.room):
            for info in publisher.tracks:
                kind = "video" if info.type == proto_models.TrackType.VIDEO else "audio"
                if info.sid in self.attached or not self._free_section(pc, kind):
                    continue
                sender = pc.addTrack(publisher.subscribe(kind))
                # The msid livekit-client matches a track with its publication by: "<PA_…>|<TR_…>".
                sender._stream_id = f"{publisher.sid}|{info.sid}"
                sender._track_id = info.sid
                self.attached[info.sid] = sender

    def _free_section(self, pc: RTCPeerConnection, kind: str) -> bool:
        if pc is self.subscriber:
            return True  # the offerer adds sections as it needs them
        # The answerer can only use the client's sections (aiortc's addTrack reuses one with no track).
        return any(t.kind == kind and t.sender.track is None for t in pc.getTransceivers())

    def _mids(self, pc: RTCPeerConnection) -> dict[str, str]:
        senders = {id(sender): sid for sid, sender in self.attached.items()}
        return {
            t.mid: senders[id(t.sender)] for t in pc.getTransceivers() if t.mid and id(t.sender) in senders
        }

    async def _media_changed(self) -> None:
        if self.gone:
            return
        self._detach_gone()  # a publisher that left stops at once, no renegotiation needed
        if not self._unattached() or not self.info.permission.can_subscribe:
            return
        if self.single_pc:
            if self.publisher is None:
                return
            # Only the client offers on /rtc/v1: ask it to (LiveKit's MediaSectionsRequirement, sent when
            # a downtrack needs a section); the new offer's answer carries the tracks.
            requirement = proto_rtc.MediaSectionsRequirement(num_audios=1, num_videos=1)
            self.send(proto_rtc.SignalResponse(media_sections_requirement=requirement))
        elif self.subscriber is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.answered.wait(), 10)
            await self._offer()

    async def _trickle(self, trickle: proto_rtc.TrickleRequest) -> None:
        subscriber = trickle.target == proto_rtc.SignalTarget.SUBSCRIBER
        pc = self.subscriber if subscriber else self.publisher
        if pc is None:
            return
        try:
            candidate = media.ice_candidate(json.loads(trickle.candidateInit or "{}"))
        except (ValueError, IndexError, KeyError):
            return
        if candidate is not None:
            with contextlib.suppress(Exception):  # a candidate aiortc cannot use is not fatal
                await pc.addIceCandidate(candidate)

    def _on_connection_state(self, pc: RTCPeerConnection) -> None:
        if pc.connectionState == "connected":
            self.srv.state.participant_active(self.room, self.sid)

    def _on_channel(self, channel: RTCDataChannel) -> None:
        """A data channel the client opened: what it sends arrives here (and on /rtc/v1, what it is sent
        goes back on the same channels)."""
        channel.on("message", lambda message: self._on_data(channel.label, message))
        if self.single_pc:
            self.channels[channel.label] = channel
            self._flush()

    def _flush(self) -> None:
        waiting, self.waiting = self.waiting, []
        for data in waiting:
            self.send_data(RELIABLE, data)

    # --- Data ----------------------------------------------------------------------------------------

    def _on_data(self, label: str, message: bytes | str) -> None:
        if label not in (RELIABLE, LOSSY) or not isinstance(message, bytes):
            return
        info = self.srv.state.by_sid(self.room, self.sid)
        try:
            packet = proto_models.DataPacket.FromString(message)
        except DecodeError:
            return
        if info is None or not info.permission.can_publish_data:
            with self.srv._lock:
                self.srv.refused_data.append((self.identity, packet))
            return
        if label == RELIABLE and packet.sequence > 0:
            if packet.sequence <= self.last_sequence:
                return
            self.last_sequence = packet.sequence
        packet.kind = proto_models.DataPacket.RELIABLE if label == RELIABLE else proto_models.DataPacket.LOSSY
        packet.participant_sid = self.sid
        packet.participant_identity = self.identity  # stamped by the server: a client cannot pose as another
        if packet.HasField("user"):
            packet.user.participant_sid = self.sid
            packet.user.participant_identity = self.identity
            if not packet.destination_identities and packet.user.destination_identities:
                packet.destination_identities.extend(packet.user.destination_identities)
        self.srv.relay(self.room, packet, sender_sid=self.sid)

    def send_data(self, label: str, data: bytes) -> None:
        """On the event loop: one relayed packet, on the channel of its kind (reliable ones wait for it)."""
        channel = self.channels.get(label)
        if channel is not None and channel.readyState == "open":
            channel.send(data)
        elif label == RELIABLE and not self.gone:
            self.waiting.append(data)
