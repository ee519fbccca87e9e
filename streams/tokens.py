"""Access tokens for the browser, and the chat policy: the only place that decides LiveKit grants.

The seed's permission table, one function per row a browser uses. Every grant is set explicitly because
the SDK's ``VideoGrants`` defaults ``can_publish``, ``can_subscribe`` and ``can_publish_data`` to True.

| row               | identity                | room_join | can_publish | can_subscribe | can_publish_data |
|-------------------|-------------------------|-----------|-------------|---------------|------------------|
| creator self-view | ``Host-<userId>``       | True      | False       | True          | chat policy      |
| signed-in viewer  | ``<userId>``            | True      | False       | True          | chat policy      |
| guest             | ``guest-<ms>-<random>`` | True      | False       | True          | chat policy      |

The seed's "Creator (OBS)" row is the ingress's publisher identity (the creator's user id), created by
``streams.livekit.ingress_create``, never a browser token. Identity and room never come from a request;
their formats live in ``streams.identities``. Who gets which row, and the facts the chat policy needs,
are decided by ``streams.services.viewer_token_issue`` (tokens) and ``streams.selectors.chat_access``
(pages), both through ``chat_permission`` here.
Tokens live ``LIVEKIT_TOKEN_TTL`` seconds (5 minutes by default): a token outlives a block until it
expires, and the pages fetch a fresh one at each connect, so a short life costs nothing.
"""

import base64
import functools
import json
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from jwt.algorithms import HMACAlgorithm
from jwt.utils import base64url_encode
from livekit import api

from streamit.text import clean_line

from . import identities
from .livekit import room_name_for, ws_url

GUEST_DEFAULT_NAME = "Guest"
DISPLAY_NAME_MAX = 40
# The seed's "add delay to messages": each viewer message is held this long before it is sent.
CHAT_DELAY_SECONDS = 3

# Reasons a caller may not chat, in the order they are checked; the pages turn them into sentences.
CHAT_DISABLED = "chat_disabled"
CHAT_BLOCKED = "blocked"
CHAT_FOLLOWERS_ONLY = "followers_only"
CHAT_SIGN_IN = "sign_in"


@dataclass(frozen=True)
class ViewerToken:
    token: str
    identity: str
    name: str
    ws_url: str


def clean_display_name(name: str, *, default: str = GUEST_DEFAULT_NAME) -> str:
    """A name a chat line can show (streamit.text.clean_line, cut to DISPLAY_NAME_MAX), or ``default``."""
    return clean_line(name, max_length=DISPLAY_NAME_MAX) or default


def chat_permission(
    *,
    chat_enabled: bool,
    followers_only: bool,
    is_creator: bool,
    is_guest: bool,
    follows: bool,
    blocked: bool,
) -> tuple[bool, str | None]:
    """May this caller send chat in this creator's room, and if not, why.

    The same answer goes into the token (``can_publish_data``), into the stream info the page shows and
    into the rights of participants already connected (``streams.chat_rights``). A block either way
    comes first, whatever the settings: the blocked are not in the room at all. When chat is off nobody
    chats; the creator is otherwise exempt from followers-only and the delay.
    """
    if blocked:
        return False, CHAT_BLOCKED
    if not chat_enabled:
        return False, CHAT_DISABLED
    if is_creator:
        return True, None
    if followers_only and is_guest:
        return False, CHAT_SIGN_IN
    if followers_only and not follows:
        return False, CHAT_FOLLOWERS_ONLY
    return True, None


_HS256 = HMACAlgorithm(HMACAlgorithm.SHA256)
_HEADER = base64url_encode(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())


@functools.lru_cache(maxsize=4)
def _signing_key(secret: str) -> bytes:
    # PyJWT's own checks on the secret (not empty, not an asymmetric key), made once per secret rather
    # than per token: they cost more than the signature.
    return _HS256.prepare_key(secret)


