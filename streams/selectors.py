"""Who may chat in a creator's room, and the creator as a token request needs them (cached).

``chat_access`` is the one answer to "may this person chat here, and why not": the token
(``services.viewer_token_issue``), the pages, and the rights of people already connected
(``chat_rights``) all take it from here, and it takes the rule itself from ``tokens.chat_permission``.

The host (the creator's chat settings) is read on every token request, so it is cached. A cached copy
must never outlive a change, nor be brought back by a request that read the row just before the change
committed: each copy carries the host's generation (``streams.generations``), read before the row, and
``host_changed`` bumps the generation once the change commits. A copy made from a read that raced a
change is stored under the old generation and so is never served.
"""

import contextlib
from dataclasses import dataclass

from django.core.cache import cache, caches
from django.db.models import Exists, Q
from redis.exceptions import RedisError

from accounts.models import Block, CreatorStatus, Follow, User
from accounts.validators import could_be_username
from streamit import redis_scripts
from streamit.cache import redis_client
from streamit.redis_scripts import Call, Fragment

from . import generations, identities, tokens
from .generations import GENERATION_SECONDS
from .models import Stream
from .stream_state import stream_state_changed

HOST_CACHE_SECONDS = generations.COPY_SECONDS


@dataclass(frozen=True)
class Host:
    """What the chat policy and a token need to know about the creator; the same for every caller."""

    user_id: int
    username: str
    is_chat_enabled: bool
    is_chat_followers_only: bool
    is_chat_delayed: bool
    chat_slow_seconds: int = 0


def host_of(stream: Stream) -> Host:
    """The host of a stream already read (its user with it)."""
    return Host(
        user_id=stream.user_id,
        username=stream.user.username,
        is_chat_enabled=stream.is_chat_enabled,
        is_chat_followers_only=stream.is_chat_followers_only,
        is_chat_delayed=stream.is_chat_delayed,
        chat_slow_seconds=stream.chat_slow_seconds,
    )


# --- The host, cached ----------------------------------------------------------------------------------


def _generation_key(user_id: int) -> str:
    return f"host-gen:{user_id}"


def _host_key(user_id: int) -> str:
    return f"host:{user_id}"


def _name_key(username: str) -> str:
    return f"host-id:{username.lower()}"


def host_changed(*, user_id: int) -> None:
    """Call where a creator's chat settings, approval, activity or name are written.

    Once the change commits, no cached copy made before it is served again (at once outside a
    transaction). Invalidating before the commit would let a request in between cache the old row.
    """
    generations.bump_on_commit(_generation_key(user_id))
    stream_state_changed(user_id=user_id)  # the pages' cached state: revoked, renamed, deactivated


def _approved(**lookup):
    return Stream.objects.filter(user__creator_status=CreatorStatus.APPROVED, user__is_active=True, **lookup)


def _host_row(**lookup) -> Host | None:
    row = (
        _approved(**lookup)
        .values_list(
            "user_id",
            "user__username",
            "is_chat_enabled",
            "is_chat_followers_only",
            "is_chat_delayed",
            "chat_slow_seconds",
        )
        .first()
    )
    return Host(*row) if row else None


# On Redis, what the cache holds for one host comes in one round trip: the id its name leads to (unless
# the id is given), that host's copy, and its generation, made if it had none (as ``cache.add`` would).
READ_HOST = Fragment(
    "read_host",
    """
local id = ARGV[3]
if id == "" then
  id = redis.call("GET", KEYS[1])
  if not id then return {false, false, false} end
end
local generation_key = ARGV[2] .. id
local generation = redis.call("GET", generation_key)
if not generation then
  redis.call("SET", generation_key, ARGV[4], "EX", ARGV[5])
  generation = ARGV[4]
end
return {id, redis.call("GET", ARGV[1] .. id), generation}
""",
)

