"""The one door to LiveKit's server API: small synchronous functions over the async ``livekit-api`` SDK.

Callers (services, webhook receiver, management commands) pass and get plain values, never protobuf
objects or requests, and every failure arrives as one ``LiveKitError`` whose ``kind`` says what to do:

- ``unavailable``: connection refused, timeout or a 5xx — tell the user to retry, change nothing;
- ``not_found``: LiveKit does not know the ingress, room or participant;
- ``rejected``: any other 4xx (bad credentials, a missing grant, invalid input).

Names follow the seed's LiveKitService (``createIngress`` → ``ingress_create`` …). Rooms are named after
the creator's user id behind ``LIVEKIT_ROOM_PREFIX``, so two sites can share one LiveKit project.
Each call opens a client inside its own event loop (the SDK's client must be built in a running loop) and
closes it, which keeps this module usable from sync views, Celery tasks and commands alike.
"""

import asyncio
import base64
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
from asgiref.sync import async_to_sync
from django.conf import settings
from google.protobuf.json_format import MessageToDict, Parse, ParseError
from livekit import api
from livekit.protocol import ingress as proto_ingress
from livekit.protocol import models as proto_models
from livekit.protocol import room as proto_room
from livekit.protocol import webhook as proto_webhook

logger = logging.getLogger(__name__)

T = TypeVar("T")

UNAVAILABLE = "unavailable"
NOT_FOUND = "not_found"
REJECTED = "rejected"

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


# --- Calling the SDK ----------------------------------------------------------------------------------


def _classify(error: Exception) -> LiveKitError:
    where = settings.LIVEKIT_URL
    if isinstance(error, api.TwirpError):
        # A bad signature or an expired token comes back as plain text with code "unknown": trust the status.
        status = error.status
        detail = error.message or error.code
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
    if isinstance(error, TimeoutError):
        return LiveKitError(
            UNAVAILABLE, f"LiveKit at {where} did not answer within {settings.LIVEKIT_TIMEOUT:g} s."
        )
    return LiveKitError(UNAVAILABLE, f"LiveKit at {where} cannot be reached ({type(error).__name__}).")


def _run_sync(coroutine_function: Callable[[], Awaitable[T]]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return async_to_sync(coroutine_function)()
    # An event loop already runs in this thread (Playwright's sync API in browser tests, a notebook):
    # async_to_sync refuses to nest, so the call gets a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(async_to_sync(coroutine_function)).result()


def _call(action: Callable[[api.LiveKitAPI], Awaitable[T]], *, rounds: int = 1) -> T:
    """Run ``action`` with a fresh client, within LIVEKIT_TIMEOUT (times ``rounds`` for batches)."""
    limit = settings.LIVEKIT_TIMEOUT * rounds

    async def run() -> T:
        client = api.LiveKitAPI(
            settings.LIVEKIT_URL,
            settings.LIVEKIT_API_KEY,
            settings.LIVEKIT_API_SECRET,
            timeout=aiohttp.ClientTimeout(total=limit),
            # With failover on, Cloud hosts replay failed calls to other regions: a create could happen
            # twice and a call could take about three timeouts. We retry ourselves where it is safe.
            failover=False,
        )
        try:
            # The SDK passes timeout=None to every request, which makes aiohttp ignore the session's
            # timeout: the limit has to be enforced around the call.
            return await asyncio.wait_for(action(client), timeout=limit)
        finally:
            await client.aclose()

    try:
        return _run_sync(run)
    except (api.TwirpError, aiohttp.ClientError, OSError, TimeoutError) as error:
        raised = _classify(error)
        logger.warning("LiveKit call failed: %s", raised)
        raise raised from error


def _ignore_not_found(action: Callable[[], Any]) -> None:
    try:
        action()
    except LiveKitError as error:
        if error.kind != NOT_FOUND:
            raise


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
        participant_identity=str(user_id),
        participant_name=username,
        # RTMP from OBS is transcoded into simulcast layers; WHIP is passed through as the encoder sent it.
        enable_transcoding=ingress_type == "RTMP",
    )
    return _ingress(_call(lambda client: client.ingress.create_ingress(request)))