def _sign(*, identity: str, name: str, room: str, can_publish_data: bool) -> str:
    """The claims the SDK's ``AccessToken(...).with_identity().with_name().with_grants().with_ttl().to_jwt()``
    writes for these grants, signed once with PyJWT's HS256: the SDK's builder (dataclass copies,
    camel-casing every field) cost six times the signing itself on the token path, and ``jwt.encode``
    re-checks the secret on every call. ``test_tokens`` holds the two equal through the SDK's own
    ``TokenVerifier``."""
    now = int(time.time())
    claims = {
        "name": name,
        "video": {
            "roomJoin": True,
            "room": room,
            # Nobody publishes media from a browser: the creator's video comes from the ingress (OBS).
            "canPublish": False,
            "canSubscribe": True,
            "canPublishData": can_publish_data,
        },
        "sub": identity,
        "iss": settings.LIVEKIT_API_KEY,
        "nbf": now,
        "exp": now + settings.LIVEKIT_TOKEN_TTL,
    }
    signing_input = _HEADER + b"." + base64url_encode(json.dumps(claims, separators=(",", ":")).encode())
    signature = _HS256.sign(signing_input, _signing_key(settings.LIVEKIT_API_SECRET))
    return (signing_input + b"." + base64url_encode(signature)).decode()


def _token(*, identity: str, name: str, host_id: int, can_chat: bool) -> ViewerToken:
    room = room_name_for(host_id)
    token = _sign(identity=identity, name=name, room=room, can_publish_data=can_chat)
    return ViewerToken(token=token, identity=identity, name=name, ws_url=ws_url())


def creator_self_view_token(*, user_id: int, username: str, can_chat: bool) -> ViewerToken:
    """The creator watching their own room: a distinct identity so it never evicts the OBS publisher."""
    return _token(
        identity=identities.host_identity(user_id),
        name=clean_display_name(username, default=str(user_id)),
        host_id=user_id,
        can_chat=can_chat,
    )


def viewer_token(*, viewer_id: int, host_id: int, name: str, can_chat: bool) -> ViewerToken:
    return _token(
        identity=identities.user_identity(viewer_id),
        name=clean_display_name(name, default=str(viewer_id)),
        host_id=host_id,
        can_chat=can_chat,
    )


def guest_token(*, host_id: int, guest_name: str, can_chat: bool) -> ViewerToken:
    return _token(
        identity=identities.guest_identity_new(),
        name=clean_display_name(guest_name),
        host_id=host_id,
        can_chat=can_chat,
    )


class TokenInvalid(Exception):
    """A token we did not sign, or one that has expired."""


@dataclass(frozen=True)
class TokenHolder:
    identity: str
    name: str
    room: str


# A guest sends every chat message with the same token, and checking its signature cost half as much CPU
# as storing the message: what a token proves is kept, per process, until it expires (the expiry is still
# checked on every use, with no leeway). Keyed by our credentials too, so a new secret checks again.
_READ_KEPT = 4096
_read: dict[tuple[str, str, str], tuple[float, TokenHolder]] = {}


def _expiry(token: str) -> float:
    """The ``exp`` of a token whose signature has been checked (the verifier requires one)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"]


def viewer_token_read(token: str) -> TokenHolder:
    """Who holds a token we issued (a guest proves who they are to the chat API with it).

    The signature is checked with our own secret, and the expiry with no leeway: a token is no proof
    after its life. Raises ``TokenInvalid``.
    """
    key = (settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET, token)
    kept = _read.get(key)
    if kept is not None and time.time() < kept[0]:
        return kept[1]
    verifier = api.TokenVerifier(settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET, leeway=timedelta(0))
    try:
        claims = verifier.verify(token)
    except Exception as error:  # jwt's and the SDK's errors alike mean "not a token of ours"
        raise TokenInvalid(f"{type(error).__name__}") from error
    room = claims.video.room if claims.video else ""
    if not claims.identity or not room or not claims.video.room_join:
        raise TokenInvalid("not a room token")
    holder = TokenHolder(identity=claims.identity, name=claims.name or "", room=room)
    if len(_read) >= _READ_KEPT:  # bounded: the tokens in use are checked once more, nothing worse
        _read.clear()
    _read[key] = (_expiry(token), holder)
    return holder
