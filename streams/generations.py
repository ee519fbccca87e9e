"""Generations: how a cached copy of a row knows it is still current (the host cache, the stream state).

A copy is stored with the generation read before its row was; a change bumps the generation once it
commits, so no copy made before the change is served again, and a request that read the row just before
the change committed stores its copy under the generation the change retires. Bumping before the commit
would let a request in between cache the old row again.

A generation expires, or every id a client ever asks for (hostId is free input) would keep a key in Redis
for good. The next one is a new clock reading, so expiry costs a miss; a copy made before a change could
come back only if its request stalled ``GENERATION_SECONDS`` between reading the row and storing it.
"""

import time

from django.core.cache import cache
from django.db import transaction

COPY_SECONDS = 300
GENERATION_SECONDS = 2 * COPY_SECONDS


def new() -> int:
    return time.time_ns()


def _bump(key: str) -> None:
    try:
        cache.incr(key)
    except ValueError:  # no generation yet (or evicted): any new value retires every copy made before
        cache.set(key, new(), GENERATION_SECONDS)


def bump_on_commit(key: str) -> None:
    """Retire every copy stored under ``key``'s generation once the current transaction commits (at once
    outside one). robust: a cache failing after the commit is logged, never the caller's error."""
    transaction.on_commit(lambda: _bump(key), robust=True)


def read(key: str):
    """The generation under ``key``, made if it had none (as the Redis scripts do in their round trip);
    None when the cache cannot keep one (then nothing may be stored under it)."""
    generation = cache.get(key)
    if generation is None:
        cache.add(key, new(), GENERATION_SECONDS)
        generation = cache.get(key)
    return generation
