"""The one door to LiveKit's server API: small, typed, synchronous functions over the SDK's protobufs.

Callers (services, webhook receiver, management commands) pass keyword arguments and get plain values,
never protobuf objects or requests, and every failure arrives as one ``LiveKitError`` whose ``kind`` says
what to do:

- ``unavailable``: connection refused, timeout or a 5xx — tell the user to retry, change nothing;
- ``not_found``: LiveKit does not know the ingress, room or participant;
- ``rejected``: any other 4xx (bad credentials, a missing grant, invalid input).

Names follow the seed's LiveKitService (``createIngress`` → ``ingress_create`` …). Rooms are named after
the creator's user id behind ``LIVEKIT_ROOM_PREFIX``, so two sites can share one LiveKit project.

LiveKit's server API is Twirp: a protobuf body POSTed to ``/twirp/livekit.<Service>/<Method>`` with a
short-lived JWT carrying the grant the method needs. This module speaks it synchronously over one
keep-alive connection pool per process (urllib3, thread-safe), using the SDK's protobuf messages and its
token signer: no event loop, HTTP session and TCP connection built per call as the async client needs, and
usable alike from views, Celery tasks, commands and threads that already run an event loop.
"""

import base64
import hashlib
import hmac
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import urlparse

import urllib3
from django.conf import settings
from google.protobuf.json_format import MessageToDict, Parse, ParseError
from google.protobuf.message import DecodeError, Message
from livekit import api
from livekit.protocol import ingress as proto_ingress
from livekit.protocol import models as proto_models
from livekit.protocol import room as proto_room
from livekit.protocol import webhook as proto_webhook

from . import identities

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=Message)

UNAVAILABLE = "unavailable"
NOT_FOUND = "not_found"
REJECTED = "rejected"

# How many calls a batch (chat rights of a room, participants of many rooms) keeps in flight at once.
CONCURRENCY = 16

_INPUT_TYPES = {
    "RTMP": proto_ingress.IngressInput.RTMP_INPUT,
    "WHIP": proto_ingress.IngressInput.WHIP_INPUT,
}
_INPUT_NAMES = {value: name for name, value in _INPUT_TYPES.items()}


class LiveKitError(Exception):
    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class WebhookInvalid(Exception):
    """A delivery whose signature or body hash does not check out: not from LiveKit."""


class WebhookUnreadable(Exception):
    """A correctly signed delivery whose body is not a webhook event we can parse."""


@dataclass(frozen=True)
class Ingress:
    ingress_id: str
    ingress_type: str
    url: str
    stream_key: str = field(repr=False)  # kept out of reprs, so a logged object never leaks the key
    room_name: str
    participant_identity: str
    status: str


@dataclass(frozen=True)
class Room:
    name: str
    num_participants: int


@dataclass(frozen=True)
class Participant:
    identity: str
    name: str
    kind: str
    joined_at_ms: int
    can_subscribe: bool
    can_publish: bool
    can_publish_data: bool


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    event: str
    created_at: int
    room_name: str | None
    participant: Participant | None
    ingress: Ingress | None
    # The finest clock an ingress event carries (state.updatedAt, else startedAt/endedAt), in ms.
    ingress_updated_at_ms: int | None
    raw: dict = field(repr=False, compare=False)


# --- Naming -------------------------------------------------------------------------------------------


def ws_url() -> str:
    return settings.LIVEKIT_URL


def room_name_for(user_id: int) -> str:
    return f"{settings.LIVEKIT_ROOM_PREFIX}{user_id}"


def user_id_from_room(room: str) -> int | None:
    """The creator behind a room of ours, or None for a room another site (or nobody) owns."""
    prefix = settings.LIVEKIT_ROOM_PREFIX
    if not room.startswith(prefix):
        return None
    rest = room[len(prefix) :]
    # Only ASCII digits: str.isdigit() also accepts "²" (int() refuses it) and "٢" (int() reads 2).
    return int(rest) if rest.isascii() and rest.isdigit() else None


