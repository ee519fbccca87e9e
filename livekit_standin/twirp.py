"""LiveKit's server API (Twirp: ``POST /twirp/livekit.<Service>/<Method>``, protobuf or JSON bodies), as
``pkg/service/roomservice.go`` and ``ingress.go`` answer it: the grant each method needs, the errors in
Twirp's JSON shape with ``Content-Type: application/json`` exactly, and every RoomService method the SDKs
offer either working or answering as LiveKit does. The methods change ``state``; connected clients see
the change through it.
"""

import asyncio
import copy
import json
from typing import TYPE_CHECKING

from aiohttp import web
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from livekit.protocol import ingress as proto_ingress
from livekit.protocol import models as proto_models
from livekit.protocol import room as proto_room

from .auth import Refused, verify
from .state import NotFound, Reason, now_ns, random_id

if TYPE_CHECKING:
    from .server import StandIn

PAGE_SIZE = 20

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
    "MutePublishedTrack": ("roomAdmin", True),
    "UpdateSubscriptions": ("roomAdmin", True),
    "UpdateRoomMetadata": ("roomAdmin", True),
    "SendData": ("roomAdmin", True),
    "ForwardParticipant": ("roomAdmin", True),
    "MoveParticipant": ("roomAdmin", True),
    "PerformRpc": ("roomAdmin", True),
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
    "MutePublishedTrack": proto_room.MuteRoomTrackRequest,
    "UpdateSubscriptions": proto_room.UpdateSubscriptionsRequest,
    "UpdateRoomMetadata": proto_room.UpdateRoomMetadataRequest,
    "SendData": proto_room.SendDataRequest,
    "ForwardParticipant": proto_room.ForwardParticipantRequest,
    "MoveParticipant": proto_room.MoveParticipantRequest,
    "PerformRpc": proto_room.PerformRpcRequest,
}

SERVICES = {"livekit.Ingress": {m for m in GRANTS if "Ingress" in m}, "livekit.RoomService": None}


class TwirpFailure(Exception):
    def __init__(self, status: int, code: str, msg: str):
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


def twirp_error(status: int, code: str, msg: str) -> web.Response:
    # Exactly "application/json": other SDKs (Go's twirp client) check the header before reading the code.
    return web.Response(
        status=status, body=json.dumps({"code": code, "msg": msg}).encode(), content_type="application/json"
    )


def check_grant(srv: "StandIn", method: str, claims: dict, request: Message) -> None:
    video = claims.get("video") or {}
    grant, room_scoped = GRANTS[method]
    if not video.get(grant):
        raise TwirpFailure(401, "unauthenticated", f"permissions denied: {grant} is required")
    if room_scoped and video.get("room") != getattr(request, "room", None):
        raise TwirpFailure(401, "unauthenticated", "permissions denied: token is for another room")
    destination = getattr(request, "destination_room", None)
    if destination and video.get("destinationRoom") != destination:
        raise TwirpFailure(401, "unauthenticated", "permissions denied: destinationRoom is required")
    if srv.require_extra_grant and not video.get(srv.require_extra_grant):
        needed = srv.require_extra_grant
        raise TwirpFailure(401, "unauthenticated", f"permissions denied: {needed} is required")


async def handle(srv: "StandIn", request: web.Request) -> web.StreamResponse:
    service, method = request.match_info["service"], request.match_info["method"]
    methods = SERVICES.get(service, set())
    if method not in REQUESTS or (methods is not None and method not in methods):
        return twirp_error(404, "bad_route", f"no handler for path /twirp/{service}/{method}")
    with srv._lock:
        srv.calls[method] += 1
        fault = srv.faults.get(method) or srv.faults.get("*")
    if fault == "down":
        # As a crashed server: the connection closes with no answer.
        request.transport.close()
        raise web.HTTPServiceUnavailable()
    if fault == "slow":
        await asyncio.sleep(srv.slow_seconds)
    if fault == "error":
        return twirp_error(503, "unavailable", "the stand-in was told to fail")

    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer "):
        return web.Response(status=401, text="no authorization header")
    try:
        claims = verify(
            auth.removeprefix("Bearer "),
            api_key=srv.api_key,
            api_secret=srv.api_secret,
            clock_skew=srv.clock_skew,
        )
    except Refused as refused:
        return web.Response(status=refused.status, text=refused.text)
    body = await request.read()
    as_json = request.content_type == "application/json"
    try:
        if as_json:
            message = json_format.Parse(body or b"{}", REQUESTS[method](), ignore_unknown_fields=True)
        else:
            message = REQUESTS[method].FromString(body)
    except (DecodeError, json_format.ParseError) as error:
        return twirp_error(400, "malformed", f"could not decode the request: {error}")
    try:
        check_grant(srv, method, claims, message)
        reply = METHODS[method](srv, message)
    except TwirpFailure as failure:
        return twirp_error(failure.status, failure.code, failure.msg)
    except NotFound as missing:
        return twirp_error(404, "not_found", str(missing))
    if as_json:
        return web.Response(text=json_format.MessageToJson(reply), content_type="application/json")
    return web.Response(body=reply.SerializeToString(), content_type="application/protobuf")


