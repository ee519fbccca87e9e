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

import logging
import secrets
import time

from django.core.cache import caches
from redis.exceptions import RedisError
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from .cache import redis_client
from .client_ip import client_ip

logger = logging.getLogger(__name__)

# KEYS: one sorted set per limit (timestamps of the requests it let through). ARGV: now, a member unique
# to this request, then limit and duration per key. Per key, as DRF's SimpleRateThrottle: forget what is
# older than the window; refuse when the window is full (answer how long until its oldest leaves), else
# record this request. Each limit counts on its own, as DRF's throttles do.
_SLIDING_WINDOWS = """
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
"""
_script = None


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

    def allow_request(self, request, view) -> bool:
        self._wait = None
        limits = []
        for part in self.parts:
            throttle = part()
            key = throttle.get_cache_key(request, view) if throttle.rate is not None else None
            if key is not None:
                limits.append((throttle, key))
        if not limits:
            return True
        client = redis_client()
        if client is None:
            waits = [throttle.wait() for throttle, _ in limits if not throttle.allow_request(request, view)]
        else:
            waits = self._windows(client, limits)
        waits = [wait for wait in waits if wait is not None]
        if waits:
            self._wait = max(waits)
            return False
        return True

    @staticmethod
    def _windows(client, limits) -> list[float]:
        global _script
        if _script is None:
            _script = client.register_script(_SLIDING_WINDOWS)
        backend = caches["default"]
        args = [repr(time.time()), secrets.token_hex(8)]
        for throttle, _ in limits:
            args += [throttle.num_requests, throttle.duration]
        try:
            answers = _script(
                keys=[backend.make_key(f"{key}:w") for _, key in limits], args=args, client=client
            )
        except RedisError as error:  # the limits fail open, as the cache does (streamit.cache logs outages)
            logger.debug("Token throttle skipped: %s", error)
            return []
        return [max(float(answer), 0.0) for answer in answers if answer]

    def wait(self) -> float | None:
        return self._wait