# --- Calling LiveKit ----------------------------------------------------------------------------------

_pool: urllib3.PoolManager | None = None
_pool_pid: int | None = None
_pool_lock = threading.Lock()


def _http() -> urllib3.PoolManager:
    """The process's connection pool (a forked worker builds its own: sockets are not shared)."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = urllib3.PoolManager(maxsize=CONCURRENCY, retries=False)
            _pool_pid = os.getpid()
        return _pool


def _http_base() -> str:
    parsed = urlparse(settings.LIVEKIT_URL)
    scheme = parsed.scheme.replace("ws", "http", 1) if parsed.scheme.startswith("ws") else parsed.scheme
    return f"{scheme}://{parsed.netloc}{parsed.path}".rstrip("/")


# Ten minutes is plenty for one call and keeps a leaked header short-lived. Signing costs about as much
# CPU as the rest of a call (chat makes one SendData per message), so a token is reused for the first
# half of its life: per credentials and grant set (one per room at most), never within 5 min of expiry.
TOKEN_TTL = timedelta(minutes=10)
_TOKENS_KEPT = 1024
_tokens: dict[tuple, tuple[float, str]] = {}
_clock = time.time


def _token(grants: api.VideoGrants) -> str:
    key = (settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET, repr(grants))
    now = _clock()
    kept = _tokens.get(key)
    if kept is not None and now < kept[0]:
        return kept[1]
    token = (
        api.AccessToken(settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET)
        .with_grants(grants)
        .with_ttl(TOKEN_TTL)
        .to_jwt()
    )
    if len(_tokens) >= _TOKENS_KEPT:  # bounded: many rooms' tokens are signed again, nothing more
        _tokens.clear()
    _tokens[key] = (now + TOKEN_TTL.total_seconds() / 2, token)
    return token


def _failure(status: int, body: bytes) -> LiveKitError:
    where = settings.LIVEKIT_URL
    try:
        error = json.loads(body)  # Twirp errors are JSON {"code", "msg"} whatever the request's type
    except ValueError:
        error = {}
    if not isinstance(error, dict):
        error = {}
    # A bad signature or an expired token comes back as plain text with code "unknown": trust the status.
    detail = error.get("msg") or error.get("code") or body[:200].decode("utf-8", "replace").strip()
    if status == 404:
        return LiveKitError(NOT_FOUND, f"LiveKit at {where} does not know it ({detail}).")
    if status >= 500 or status == 429:
        return LiveKitError(UNAVAILABLE, f"LiveKit at {where} failed with HTTP {status} ({detail}).")
    if status in (401, 403):
        return LiveKitError(
            REJECTED,
            f"LiveKit at {where} refused our credentials (HTTP {status}): check LIVEKIT_API_KEY "
            "and LIVEKIT_API_SECRET.",
        )
    return LiveKitError(REJECTED, f"LiveKit at {where} rejected the request (HTTP {status}: {detail}).")


def _twirp(service: str, method: str, request: Message, response_type: type[M], grants: api.VideoGrants) -> M:
    """One Twirp call within LIVEKIT_TIMEOUT, failures turned into LiveKitError (and logged)."""
    where = settings.LIVEKIT_URL
    try:
        response = _http().request(
            "POST",
            f"{_http_base()}/twirp/livekit.{service}/{method}",
            body=request.SerializeToString(),
            headers={"Authorization": f"Bearer {_token(grants)}", "Content-Type": "application/protobuf"},
            timeout=urllib3.Timeout(total=settings.LIVEKIT_TIMEOUT),
            # No retry here: a create could happen twice. Callers retry where it is safe.
            retries=False,
        )
    except urllib3.exceptions.TimeoutError as error:
        raised = LiveKitError(
            UNAVAILABLE, f"LiveKit at {where} did not answer within {settings.LIVEKIT_TIMEOUT:g} s."
        )
        logger.warning("LiveKit call %s failed: %s", method, raised)
        raise raised from error
    except (urllib3.exceptions.HTTPError, OSError) as error:
        raised = LiveKitError(UNAVAILABLE, f"LiveKit at {where} cannot be reached ({type(error).__name__}).")
        logger.warning("LiveKit call %s failed: %s", method, raised)
        raise raised from error
    if response.status != 200:
        raised = _failure(response.status, response.data)
        logger.warning("LiveKit call %s failed: %s", method, raised)
        raise raised
    try:
        return response_type.FromString(response.data)
    except DecodeError as error:
        raise LiveKitError(UNAVAILABLE, f"LiveKit at {where} sent an answer we cannot read.") from error


def _room_call(method: str, request: Message, response_type: type[M], *, room: str | None = None) -> M:
    # The grant each RoomService method needs, as LiveKit checks it (per room for participant calls).
    if room is not None:
        grants = api.VideoGrants(room_admin=True, room=room)
    elif method == "ListRooms":
        grants = api.VideoGrants(room_list=True)
    else:
        grants = api.VideoGrants(room_create=True)
    return _twirp("RoomService", method, request, response_type, grants)


def _ingress_call(method: str, request: Message, response_type: type[M]) -> M:
    return _twirp("Ingress", method, request, response_type, api.VideoGrants(ingress_admin=True))


def _ignore_not_found(action: Callable[[], Any]) -> None:
    try:
        action()
    except LiveKitError as error:
        if error.kind != NOT_FOUND:
            raise


def _each(
    function: Callable[[Any], Any], items: Iterable[Any], *, concurrency: int = CONCURRENCY
) -> list[Any]:
    """Run ``function`` over ``items``, ``concurrency`` at a time on the shared pool; the first error raises
    once every call in flight has finished (so a retry re-applies the whole set safely)."""
    items = list(items)
    if len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(concurrency, len(items))) as pool:
        futures = [pool.submit(function, item) for item in items]
    results = []
    for future in futures:
        results.append(future.result())
    return results


# --- Conversions --------------------------------------------------------------------------------------


def _ingress(info: proto_ingress.IngressInfo) -> Ingress:
    return Ingress(
        ingress_id=info.ingress_id,
        ingress_type=_INPUT_NAMES.get(info.input_type, str(info.input_type)),
        url=info.url,
        stream_key=info.stream_key,
        room_name=info.room_name,
        participant_identity=info.participant_identity,
        status=proto_ingress.IngressState.Status.Name(info.state.status),
    )


def _participant(info: proto_models.ParticipantInfo) -> Participant:
    joined_at_ms = info.joined_at_ms or info.joined_at * 1000
    return Participant(
        identity=info.identity,
        name=info.name,
        kind=proto_models.ParticipantInfo.Kind.Name(info.kind),
        joined_at_ms=joined_at_ms,
        can_subscribe=info.permission.can_subscribe,
        can_publish=info.permission.can_publish,
        can_publish_data=info.permission.can_publish_data,
    )


def _to_ms(value: int) -> int | None:
    """LiveKit's ingress clocks are Unix nanoseconds; accept coarser units so no event sorts wrongly."""
    if value <= 0:
        return None
    for limit, divisor in ((10**17, 10**6), (10**14, 10**3), (10**11, 1)):
        if value >= limit:
            return value // divisor
    return value * 1000


