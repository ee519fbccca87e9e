"""Chat the server owns: every message is checked here, stored, then sent to the room through LiveKit.

The rule of who may chat is the token's (``streams.selectors.chat_access`` → ``tokens.chat_permission``):
this module adds only what a token cannot say — the stream must be live, and a per-chatter flood limit.
Delivery is one reliable ``SendData`` per message through the door, never one call per viewer; the pages
render only what arrives from the server on ``CHAT_TOPIC``.
"""

import json
import logging
import math
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone
from redis.exceptions import RedisError

from accounts.models import User
from streamit import redis_scripts
from streamit.cache import redis_client
from streamit.errors import FORBIDDEN, INVALID, MISSING, TOO_MANY, DomainError
from streamit.text import clean_line
from streams import identities, livekit, tokens
from streams.chat_rights import chat_rights_apply, chat_rights_fan_out
from streams.models import StreamSession
from streams.selectors import Host, chat_access
from streams.services import NO_SUCH_STREAM

from .models import ChatMessage, ModerationAction, Moderator, Role, TimeOut
from .selectors import is_moderator, message_data

logger = logging.getLogger(__name__)

MAX_LENGTH = 500
# The topic server packets go out on; a participant's own packets (any topic) are never shown.
CHAT_TOPIC = "streamit.chat"
# Flood limit per chatter and room, on top of the policy: this many messages per window.
FLOOD_MESSAGES = 5
FLOOD_SECONDS = 5
CHAT_OFFLINE = "offline"
CHAT_TIMED_OUT = "timed_out"


class ChatRefused(DomainError):
    """The caller may not chat here now; ``reason`` is one of tokens.CHAT_* (or ``offline``, ``timed_out``)
    for the page, with the seconds a time-out has left as Retry-After."""

    def __init__(self, message: str, reason: str, retry_after: int | None = None):
        super().__init__(message, FORBIDDEN, extra={"reason": reason}, retry_after=retry_after)
        self.reason = reason


class ChatTooFast(DomainError):
    def __init__(self, retry_after: int, message: str = ""):
        message = message or f"You are sending messages too fast. Wait {retry_after} s."
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


# One round trip on Redis: count the message in its window, and give a new window its expiry.
FLOOD_COUNT = redis_scripts.Fragment(
    "chat_flood_count",
    """
local count = redis.call("INCR", KEYS[1])
if count == 1 then redis.call("EXPIRE", KEYS[1], ARGV[1]) end
return count
""",
)


def _flood_count(key: str) -> int | None:
    """This message's number in its window; None when the cache cannot count (down, or evicted)."""
    client = redis_client()
    if client is None:
        cache.add(key, 0, FLOOD_SECONDS + 1)
        try:
            return cache.incr(key)
        except ValueError:  # the key is gone (evicted): nothing to hold against them
            return None
    try:
        [count] = redis_scripts.run(
            client, [redis_scripts.Call(FLOOD_COUNT, [cache.make_key(key)], [FLOOD_SECONDS + 1])]
        )
    except RedisError as error:  # streamit.cache logs the outage once
        logger.debug("Chat flood count skipped: %s", error)
        return None
    return count