# A name the cache did not know, read from the database, is stored in one round trip: the name, and the
# copy if the host has no generation yet. Then no change can have committed unseen between the row read
# and this write (its bump would have made the generation); once a generation exists, a copy waits for
# a request that reads the generation before the row.
STORE_NAMED = Fragment(
    "store_named",
    """
redis.call("SET", KEYS[1], ARGV[1], "EX", ARGV[4])
if redis.call("SET", KEYS[2], ARGV[2], "NX", "EX", ARGV[5]) then
  redis.call("SET", KEYS[3], ARGV[3], "EX", ARGV[4])
end
return true
""",
)


def host_read_call(*, username: str | None = None, user_id: int | None = None) -> Call:
    """The Redis half of ``host_get`` as a script call, to run in one round trip with others; its answer
    goes to ``host_from_read``."""
    backend = caches["default"]
    # The script builds a host's keys from its id: the key templates as the cache makes keys.
    host_prefix, generation_prefix = backend.make_key(_host_key("")), backend.make_key(_generation_key(""))
    name_key = backend.make_key(_name_key(username) if username is not None else _host_key(user_id))
    args = [
        host_prefix,
        generation_prefix,
        "" if user_id is None else user_id,
        generations.new(),
        GENERATION_SECONDS,
    ]
    return Call(READ_HOST, [name_key], args)


def _decode_read(answer) -> tuple:
    found_id, copy, generation = answer
    if found_id is None:
        return None, None, None
    decode = caches["default"].client.decode
    return int(found_id), decode(copy) if copy is not None else None, decode(generation)


def _store_named(username: str, host: Host) -> None:
    generation = generations.new()
    client = redis_client()
    if client is None:
        cache.set(_name_key(username), host.user_id, HOST_CACHE_SECONDS)
        if cache.add(_generation_key(host.user_id), generation, GENERATION_SECONDS):
            cache.set(_host_key(host.user_id), (generation, host), HOST_CACHE_SECONDS)
        return
    backend = caches["default"]
    keys = [_name_key(username), _generation_key(host.user_id), _host_key(host.user_id)]
    args = [
        host.user_id,
        generation,
        backend.client.encode((generation, host)),
        HOST_CACHE_SECONDS,
        GENERATION_SECONDS,
    ]
    # As the cache does on a failure: nothing stored, the next request reads the database again.
    with contextlib.suppress(RedisError):
        redis_scripts.run(client, [Call(STORE_NAMED, [backend.make_key(key) for key in keys], args)])


def _read(*, username: str | None, user_id: int | None) -> tuple:
    """(id, cached copy, generation) for a host named by username or id: id None when a name is unknown
    to the cache; generation None when the cache cannot keep one (then nothing is stored)."""
    client = redis_client()
    if client is not None:
        try:
            [answer] = redis_scripts.run(client, [host_read_call(username=username, user_id=user_id)])
        except RedisError:  # as the cache does: a miss, answered from the database, nothing stored
            return user_id, None, None
        return _decode_read(answer)
    if user_id is None:
        user_id = cache.get(_name_key(username))
        if user_id is None:
            return None, None, None
    generation = generations.read(_generation_key(user_id))  # before the copy, as the script reads them
    return user_id, cache.get(_host_key(user_id)), generation


def host_get(*, username: str | None = None, user_id: int | None = None) -> Host | None:
    """The approved, active creator by username (any case) or id; from the cache when it is current.

    Warm, one cache read (one Redis round trip) and no query; cold, one query and one write more.
    """
    if username is not None and not could_be_username(username):
        return None
    return _host_from(_read(username=username, user_id=user_id), username=username)


def host_from_read(answer, *, username: str | None = None, user_id: int | None = None) -> Host | None:
    """``host_get`` finished from the answer of its ``host_read_call`` (None when the round trip failed:
    as the cache does, a miss answered from the database). Give the same name or id as to the call, after
    ``could_be_username`` accepted the name."""
    return _host_from((user_id, None, None) if answer is None else _decode_read(answer), username=username)