# --- Ingress ------------------------------------------------------------------------------------------


def ingress_create(*, user_id: int, username: str, ingress_type: str) -> Ingress:
    """A new ingress publishing into the creator's room as the creator (the seed's OBS row)."""
    if ingress_type not in _INPUT_TYPES:
        raise ValueError(f"Unknown ingress type {ingress_type!r}")
    request = proto_ingress.CreateIngressRequest(
        input_type=_INPUT_TYPES[ingress_type],
        name=username,
        room_name=room_name_for(user_id),
        participant_identity=identities.publisher_identity(user_id),
        participant_name=username,
        # RTMP from OBS is transcoded into simulcast layers; WHIP is passed through as the encoder sent it.
        enable_transcoding=ingress_type == "RTMP",
    )
    return _ingress(_ingress_call("CreateIngress", request, proto_ingress.IngressInfo))


def ingress_delete(*, ingress_id: str) -> None:
    """Delete an ingress; one LiveKit no longer has is already gone, which is what the caller wanted."""
    request = proto_ingress.DeleteIngressRequest(ingress_id=ingress_id)
    _ignore_not_found(lambda: _ingress_call("DeleteIngress", request, proto_ingress.IngressInfo))


def ingress_list(*, room: str | None = None) -> list[Ingress]:
    """Every ingress (of one room, if given), following LiveKit's pages to the end."""
    items: list[proto_ingress.IngressInfo] = []
    page_token = None
    while True:
        request = proto_ingress.ListIngressRequest(room_name=room or "")
        if page_token:
            request.page_token.CopyFrom(page_token)
        response = _ingress_call("ListIngress", request, proto_ingress.ListIngressResponse)
        items.extend(response.items)
        if not response.HasField("next_page_token") or not response.next_page_token.token:
            return [_ingress(info) for info in items]
        page_token = response.next_page_token