def _flood_check(*, host: Host, identity: str) -> None:
    """Count this message in the chatter's current window; refuse past FLOOD_MESSAGES (shared by workers
    through the cache; a cache outage lets messages through rather than silencing every chat)."""
    now = time.time()
    window = int(now // FLOOD_SECONDS)
    count = _flood_count(f"chat-flood:{host.user_id}:{identity}:{window}")
    if count is not None and count > FLOOD_MESSAGES:
        raise ChatTooFast(max(1, math.ceil((window + 1) * FLOOD_SECONDS - now)))


def _slow_mode_check(*, host: Host, identity: str) -> None:
    """Slow mode: one message per chatter every ``chat_slow_seconds`` (the cache holds when they may send
    again, shared by every worker). A refused message does not restart the wait."""
    seconds = host.chat_slow_seconds
    if seconds <= 0:
        return
    now = time.time()
    key = f"chat-slow:{host.user_id}:{identity}"
    if cache.add(key, now + seconds, seconds):
        return
    next_at = cache.get(key)
    if next_at is None:  # expired between the two calls (or the cache is down): let it through
        return
    wait = max(1, math.ceil(next_at - now))
    raise ChatTooFast(wait, message=f"Slow mode: you can send again in {wait} s.")


# The message goes into the host's open session unless a time-out holds the chatter, in one statement: no
# query before it to ask, and nothing between a check and the insert, so a time-out or the end of the
# session counts from the moment it commits. The creator is never timed out. RETURNING on PostgreSQL and
# SQLite >= 3.35 alike; datetimes are passed as the backend stores them (connection.ops).
_STORE = """
INSERT INTO chat_chatmessage
    (session_id, author_id, identity, name, role, text, created_at, deleted_at, visible_at)
SELECT open_session.id, %s, %s, %s, %s, %s, %s, NULL, %s
FROM streams_streamsession open_session
INNER JOIN streams_stream stream ON stream.id = open_session.stream_id
WHERE stream.user_id = %s AND open_session.ended_at IS NULL{time_out}
LIMIT 1
RETURNING id, session_id
"""
_NOT_TIMED_OUT = """
AND NOT EXISTS (
    SELECT 1 FROM chat_timeout WHERE creator_id = %s AND identity = %s AND until > %s
)"""
_STORE_CHATTER = _STORE.format(time_out=_NOT_TIMED_OUT)
_STORE_CREATOR = _STORE.format(time_out="")


def _store(*, host: Host, chatter: Chatter, role: str, text: str, now, visible_at) -> ChatMessage | None:
    """Insert the message (in the caller's transaction); None when the stream has no open session or a
    time-out holds the chatter: ``_refusal`` then says which."""
    adapt = connection.ops.adapt_datetimefield_value
    params = [
        chatter.user.pk if chatter.user else None, chatter.identity, chatter.name, role, text,
        adapt(now), adapt(visible_at), host.user_id,
    ]  # fmt: skip
    creator = role == Role.CREATOR
    if not creator:
        params += [host.user_id, chatter.identity, adapt(now)]
    with connection.cursor() as cursor:
        cursor.execute(_STORE_CREATOR if creator else _STORE_CHATTER, params)
        row = cursor.fetchone()
    if row is None:
        return None
    message_id, session_id = row
    return ChatMessage(
        id=message_id, session_id=session_id, author=chatter.user, identity=chatter.identity,
        name=chatter.name, role=role, text=text, created_at=now, visible_at=visible_at,
    )  # fmt: skip


def _refusal(*, host: Host, identity: str, now) -> ChatRefused:
    """Why ``_store`` stored nothing at ``now``: offline, else timed out (read again, after the fact: a
    stream that went live since was offline when the message came, and a time-out that has just ended
    still held it at ``now``). Only a refused message pays these queries."""
    if not StreamSession.objects.filter(stream__user_id=host.user_id, ended_at__isnull=True).exists():
        return ChatRefused(REFUSALS[CHAT_OFFLINE], CHAT_OFFLINE)
    until = (
        TimeOut.objects.filter(creator_id=host.user_id, identity=identity, until__gt=now)
        .values_list("until", flat=True)
        .first()
    )
    if until is None:
        return ChatRefused(REFUSALS[CHAT_OFFLINE], CHAT_OFFLINE)
    left = max(1, math.ceil((until - timezone.now()).total_seconds()))
    return ChatRefused(f"You are timed out of this chat for {left} more s.", CHAT_TIMED_OUT, retry_after=left)


def message_send(*, host: Host, chatter: Chatter, text: str) -> ChatMessage:
    """Check, store and deliver one message. Raises ChatRefused (403), ChatTooFast (429), DomainError.

    A guest's message costs one statement in a transaction (plus the cache's flood count); a signed-in
    chatter's adds their follow/block facts and, for a viewer, whether they moderate."""
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
    if access.is_creator:
        role = Role.CREATOR
    elif access.is_guest:
        role = Role.GUEST
    else:
        role = Role.MODERATOR if is_moderator(host_id=host.user_id, user=chatter.user) else Role.VIEWER
    # The creator's delay holds a viewer's message; the creator and moderators are never held.
    held = access.delayed and role != Role.MODERATOR
    now = timezone.now()
    visible_at = now + timedelta(seconds=tokens.CHAT_DELAY_SECONDS) if held else now
    # Stored and sent together: a message LiveKit could not take is not kept (the sender is told to retry).
    with transaction.atomic():
        message = _store(host=host, chatter=chatter, role=role, text=text, now=now, visible_at=visible_at)
        if message is None:
            raise _refusal(host=host, identity=chatter.identity, now=now)
        # Only a message the stream and the moderators allow counts against the flood limit or starts a
        # slow-mode wait; one these limits refuse is rolled back with the transaction.
        _flood_check(host=host, identity=chatter.identity)
        if role not in (Role.CREATOR, Role.MODERATOR):
            _slow_mode_check(host=host, identity=chatter.identity)
        if held:
            # The creator, the moderators and the sender see it at once, marked pending.
            _deliver(
                host=host,
                event={"type": "message", "message": message_data(message, pending=True)},
                to=[*_moderating_identities(host), chatter.identity],
            )
            transaction.on_commit(lambda: _release_later(message.pk))
        else:
            _deliver(host=host, event={"type": "message", "message": message_data(message)})
    return message


def _moderating_identities(host: Host) -> list[str]:
    moderators = Moderator.objects.filter(creator_id=host.user_id).values_list("user_id", flat=True)
    return [identities.host_identity(host.user_id), *(identities.user_identity(uid) for uid in moderators)]


def _release_later(message_id: int) -> None:
    """Send a held message to everyone once the delay is over: by a Celery task with a countdown where
    there is a broker (any worker may run it), else by a timer in this process (development)."""
    from .tasks import message_release

    if message_release.app.conf.task_always_eager:
        timer = threading.Timer(tokens.CHAT_DELAY_SECONDS, lambda: message_release_now(message_id=message_id))
        timer.daemon = True
        timer.start()
    else:
        message_release.apply_async(kwargs={"message_id": message_id}, countdown=tokens.CHAT_DELAY_SECONDS)


def message_release_now(*, message_id: int) -> bool:
    """Show a held message to everyone, unless a moderator deleted it meanwhile. Returns whether sent."""
    message = (
        ChatMessage.objects.filter(pk=message_id, deleted_at__isnull=True)
        .select_related("session__stream")
        .first()
    )
    if message is None:
        return False
    host = Host(
        user_id=message.session.stream.user_id,
        username="",
        is_chat_enabled=True,
        is_chat_followers_only=False,
        is_chat_delayed=True,
    )
    _deliver(host=host, event={"type": "message", "message": message_data(message)})
    return True


def _deliver(*, host: Host, event: dict, to: list[str] | None = None) -> None:
    livekit.room_send_data(
        room=livekit.room_name_for(host.user_id),
        data=json.dumps(event, separators=(",", ":")).encode(),
        topic=CHAT_TOPIC,
        to=to,
    )


def message_prune(*, days: int) -> int:
    """Delete messages older than ``days`` (the retention setting); returns how many. 0 days keeps all."""
    if days <= 0:
        return 0
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = ChatMessage.objects.filter(created_at__lt=cutoff).delete()
    return deleted


# --- Moderation ---------------------------------------------------------------------------------------

TIME_OUT_MINUTES = (1, 10, 60)


def _log(*, creator_id: int, actor: User, kind: str, target_name: str, detail: str = "") -> None:
    ModerationAction.objects.create(
        creator_id=creator_id, actor=actor, actor_name=actor.username, kind=kind, target_name=target_name,
        detail=detail[:500],
    )  # fmt: skip


@transaction.atomic
def moderator_appoint(*, creator: User, username: str) -> Moderator:
    user = User.objects.filter(username__lower=username.lower(), is_active=True).first()
    if user is None:
        raise DomainError("No such user.", MISSING)
    if user.pk == creator.pk:
        raise DomainError("You already moderate your own chat.", INVALID)
    moderator, created = Moderator.objects.get_or_create(creator=creator, user=user)
    if created:
        _log(
            creator_id=creator.pk,
            actor=creator,
            kind=ModerationAction.Kind.APPOINT,
            target_name=user.username,
        )
    return moderator


@transaction.atomic
def moderator_dismiss(*, creator: User, username: str) -> None:
    deleted, _ = Moderator.objects.filter(creator=creator, user__username__lower=username.lower()).delete()
    if not deleted:
        raise DomainError("They are not one of your moderators.", MISSING)
    _log(creator_id=creator.pk, actor=creator, kind=ModerationAction.Kind.DISMISS, target_name=username)


def _moderated_message(*, actor: User, host: Host, message_id: int) -> ChatMessage:
    """The host's message, if ``actor`` may moderate the host's chat (the creator or a moderator)."""
    if actor.pk != host.user_id and not is_moderator(host_id=host.user_id, user=actor):
        raise DomainError("Only the creator and their moderators can do that.", FORBIDDEN)
    message = (
        ChatMessage.objects.select_for_update()
        .filter(pk=message_id, session__stream__user_id=host.user_id, deleted_at__isnull=True)
        .first()
    )
    if message is None:
        raise DomainError("No such message.", MISSING)
    return message


@transaction.atomic
def message_delete(*, actor: User, host: Host, message_id: int) -> None:
    """Delete a message for everyone: gone from the history, and the pages remove it at once."""
    message = _moderated_message(actor=actor, host=host, message_id=message_id)
    message.deleted_at = timezone.now()
    message.save(update_fields=["deleted_at"])
    _log(creator_id=host.user_id, actor=actor, kind=ModerationAction.Kind.DELETE, target_name=message.name,
         detail=message.text)  # fmt: skip
    _deliver(host=host, event={"type": "delete", "id": message.pk})


@transaction.atomic
def chatter_time_out(*, actor: User, host: Host, message_id: int, minutes: int) -> TimeOut:
    """Silence the author of a message for 1, 10 or 60 minutes: the server refuses their messages, and
    their token's right to chat is withdrawn live, then given back by the chat-rights fan-out."""
    if minutes not in TIME_OUT_MINUTES:
        raise DomainError("A time-out lasts 1, 10 or 60 minutes.", INVALID)
    message = _moderated_message(actor=actor, host=host, message_id=message_id)
    if message.role == Role.CREATOR:
        raise DomainError("The creator cannot be timed out.", INVALID)
    until = timezone.now() + timedelta(minutes=minutes)
    time_out, _ = TimeOut.objects.update_or_create(
        creator_id=host.user_id, identity=message.identity, defaults={"until": until}
    )
    _log(creator_id=host.user_id, actor=actor, kind=ModerationAction.Kind.TIME_OUT, target_name=message.name,
         detail=f"{minutes} min")  # fmt: skip
    event = {
        "type": "timeout",
        "identity": message.identity,
        "until": until.isoformat(),
        "seconds": minutes * 60,
    }
    _deliver(host=host, event=event)
    transaction.on_commit(lambda: _withdraw_right(host=host, identity=message.identity, seconds=minutes * 60))
    return time_out


def _withdraw_right(*, host: Host, identity: str, seconds: int) -> None:
    room = livekit.room_name_for(host.user_id)
    try:
        livekit.participant_update_many(room=room, rights={identity: False})
    except livekit.LiveKitError:
        logger.warning(
            "Could not withdraw %s's right to chat in %s (the server refuses them anyway)", identity, room
        )
    # The fan-out applies the token's policy again once the time-out ends: the right comes back. Without
    # a broker (development) an eager task would run at once, so a timer in this process waits instead.
    if chat_rights_fan_out.app.conf.task_always_eager:
        timer = threading.Timer(
            seconds + 1, _give_back_right, kwargs={"creator_id": host.user_id, "identity": identity}
        )
        timer.daemon = True
        timer.start()
    else:
        chat_rights_fan_out.apply_async(
            kwargs={"creator_id": host.user_id, "identities": [identity]}, countdown=seconds + 1
        )


def _give_back_right(*, creator_id: int, identity: str) -> None:
    try:
        chat_rights_apply(creator_id=creator_id, identities=[identity])
    except livekit.LiveKitError:
        logger.warning("Could not give %s their right to chat back (reconcile will)", identity)
