"""A creator's public state (live or not, viewers, title) by username, cached: what polling pages read.

Every open watch page asks the status endpoint every few seconds, so 10,000 pages must cost cache reads,
not queries. Warm, a lookup is one cache read (one Redis round trip: a script) and no query.

As for the host (``selectors.host_get``), a cached copy never outlives a change, and a request that read
the row just before a change committed cannot store it for later: each copy carries the generation read
before the row, and ``stream_state_changed`` bumps it once a change commits (going live or offline, a new
title, and whatever ``host_changed`` reports: revoked, renamed, deactivated). The viewer count changes
far more often (every join and leave), so it has a generation of its own and a copy whose count is behind
is still served for up to ``COUNT_SECONDS`` after it was made: a busy room costs about one query a
second, however many pages poll it, and the last count of a burst is read at most that long after it
committed, never later.
"""

import contextlib
import time
from dataclasses import dataclass

from django.core.cache import cache, caches
from redis.exceptions import RedisError

from accounts.models import CreatorStatus
from accounts.validators import could_be_username
from streamit import redis_scripts
from streamit.cache import redis_client
from streamit.redis_scripts import Call, Fragment

from . import generations
from .generations import GENERATION_SECONDS
from .models import Stream

STATE_CACHE_SECONDS = generations.COPY_SECONDS
# How long a copy may be served after the count behind it changed.
COUNT_SECONDS = 1.0


@dataclass(frozen=True)
class StreamState:
    """What a page shows of a stream and polls for; the same for every visitor."""

    user_id: int
    username: str
    is_live: bool
    viewer_count: int
    title: str
    description: str


def _name_key(username: str) -> str:
    return f"state-id:{username.lower()}"


def _state_key(user_id) -> str:
    return f"state:{user_id}"


def _generation_key(user_id) -> str:
    return f"state-gen:{user_id}"


def _count_key(user_id) -> str:
    return f"state-count:{user_id}"


# --- Changes ---------------------------------------------------------------------------------------------


def stream_state_changed(*, user_id: int) -> None:
    """Call where the live flag, the title or description, or the creator (``host_changed``) is written.

    Once the change commits no copy made before it is served (at once outside a transaction); before
    the commit, a request in between could cache the old row again.
    """
    generations.bump_on_commit(_generation_key(user_id))


def stream_count_changed(*, user_id: int) -> None:
    """Call where the viewer count is written: copies made before are served for ``COUNT_SECONDS`` more."""
    generations.bump_on_commit(_count_key(user_id))


# --- Reads -----------------------------------------------------------------------------------------------

# One round trip: the id the name leads to, that creator's copy, its generation and its count generation
# (each made if missing, as ``cache.add`` would, so a copy can be stored under it).
READ_STATE = Fragment(
    "read_state",
    """
local id = redis.call("GET", KEYS[1])
if not id then return {false, false, false, false} end
local found = {id, redis.call("GET", ARGV[1] .. id)}
for i, prefix in ipairs({ARGV[2], ARGV[3]}) do
  local key = prefix .. id
  local generation = redis.call("GET", key)
  if not generation then
    redis.call("SET", key, ARGV[4], "EX", ARGV[5])
    generation = ARGV[4]
  end
  found[i + 2] = generation
end
return found
""",
)

# A name the cache did not know, read from the database: stored with the copy only if the creator has no
# generations yet, so no change can have committed unseen between the row read and this write (its bump
# would have made one); otherwise the next request, which reads the generations first, stores the copy.
STORE_NAMED = Fragment(
    "store_named_state",
    """
redis.call("SET", KEYS[1], ARGV[1], "EX", ARGV[4])
if redis.call("EXISTS", KEYS[2], KEYS[3]) == 0 then
  redis.call("SET", KEYS[2], ARGV[2], "EX", ARGV[5])
  redis.call("SET", KEYS[3], ARGV[2], "EX", ARGV[5])
  redis.call("SET", KEYS[4], ARGV[3], "EX", ARGV[4])
end
return true
""",
)