def _host_from(read: tuple, *, username: str | None) -> Host | None:
    user_id, cached, generation = read
    if user_id is None:
        host = _host_row(user__username__lower=username.lower())  # a name the cache does not know
        if host is not None:
            _store_named(username, host)
        return host
    if cached is not None and generation is not None and cached[0] == generation:
        host = cached[1]
    else:
        # The generation was read before the row: if a change commits after this read, the copy stored
        # below carries the generation that change retires.
        host = _host_row(user_id=user_id)
        if host is not None and generation is not None:
            cache.set(_host_key(user_id), (generation, host), HOST_CACHE_SECONDS)
    if username is None or (host is not None and host.username.lower() == username.lower()):
        return host
    # Renamed, revoked or gone since the name was cached: forget it and answer from the database.
    cache.delete(_name_key(username))
    return _host_row(user__username__lower=username.lower())


# --- Who may chat --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatAccess:
    is_creator: bool
    is_guest: bool
    follows: bool
    blocked: bool  # a block either way: the creator does not exist for this person
    can_chat: bool
    reason: str | None  # why not (tokens.CHAT_*), for the page to put in words
    # The seed's "delay messages": held before sending, for everyone but the creator.
    delayed: bool

    @property
    def delay_seconds(self) -> int:
        return tokens.CHAT_DELAY_SECONDS if self.delayed else 0


def _access(host: Host, *, is_creator: bool, is_guest: bool, follows: bool, blocked: bool) -> ChatAccess:
    can_chat, reason = tokens.chat_permission(
        chat_enabled=host.is_chat_enabled,
        followers_only=host.is_chat_followers_only,
        is_creator=is_creator,
        is_guest=is_guest,
        follows=follows,
        blocked=blocked,
    )
    return ChatAccess(
        is_creator=is_creator,
        is_guest=is_guest,
        follows=follows,
        blocked=blocked,
        can_chat=can_chat,
        reason=reason,
        delayed=host.is_chat_delayed and not is_creator,
    )


def chat_access(*, host: Host, viewer: User | None) -> ChatAccess:
    """May this visitor (None: a guest) chat in the host's room, and why not.

    Follow and block are read fresh, in one query, on every call: a block is never stale.
    """
    if viewer is None or viewer.pk == host.user_id:
        is_creator = viewer is not None
        return _access(host, is_creator=is_creator, is_guest=not is_creator, follows=False, blocked=False)
    facts = (
        User.objects.filter(pk=viewer.pk)
        .annotate(
            follows=Exists(Follow.objects.filter(follower=viewer, following_id=host.user_id)),
            blocked=Exists(
                Block.objects.filter(
                    Q(blocker_id=host.user_id, blocked=viewer) | Q(blocker=viewer, blocked_id=host.user_id)
                )
            ),
        )
        .values("follows", "blocked")
        .get()
    )
    return _access(
        host, is_creator=False, is_guest=False, follows=bool(facts["follows"]), blocked=bool(facts["blocked"])
    )


def chat_access_by_identity(*, host: Host, participant_identities: list[str]) -> dict[str, ChatAccess]:
    """``chat_access`` for people already in the room, by their identity, in two queries for any number.

    Identities this site does not hand out (the encoder's, a bot's) are left out: nothing to decide.
    """
    viewer_ids = {
        identity: user_id
        for identity in participant_identities
        if (user_id := identities.user_id_from_identity(identity)) is not None and user_id != host.user_id
    }
    ids = set(viewer_ids.values())
    followers = set(
        Follow.objects.filter(following_id=host.user_id, follower_id__in=ids).values_list(
            "follower_id", flat=True
        )
    )
    blocked = {
        a if b == host.user_id else b
        for a, b in Block.objects.filter(
            Q(blocker_id=host.user_id, blocked_id__in=ids) | Q(blocker_id__in=ids, blocked_id=host.user_id)
        ).values_list("blocker_id", "blocked_id")
    }
    answers = {}
    for identity in participant_identities:
        if identity == identities.host_identity(host.user_id):
            answers[identity] = _access(host, is_creator=True, is_guest=False, follows=False, blocked=False)
        elif identities.is_guest_identity(identity):
            answers[identity] = _access(host, is_creator=False, is_guest=True, follows=False, blocked=False)
        elif identity in viewer_ids:
            user_id = viewer_ids[identity]
            answers[identity] = _access(
                host,
                is_creator=False,
                is_guest=False,
                follows=user_id in followers,
                blocked=user_id in blocked,
            )
    return answers