def ingress_delete(ingress_id: str) -> None:
    """Delete an ingress; one LiveKit no longer has is already gone, which is what the caller wanted."""
    request = proto_ingress.DeleteIngressRequest(ingress_id=ingress_id)
    _ignore_not_found(lambda: _call(lambda client: client.ingress.delete_ingress(request)))


def ingress_list(room: str | None = None) -> list[Ingress]:
    """Every ingress (of one room, if given), following LiveKit's pages to the end."""

    async def list_all(client: api.LiveKitAPI) -> list[proto_ingress.IngressInfo]:
        items: list[proto_ingress.IngressInfo] = []
        page_token = None
        while True:
            request = proto_ingress.ListIngressRequest(room_name=room or "")
            if page_token:
                request.page_token.CopyFrom(page_token)
            response = await client.ingress.list_ingress(request)
            items.extend(response.items)
            if not response.HasField("next_page_token") or not response.next_page_token.token:
                return items
            page_token = response.next_page_token

    return [_ingress(info) for info in _call(list_all)]


# --- Rooms and participants ---------------------------------------------------------------------------


def room_delete(room: str) -> None:
    """Close a room, disconnecting everyone in it; a room that does not exist is already closed."""
    request = proto_room.DeleteRoomRequest(room=room)
    _ignore_not_found(lambda: _call(lambda client: client.room.delete_room(request)))


def room_list() -> list[Room]:
    response = _call(lambda client: client.room.list_rooms(proto_room.ListRoomsRequest()))
    return [Room(name=room.name, num_participants=room.num_participants) for room in response.rooms]


def participant_list(room: str) -> list[Participant]:
    """Who is connected to a room; a room LiveKit does not have (nobody there yet) has nobody."""
    request = proto_room.ListParticipantsRequest(room=room)
    try:
        response = _call(lambda client: client.room.list_participants(request))
    except LiveKitError as error:
        if error.kind == NOT_FOUND:
            return []
        raise
    return [_participant(info) for info in response.participants]


def participant_update(room: str, identity: str, *, can_publish_data: bool) -> None:
    """Change a connected viewer's right to chat.

    LiveKit replaces the whole permission set and unset fields become False, so ``can_subscribe`` is
    always sent: without it the viewer would lose the video.
    """
    request = proto_room.UpdateParticipantRequest(
        room=room,
        identity=identity,
        permission=proto_models.ParticipantPermission(
            can_subscribe=True, can_publish=False, can_publish_data=can_publish_data
        ),
    )
    _call(lambda client: client.room.update_participant(request))


def participant_update_many(room: str, rights: dict[str, bool], *, concurrency: int = 16) -> list[str]:
    """Set the right to chat of many connected participants over one client, ``concurrency`` at a time.

    Returns the identities LiveKit no longer had (they left meanwhile: nothing to change). Any other
    failure raises after the calls in flight finish, so a retry re-applies the whole set safely.
    """

    async def update_all(client: api.LiveKitAPI) -> list[str]:
        gate = asyncio.Semaphore(concurrency)
        gone: list[str] = []

        async def update(identity: str, can_publish_data: bool) -> None:
            request = proto_room.UpdateParticipantRequest(
                room=room,
                identity=identity,
                permission=proto_models.ParticipantPermission(
                    can_subscribe=True, can_publish=False, can_publish_data=can_publish_data
                ),
            )
            async with gate:
                try:
                    await client.room.update_participant(request)
                except api.TwirpError as error:
                    if error.status != 404:
                        raise
                    gone.append(identity)

        results = await asyncio.gather(
            *(update(identity, right) for identity, right in rights.items()), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return gone

    if not rights:
        return []
    return _call(update_all, rounds=-(-len(rights) // concurrency))


def participant_remove(room: str, identity: str) -> None:
    """Disconnect one participant (a block). Someone already gone counts as removed."""
    request = proto_room.RoomParticipantIdentity(room=room, identity=identity)
    _ignore_not_found(lambda: _call(lambda client: client.room.remove_participant(request)))


# --- Webhooks -----------------------------------------------------------------------------------------


def webhook_verify(body: bytes, authorization: str) -> WebhookEvent:
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