def _row(**lookup) -> StreamState | None:
    row = (
        Stream.objects.filter(user__creator_status=CreatorStatus.APPROVED, user__is_active=True, **lookup)
        .values_list("user_id", "user__username", "is_live", "viewer_count", "title", "description")
        .first()
    )
    return StreamState(*row) if row else None


def _read(username: str) -> tuple:
    """(id, cached copy, generation, count generation) for a name; id None when the cache does not know
    the name, generations None when the cache cannot keep them (then nothing is stored)."""
    client = redis_client()
    if client is not None:
        backend = caches["default"]
        try:
            prefixes = [backend.make_key(key("")) for key in (_state_key, _generation_key, _count_key)]
            keys, args = (
                [backend.make_key(_name_key(username))],
                [*prefixes, generations.new(), GENERATION_SECONDS],
            )
            [found] = redis_scripts.run(client, [Call(READ_STATE, keys, args)])
        except RedisError:  # as the cache does: a miss, answered from the database, nothing stored
            return None, None, None, None
        if found[0] is None:
            return None, None, None, None
        # Generations are plain integers in Redis (as django-redis stores an int): no decoder needed.
        copy = None if found[1] is None else backend.client.decode(found[1])
        return int(found[0]), copy, int(found[2]), int(found[3])
    user_id = cache.get(_name_key(username))
    if user_id is None:
        return None, None, None, None
    generation, count_generation = (
        generations.read(_generation_key(user_id)),
        generations.read(_count_key(user_id)),
    )
    return user_id, cache.get(_state_key(user_id)), generation, count_generation


def _store_named(username: str, state: StreamState, made_at: float) -> None:
    generation = generations.new()
    copy = (generation, generation, made_at, state)
    client = redis_client()
    if client is None:
        cache.set(_name_key(username), state.user_id, STATE_CACHE_SECONDS)
        user_id = state.user_id
        if cache.add(_generation_key(user_id), generation, GENERATION_SECONDS) and cache.add(
            _count_key(user_id), generation, GENERATION_SECONDS
        ):
            cache.set(_state_key(user_id), copy, STATE_CACHE_SECONDS)
        return
    backend = caches["default"]
    keys = [_name_key(username), _generation_key(state.user_id), _count_key(state.user_id)]
    keys.append(_state_key(state.user_id))
    with contextlib.suppress(RedisError):  # as the cache does: nothing stored, the next request reads again
        args = [
            state.user_id,
            generation,
            backend.client.encode(copy),
            STATE_CACHE_SECONDS,
            GENERATION_SECONDS,
        ]
        redis_scripts.run(client, [Call(STORE_NAMED, [backend.make_key(key) for key in keys], args)])


def _current(copy, generation, count_generation) -> bool:
    if copy is None or generation is None or copy[0] != generation:
        return False
    return copy[1] == count_generation or time.time() - copy[2] < COUNT_SECONDS


def stream_state_get(*, username: str) -> StreamState | None:
    """The approved, active creator's stream state by username (any case), or None; no block applies
    here (the caller checks blocks for a signed-in visitor). Warm: one cache read and no query."""
    if not could_be_username(username):
        return None
    made_at = time.time()  # before the generations and the row: a copy's age is never understated
    user_id, copy, generation, count_generation = _read(username)
    if user_id is None:
        state = _row(user__username__lower=username.lower())  # a name the cache does not know
        if state is not None:
            _store_named(username, state, made_at)
        return state
    if _current(copy, generation, count_generation):
        state = copy[3]
    else:
        # The generations were read before the row: a change that commits after this read retires the
        # copy stored below.
        state = _row(user_id=user_id)
        if state is not None and generation is not None and count_generation is not None:
            copy = (generation, count_generation, made_at, state)
            cache.set(_state_key(user_id), copy, STATE_CACHE_SECONDS)
    if state is not None and state.username.lower() == username.lower():
        return state
    # Renamed, revoked or gone since the name was cached: forget it and answer from the database.
    cache.delete(_name_key(username))
    return _row(user__username__lower=username.lower())
