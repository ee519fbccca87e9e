"""Chat the server owns: every message is checked here, stored, then sent to the room through LiveKit.

The rule of who may chat is the token's (``streams.selectors.chat_access`` → ``tokens.chat_permission``):
this module adds only what a token cannot say — the stream must be live, and a per-chatter flood limit.
Delivery is one reliable ``SendData`` per message through the door, never one call per viewer; the pages
render only what arrives from the server on ``CHAT_TOPIC``.
"""

import json
import math
import time
from dataclasses import dataclass
from datetime import timedelta

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from streamit.errors import FORBIDDEN, INVALID, MISSING, TOO_MANY, DomainError
from streamit.text import clean_line
from streams import identities, livekit, tokens
from streams.models import StreamSession
from streams.selectors import Host, chat_access
from streams.services import NO_SUCH_STREAM

from .models import ChatMessage, Role
from .selectors import message_data

MAX_LENGTH = 500
# The topic server packets go out on; a participant's own packets (any topic) are never shown.
CHAT_TOPIC = "streamit.chat"
# Flood limit per chatter and room, on top of the policy: this many messages per window.
FLOOD_MESSAGES = 5
FLOOD_SECONDS = 5
CHAT_OFFLINE = "offline"


class ChatRefused(DomainError):
    """The caller may not chat here now; ``reason`` is one of tokens.CHAT_* (or ``offline``) for the page."""

    def __init__(self, message: str, reason: str):
        super().__init__(message, FORBIDDEN, extra={"reason": reason})
        self.reason = reason


class ChatTooFast(DomainError):
    def __init__(self, retry_after: int):
        message = f"You are sending messages too fast. Wait {retry_after} s."
        super().__init__(message, TOO_MANY, retry_after=retry_after)


REFUSALS = {
    tokens.CHAT_DISABLED: "Chat is turned off for this stream.",
    tokens.CHAT_FOLLOWERS_ONLY: "Only followers can chat. Follow to join the conversation.",
    tokens.CHAT_SIGN_IN: "Only followers can chat: log in and follow to join the conversation.",
    CHAT_OFFLINE: "Chat opens when the stream is live.",
}


@dataclass(frozen=True)
class Chatter:
    """Who is sending: a signed-in user (by session), or a guest (by the LiveKit token we gave them)."""

    user: User | None
    identity: str
    name: str


def chatter_for_user(*, host: Host, user: User) -> Chatter:
    is_creator = user.pk == host.user_id
    identity = identities.host_identity(user.pk) if is_creator else identities.user_identity(user.pk)
    return Chatter(user=user, identity=identity, name=tokens.clean_display_name(user.username))


def _flood_check(*, host: Host, identity: str) -> None:
    """Count this message in the chatter's current window; refuse past FLOOD_MESSAGES (shared by workers
    through the cache; a cache outage lets messages through rather than silencing every chat)."""
    now = time.time()
    window = int(now // FLOOD_SECONDS)
    key = f"chat-flood:{host.user_id}:{identity}:{window}"
    cache.add(key, 0, FLOOD_SECONDS + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # the key is gone (evicted, or the cache is down): nothing to hold against them
        return
    if count > FLOOD_MESSAGES:
        raise ChatTooFast(max(1, math.ceil((window + 1) * FLOOD_SECONDS - now)))


def _open_session_id(host: Host) -> int | None:
    return (
        StreamSession.objects.filter(stream__user_id=host.user_id, ended_at__isnull=True)
        .values_list("id", flat=True)
        .first()
    )


def message_send(*, host: Host, chatter: Chatter, text: str) -> ChatMessage:
    """Check, store and deliver one message. Raises ChatRefused (403), ChatTooFast (429), DomainError."""
    text = clean_line(text)
    if not text:
        raise DomainError("Write a message first.", INVALID)
    if len(text) > MAX_LENGTH:
        raise DomainError(f"A message is at most {MAX_LENGTH} characters.", INVALID)
    access = chat_access(host=host, viewer=chatter.user)
    if access.blocked:
        raise DomainError(NO_SUCH_STREAM, MISSING)  # as for its token: the creator does not exist for them
    if not access.can_chat:
        raise ChatRefused(REFUSALS.get(access.reason, "You can't chat right now."), access.reason)
    session_id = _open_session_id(host)
    if session_id is None:
        raise ChatRefused(REFUSALS[CHAT_OFFLINE], CHAT_OFFLINE)
    _flood_check(host=host, identity=chatter.identity)
    role = Role.CREATOR if access.is_creator else Role.GUEST if access.is_guest else Role.VIEWER
    # Stored and sent together: a message LiveKit could not take is not kept (the sender is told to retry).
    with transaction.atomic():
        message = ChatMessage.objects.create(
            session_id=session_id,
            author=chatter.user,
            identity=chatter.identity,
            name=chatter.name,
            role=role,
            text=text,
        )
        _deliver(host=host, event={"type": "message", "message": message_data(message)})
    return message


def _deliver(*, host: Host, event: dict) -> None:
    livekit.room_send_data(
        room=livekit.room_name_for(host.user_id),
        data=json.dumps(event, separators=(",", ":")).encode(),
        topic=CHAT_TOPIC,
    )


def message_prune(*, days: int) -> int:
    """Delete messages older than ``days`` (the retention setting); returns how many. 0 days keeps all."""
    if days <= 0:
        return 0
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = ChatMessage.objects.filter(created_at__lt=cutoff).delete()
    return deleted