# --- Ingress ------------------------------------------------------------------------------------------


def create_ingress(srv: "StandIn", req: proto_ingress.CreateIngressRequest) -> Message:
    if req.input_type == proto_ingress.IngressInput.RTMP_INPUT:
        url = "rtmp://127.0.0.1:1935/x"
    elif req.input_type == proto_ingress.IngressInput.WHIP_INPUT:
        url = "http://127.0.0.1:8080/w"
    else:
        raise TwirpFailure(400, "invalid_argument", "unsupported input type")
    info = proto_ingress.IngressInfo(
        ingress_id=random_id("IN_"),
        stream_key=random_id("", 12),
        url=url,
        name=req.name,
        input_type=req.input_type,
        room_name=req.room_name,
        participant_identity=req.participant_identity,
        participant_name=req.participant_name,
        participant_metadata=req.participant_metadata,
        reusable=True,
        state=proto_ingress.IngressState(
            status=proto_ingress.IngressState.Status.ENDPOINT_INACTIVE, updated_at=now_ns()
        ),
    )
    if req.HasField("audio"):
        info.audio.CopyFrom(req.audio)
    if req.HasField("video"):
        info.video.CopyFrom(req.video)
    if req.HasField("enabled"):
        info.enabled = req.enabled
    # LiveKit's updateEnableTranscoding: the request's bypass_transcoding is ignored (deprecated);
    # enable_transcoding decides, by default off for WHIP and on otherwise, and bypass mirrors it.
    if req.HasField("enable_transcoding"):
        info.enable_transcoding = req.enable_transcoding
    else:
        info.enable_transcoding = req.input_type != proto_ingress.IngressInput.WHIP_INPUT
    info.bypass_transcoding = not info.enable_transcoding
    with srv.state.lock:
        srv.state.ingresses[info.ingress_id] = info
        return copy.deepcopy(info)


def update_ingress(srv: "StandIn", req: proto_ingress.UpdateIngressRequest) -> Message:
    with srv.state.lock:
        info = srv.state.ingress(req.ingress_id)
        for field in ("name", "room_name", "participant_identity", "participant_name"):
            if getattr(req, field):
                setattr(info, field, getattr(req, field))
        if req.HasField("enable_transcoding"):
            info.enable_transcoding = req.enable_transcoding
            info.bypass_transcoding = not req.enable_transcoding
        return copy.deepcopy(info)


def list_ingress(srv: "StandIn", req: proto_ingress.ListIngressRequest) -> Message:
    with srv.state.lock:
        items = [
            i
            for i in srv.state.ingresses.values()
            if (not req.room_name or i.room_name == req.room_name)
            and (not req.ingress_id or i.ingress_id == req.ingress_id)
        ]
        start = int(req.page_token.token or 0) if req.HasField("page_token") else 0
        reply = proto_ingress.ListIngressResponse(
            items=[copy.deepcopy(i) for i in items[start : start + PAGE_SIZE]]
        )
    if start + PAGE_SIZE < len(items):
        reply.next_page_token.token = str(start + PAGE_SIZE)
    return reply


def delete_ingress(srv: "StandIn", req: proto_ingress.DeleteIngressRequest) -> Message:
    with srv.state.lock:
        info = srv.state.ingress(req.ingress_id)
        del srv.state.ingresses[req.ingress_id]
        publishing = info.state.status == proto_ingress.IngressState.Status.ENDPOINT_PUBLISHING
        if publishing:
            srv.state.ingress_end(info)
        deleted = copy.deepcopy(info)
    if publishing:
        srv.ingress_ended(deleted)
    return deleted


# --- Rooms --------------------------------------------------------------------------------------------


def create_room(srv: "StandIn", req: proto_room.CreateRoomRequest) -> Message:
    if not req.name:
        raise TwirpFailure(400, "invalid_argument", "no room name")
    return srv.state.room_create(
        req.name,
        empty_timeout=req.empty_timeout,
        departure_timeout=req.departure_timeout,
        max_participants=req.max_participants,
        metadata=req.metadata,
    )


def delete_room(srv: "StandIn", req: proto_room.DeleteRoomRequest) -> Message:
    srv.state.room_delete(req.room)
    return proto_room.DeleteRoomResponse()


def list_rooms(srv: "StandIn", req: proto_room.ListRoomsRequest) -> Message:
    with srv.state.lock:
        names = [n for n in srv.state.rooms if not req.names or n in req.names]
        return proto_room.ListRoomsResponse(rooms=[srv.state.room_view(n) for n in names])


def update_room_metadata(srv: "StandIn", req: proto_room.UpdateRoomMetadataRequest) -> Message:
    return srv.state.room_update_metadata(req.room, req.metadata)


# --- Participants -------------------------------------------------------------------------------------