# --- Rooms and participants ---------------------------------------------------------------------------


def room_delete(*, room: str) -> None:
    """Close a room, disconnecting everyone in it; a room that does not exist is already closed."""
    request = proto_room.DeleteRoomRequest(room=room)
    _ignore_not_found(lambda: _room_call("DeleteRoom", request, proto_room.DeleteRoomResponse))


def room_list() -> list[Room]:
    response = _room_call("ListRooms", proto_room.ListRoomsRequest(), proto_room.ListRoomsResponse)
    return [Room(name=room.name, num_participants=room.num_participants) for room in response.rooms]


def participant_list(*, room: str) -> list[Participant]:
    """Who is connected to a room; a room LiveKit does not have (nobody there yet) has nobody."""
    request = proto_room.ListParticipantsRequest(room=room)
    try:
        response = _room_call("ListParticipants", request, proto_room.ListParticipantsResponse, room=room)
    except LiveKitError as error:
        if error.kind == NOT_FOUND:
            return []
        raise
    return [_participant(info) for info in response.participants]


def participant_list_many(*, rooms: Iterable[str]) -> dict[str, list[Participant]]:
    """Who is in each of many rooms, asked concurrently (``reconcile`` checks every live room at once)."""
    rooms = list(dict.fromkeys(rooms))
    return dict(zip(rooms, _each(lambda room: participant_list(room=room), rooms), strict=True))


def _viewer_permission(can_publish_data: bool) -> proto_models.ParticipantPermission:
    # LiveKit replaces the whole permission set and unset fields become False, so ``can_subscribe`` is
    # always sent: without it the viewer would lose the video.
    return proto_models.ParticipantPermission(
        can_subscribe=True, can_publish=False, can_publish_data=can_publish_data
    )


def participant_update(*, room: str, identity: str, can_publish_data: bool) -> None:
    """Change a connected viewer's right to chat."""
    request = proto_room.UpdateParticipantRequest(
        room=room, identity=identity, permission=_viewer_permission(can_publish_data)
    )
    _room_call("UpdateParticipant", request, proto_models.ParticipantInfo, room=room)


def participant_update_many(
    *, room: str, rights: dict[str, bool], concurrency: int = CONCURRENCY
) -> list[str]:
    """Set the right to chat of many connected participants, ``concurrency`` calls at a time.

    Returns the identities LiveKit no longer had (they left meanwhile: nothing to change). Any other
    failure raises after the calls in flight finish, so a retry re-applies the whole set safely.
    """

    def update(item: tuple[str, bool]) -> str | None:
        identity, can_publish_data = item
        try:
            participant_update(room=room, identity=identity, can_publish_data=can_publish_data)
        except LiveKitError as error:
            if error.kind != NOT_FOUND:
                raise
            return identity
        return None

    return [
        identity
        for identity in _each(update, rights.items(), concurrency=concurrency)
        if identity is not None
    ]


