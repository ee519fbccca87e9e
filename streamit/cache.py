"""The site's caches, built from CACHE_URL: how each behaves when Redis is down or frozen.

Redis goes through django-redis (one client per server). Two aliases share it:
- ``default`` (cached reads, API throttles) treats every Redis failure as a miss and logs it, so pages,
  tokens and the API keep working on the database alone — the throttles fail open;
- ``limits`` (sign-up and password-reset limits, log-in lockout) raises, and each use decides: the form
  limits fail closed (503), the lockout fails open (see ``streamit.ratelimits``, ``accounts.lockout``).
Short socket timeouts bound each call on a frozen Redis; after a failure, each process skips Redis for
REDIS_RETRY_SECONDS (every call fails at once, as a miss) and logs the outage once, so an outage costs
one request a fraction of a second rather than every request several timeouts.
"""

import logging
import threading
import time

import environ
from redis.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

DJANGO_REDIS = "django_redis.cache.RedisCache"
REDIS_RETRY_SECONDS = 5.0

_down_until: dict[tuple, float] = {}  # (host, port) → monotonic time before which we do not try
_down_lock = threading.Lock()


class FailFastConnection(Connection):
    """A redis-py connection that, once its server failed, refuses at once for REDIS_RETRY_SECONDS."""

    def _server(self) -> tuple:
        return (self.host, self.port)

    def _failed(self, error: Exception) -> None:
        with _down_lock:
            already_down = _down_until.get(self._server(), 0) > time.monotonic()
            _down_until[self._server()] = time.monotonic() + REDIS_RETRY_SECONDS
        if not already_down:
            logger.error(
                "Redis at %s:%s failed (%s): skipping it for %g s; limits and caches act as documented",
                self.host,
                self.port,
                error,
                REDIS_RETRY_SECONDS,
            )

    def connect(self):
        if _down_until.get(self._server(), 0) > time.monotonic():
            raise RedisConnectionError(
                f"Redis at {self.host}:{self.port} failed moments ago; not retrying yet."
            )
        try:
            return super().connect()
        except (RedisConnectionError, RedisTimeoutError, OSError) as error:
            self._failed(error)
            raise

    def read_response(self, *args, **kwargs):
        try:
            return super().read_response(*args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError, OSError) as error:
            self._failed(error)
            raise


def caches_for(url: str, *, socket_timeout: float) -> dict:
    config = environ.Env.cache_url_config(url)
    if config["BACKEND"] in (DJANGO_REDIS, "django.core.cache.backends.redis.RedisCache"):
        config["BACKEND"] = DJANGO_REDIS  # whichever django-environ picked
        config.setdefault("OPTIONS", {}).update(
            SOCKET_CONNECT_TIMEOUT=socket_timeout, SOCKET_TIMEOUT=socket_timeout
        )
        if url.startswith("redis://"):  # TLS (rediss://) keeps redis-py's own connection class
            config["OPTIONS"]["CONNECTION_POOL_KWARGS"] = {"connection_class": FailFastConnection}
    caches = {alias: {**config, "OPTIONS": {**config.get("OPTIONS", {})}} for alias in ("default", "limits")}
    if config["BACKEND"] == DJANGO_REDIS:
        caches["default"]["OPTIONS"]["IGNORE_EXCEPTIONS"] = True
    return caches


def redis_client(alias: str = "default"):
    """The redis-py client behind a django-redis cache, for the few paths that batch their commands into
    one round trip (a script); None when the cache is another backend (locmem in development and tests)."""
    from django.core.cache import caches

    backend = caches[alias]
    if type(backend).__module__ != "django_redis.cache":
        return None
    return backend.client.get_client(write=True)