def list_participants(srv: "StandIn", req: proto_room.ListParticipantsRequest) -> Message:
    # LiveKit answers an unknown room with an empty list, not not_found.
    with srv.state.lock:
        people = [copy.deepcopy(p) for p in srv.state.participants.get(req.room, {}).values()]
    return proto_room.ListParticipantsResponse(participants=people)


def get_participant(srv: "StandIn", req: proto_room.RoomParticipantIdentity) -> Message:
    with srv.state.lock:
        return copy.deepcopy(srv.state.participant(req.room, req.identity))


def remove_participant(srv: "StandIn", req: proto_room.RoomParticipantIdentity) -> Message:
    srv.state.participant(req.room, req.identity)
    srv.state.participant_leave(req.room, req.identity, reason=Reason.PARTICIPANT_REMOVED)
    return proto_room.RemoveParticipantResponse()


def update_participant(srv: "StandIn", req: proto_room.UpdateParticipantRequest) -> Message:
    return srv.state.participant_update(
        req.room,
        req.identity,
        permission=req.permission if req.HasField("permission") else None,
        name=req.name,
        metadata=req.metadata,
        attributes=dict(req.attributes),
    )


def mute_published_track(srv: "StandIn", req: proto_room.MuteRoomTrackRequest) -> Message:
    with srv.state.lock:
        info = srv.state.participant(req.room, req.identity)
        track = next((t for t in info.tracks if t.sid == req.track_sid), None)
        if track is None:
            raise NotFound("track is not found")
        if not req.muted and track.muted:
            # LiveKit unmutes remotely only with room.enable_remote_unmute in its config (off by default).
            raise TwirpFailure(412, "failed_precondition", "remote unmute not enabled")
        track.muted = req.muted
        info.version += 1
        updated, muted = copy.deepcopy(info), copy.deepcopy(track)
    for publisher in srv.publishers_in(req.room):
        if publisher.identity == req.identity:
            publisher.set_muted(req.track_sid, req.muted)
    srv.state.broadcast(req.room, updated)
    return proto_room.MuteRoomTrackResponse(track=muted)


def update_subscriptions(srv: "StandIn", req: proto_room.UpdateSubscriptionsRequest) -> Message:
    srv.state.participant(req.room, req.identity)
    return proto_room.UpdateSubscriptionsResponse()


def send_data(srv: "StandIn", req: proto_room.SendDataRequest) -> Message:
    if len(req.nonce) not in (0, 16):
        raise TwirpFailure(
            400, "invalid_argument", f"nonce should be 16-bytes or not present, got: {len(req.nonce)} bytes"
        )
    if req.room not in srv.state.rooms:
        raise NotFound("requested room does not exist")
    with srv._lock:
        srv.sent_data.append(copy.deepcopy(req))
    # As LiveKit's room.SendDataPacket: a user packet with no sender, to everyone or to the destinations.
    packet = proto_models.DataPacket(
        kind=req.kind,
        destination_identities=req.destination_identities,
        user=proto_models.UserPacket(
            payload=req.data,
            topic=req.topic,
            destination_sids=req.destination_sids,
            destination_identities=req.destination_identities,
            nonce=req.nonce,
        ),
    )
    srv.relay(req.room, packet, sender_sid="")
    return proto_room.SendDataResponse()


def perform_rpc(srv: "StandIn", req: proto_room.PerformRpcRequest) -> Message:
    if not req.destination_identity:
        raise TwirpFailure(400, "invalid_argument", "destination identity is required")
    srv.state.participant(req.room, req.destination_identity)
    # A server-initiated RPC needs the callee's reply over its data channel; the stand-in has no such
    # relay yet, so it answers as LiveKit does when the callee does not answer in time.
    raise TwirpFailure(504, "deadline_exceeded", "rpc response timeout")


def move_or_forward(srv: "StandIn", req: proto_room.MoveParticipantRequest) -> Message:
    if req.room == req.destination_room:
        raise TwirpFailure(400, "invalid_argument", "destination room cannot be the same as source room")
    srv.state.participant(req.room, req.identity)
    raise TwirpFailure(501, "unimplemented", "this feature is only available in LiveKit Cloud")


METHODS = {
    "CreateIngress": create_ingress,
    "UpdateIngress": update_ingress,
    "ListIngress": list_ingress,
    "DeleteIngress": delete_ingress,
    "CreateRoom": create_room,
    "DeleteRoom": delete_room,
    "ListRooms": list_rooms,
    "UpdateRoomMetadata": update_room_metadata,
    "ListParticipants": list_participants,
    "GetParticipant": get_participant,
    "RemoveParticipant": remove_participant,
    "UpdateParticipant": update_participant,
    "MutePublishedTrack": mute_published_track,
    "UpdateSubscriptions": update_subscriptions,
    "SendData": send_data,
    "PerformRpc": perform_rpc,
    "MoveParticipant": move_or_forward,
    "ForwardParticipant": move_or_forward,
}