def participant_remove(*, room: str, identity: str) -> None:
    """Disconnect one participant (a block). Someone already gone counts as removed."""
    request = proto_room.RoomParticipantIdentity(room=room, identity=identity)
    _ignore_not_found(
        lambda: _room_call("RemoveParticipant", request, proto_room.RemoveParticipantResponse, room=room)
    )


def room_send_data(*, room: str, data: bytes, topic: str, to: list[str] | None = None) -> None:
    """Send one reliable data packet from the server to everyone in the room (or only the identities
    ``to``): chat messages and events.

    One call reaches every participant, however many: LiveKit fans it out. A room LiveKit does not have
    holds nobody to deliver to, which is not a failure.
    """
    request = proto_room.SendDataRequest(
        room=room,
        data=data,
        kind=proto_models.DataPacket.Kind.RELIABLE,
        topic=topic,
        destination_identities=to or [],
    )
    _ignore_not_found(lambda: _room_call("SendData", request, proto_room.SendDataResponse, room=room))


# --- Webhooks -----------------------------------------------------------------------------------------


def webhook_verify(*, body: bytes, authorization: str) -> WebhookEvent:
    """Check a delivery's JWT (signed with our secret) and body hash, then parse the event.

    The signature is checked on the raw bytes first, so a body that LiveKit signed but we cannot parse
    is reported as unreadable (``WebhookUnreadable``), not as a forgery (``WebhookInvalid``).
    """
    verifier = api.TokenVerifier(settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET)
    try:
        claims = verifier.verify(authorization)
        signed_hash = base64.b64decode(claims.sha256 or "", validate=True)
    except Exception as error:  # the SDK raises jwt, binascii and plain errors: all mean "not LiveKit"
        raise WebhookInvalid(f"{type(error).__name__}: {error}") from error
    if not signed_hash or not hmac.compare_digest(hashlib.sha256(body).digest(), signed_hash):
        raise WebhookInvalid("The body does not match the signed hash.")
    try:
        event = Parse(body.decode("utf-8"), proto_webhook.WebhookEvent(), ignore_unknown_fields=True)
    except (ValueError, ParseError, RecursionError) as error:  # bad UTF-8, bad JSON, brackets nested deep
        raise WebhookUnreadable(f"{type(error).__name__}: {str(error)[:200]}") from error
    if not event.id or not event.event:
        raise WebhookUnreadable("The event has no id or no type.")

    ingress = _ingress(event.ingress_info) if event.HasField("ingress_info") else None
    updated_at_ms = None
    if ingress is not None:
        state = event.ingress_info.state
        updated_at_ms = _to_ms(state.updated_at) or _to_ms(state.ended_at) or _to_ms(state.started_at)
    room_name = event.room.name if event.HasField("room") else None
    if room_name is None and ingress is not None:
        room_name = ingress.room_name or None
    return WebhookEvent(
        id=event.id,
        event=event.event,
        created_at=event.created_at,
        room_name=room_name,
        participant=_participant(event.participant) if event.HasField("participant") else None,
        ingress=ingress,
        ingress_updated_at_ms=updated_at_ms,
        raw=_without_secrets(MessageToDict(event)),
    )


def _without_secrets(raw: dict) -> dict:
    # Ingress events carry the stream key; whoever stores or logs the payload must not get it.
    ingress_info = raw.get("ingressInfo")
    if isinstance(ingress_info, dict) and "streamKey" in ingress_info:
        raw["ingressInfo"] = {**ingress_info, "streamKey": "[redacted]"}
    return raw
