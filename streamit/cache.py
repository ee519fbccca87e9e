"""The site's caches, built from CACHE_URL: how each behaves when Redis is down or frozen.

Redis goes through django-redis (one client per server). Two aliases share it:
- ``default`` (cached reads, API throttles) treats every Redis failure as a miss and logs it, so pages,
  tokens and the API keep working on the database alone — the throttles fail open;
- ``limits`` (sign-up and password-reset limits, log-in lockout) raises, and each use decides: the form
  limits fail closed (503), the lockout fails open (see ``streamit.ratelimits``, ``accounts.lockout``).
Short socket timeouts make a frozen Redis cost a request a fraction of a second per cache call, not five.
"""

import environ

DJANGO_REDIS = "django_redis.cache.RedisCache"


def caches_for(url: str, *, socket_timeout: float) -> dict:
    config = environ.Env.cache_url_config(url)
    if config["BACKEND"] in (DJANGO_REDIS, "django.core.cache.backends.redis.RedisCache"):
        config["BACKEND"] = DJANGO_REDIS  # whichever django-environ picked
        config.setdefault("OPTIONS", {}).update(
            SOCKET_CONNECT_TIMEOUT=socket_timeout, SOCKET_TIMEOUT=socket_timeout
        )
    caches = {alias: {**config, "OPTIONS": {**config.get("OPTIONS", {})}} for alias in ("default", "limits")}
    if config["BACKEND"] == DJANGO_REDIS:
        caches["default"]["OPTIONS"]["IGNORE_EXCEPTIONS"] = True
    return caches
