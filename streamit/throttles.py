"""API throttles. Rates are in settings (REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]); the counts live in the
default cache, so they hold across workers when CACHE_URL is Redis. DRF answers 429 with Retry-After.

Client IPs come from ``streamit.client_ip`` (TRUSTED_PROXY_COUNT), the one source the form limits and the
log-in lockout use too: with no trusted proxy, X-Forwarded-For is ignored and cannot dodge a limit.
When the cache cannot be reached, django-redis answers "nothing counted" and these limits fail open.

``TokenThrottle`` applies the token endpoint's two limits (per IP; per user when signed in) in one Redis
round trip: one script keeps both sliding windows, with DRF's semantics (the same rates, the same
Retry-After), where DRF's throttles cost a read and a write each. On another cache backend (locmem in
development and tests) it runs DRF's own throttles.
"""

import itertools
import logging
import os
import secrets
import time

from django.core.cache import caches
from redis.exceptions import RedisError
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from . import redis_scripts
from .cache import redis_client
from .client_ip import client_ip
from .redis_scripts import Call, Fragment

logger = logging.getLogger(__name__)

# KEYS: one sorted set per limit (timestamps of the requests it let through). ARGV: now, a member unique
# to this request, then limit and duration per key. Per key, as DRF's SimpleRateThrottle: forget what is
# older than the window; refuse when the window is full (answer how long until its oldest leaves), else
# record this request. Each limit counts on its own, as DRF's throttles do.
SLIDING_WINDOWS = Fragment(
    "sliding_windows",
    """
local now = tonumber(ARGV[1])
local waits = {}
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 * i + 1])
  local duration = tonumber(ARGV[2 * i + 2])
  redis.call("ZREMRANGEBYSCORE", key, "-inf", now - duration)
  if redis.call("ZCARD", key) >= limit then
    local oldest = redis.call("ZRANGE", key, 0, 0, "WITHSCORES")
    waits[i] = tostring(tonumber(oldest[2]) + duration - now)
  else
    redis.call("ZADD", key, now, ARGV[2])
    redis.call("EXPIRE", key, math.ceil(duration))
    waits[i] = ""
  end
end
return waits
""",
)


# A window's members must differ per request across every worker and machine: a random prefix per machine
# start, the process id (workers forked after import share the prefix) and a counter. Cheaper than asking
# the OS for random bytes on every request.
_MEMBER_PREFIX = secrets.token_hex(6)
_member_count = itertools.count()


def _member() -> str:
    return f"{_MEMBER_PREFIX}:{os.getpid()}:{next(_member_count)}"


class _PerIPThrottle(SimpleRateThrottle):
    def get_ident(self, request) -> str:
        return client_ip(request)

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class _PerUserThrottle(SimpleRateThrottle):
    """Per signed-in user; anonymous callers are left to the per-IP throttle."""

    def get_cache_key(self, request, view) -> str | None:
        if not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class TokenIPThrottle(_PerIPThrottle):
    scope = "token_ip"


class TokenUserThrottle(_PerUserThrottle):
    scope = "token_user"


class CredentialsThrottle(_PerUserThrottle):
    scope = "credentials"


class SocialThrottle(_PerUserThrottle):
    scope = "social"


class TokenThrottle(BaseThrottle):
    """TokenIPThrottle and TokenUserThrottle in one round trip (see the module's docstring)."""

    parts = (TokenIPThrottle, TokenUserThrottle)

    def _limits(self, request) -> list[tuple[SimpleRateThrottle, str]]:
        limits = []
        for part in self.parts:
            throttle = part()
            key = throttle.get_cache_key(request, None) if throttle.rate is not None else None
            if key is not None:
                limits.append((throttle, key))
        return limits

    def redis_call(self, request) -> Call | None:
        """This request's check as a script call, to run in a round trip with others (``read_answer``
        then takes its answer); None when no limit applies."""
        limits = self._limits(request)
        if not limits:
            return None
        backend = caches["default"]
        args = [repr(time.time()), _member()]
        for throttle, _ in limits:
            args += [throttle.num_requests, throttle.duration]
        return Call(SLIDING_WINDOWS, [backend.make_key(f"{key}:w") for _, key in limits], args)

    def read_answer(self, answers) -> bool:
        waits = [max(float(answer), 0.0) for answer in answers if answer]
        self._wait = max(waits) if waits else None
        return self._wait is None

    def allow_request(self, request, view) -> bool:
        self._wait = None
        client = redis_client()
        if client is None:
            waits = [t.wait() for t, _ in self._limits(request) if not t.allow_request(request, view)]
            self._wait = max([wait for wait in waits if wait is not None], default=None)
            return not waits
        call = self.redis_call(request)
        if call is None:
            return True
        try:
            [answers] = redis_scripts.run(client, [call])
        except RedisError as error:  # the limits fail open, as the cache does (streamit.cache logs outages)
            logger.debug("Token throttle skipped: %s", error)
            return True
        return self.read_answer(answers)

    def wait(self) -> float | None:
        return self._wait
