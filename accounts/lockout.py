"""Log-in lockout (django-axes, counted in the "limits" cache).

Two locks, each telling the truth about what it locks:
- an account, after LOGIN_FAILURE_LIMIT wrong passwords for its username (any case: BOB and bob share one
  count), on the site and the admin alike;
- a client address, after LOGIN_IP_FAILURE_LIMIT failures under any names: this stops password spraying
  without letting six typos of made-up names lock out everyone behind one office's or one proxy's address.
  Client addresses come from ``streamit.client_ip`` (set TRUSTED_PROXY_COUNT behind a proxy).

If the cache cannot be reached the lockout fails open, logged: people can still log in during an outage,
and argon2 keeps guessing slow.
"""

import logging

from axes.conf import settings as axes_settings
from axes.handlers.cache import AxesCacheHandler
from axes.helpers import get_cache, get_cache_timeout, get_failure_limit
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from redis.exceptions import RedisError

from streamit.ratelimits import wait_in_words

logger = logging.getLogger(__name__)

_CACHE_ERRORS = (RedisError, OSError)


def lockout_username(request: HttpRequest, credentials: dict | None) -> str | None:
    username = (credentials or {}).get("username") or request.POST.get("username")
    return username.strip().lower() if username else None


def _ip_key(ip_address: str) -> str:
    return f"streamit-lockout-ip:{ip_address}"


class LockoutHandler(AxesCacheHandler):
    """Axes counts per username (AXES_LOCKOUT_PARAMETERS); this adds the per-address count and fails open."""

    def __init__(self):
        pass  # the cache is looked up per use (below), so a changed CACHES setting is followed

    @property
    def cache(self):
        return get_cache()

    def ip_failures(self, request: HttpRequest) -> int:
        return self.cache.get(_ip_key(request.axes_ip_address), 0)

    def account_locked(self, request: HttpRequest, credentials: dict | None) -> bool:
        return super().is_locked(request, credentials)

    def address_locked(self, request: HttpRequest) -> bool:
        return self.ip_failures(request) >= settings.LOGIN_IP_FAILURE_LIMIT

    def is_locked(self, request, credentials=None) -> bool:
        try:
            return self.account_locked(request, credentials) or self.address_locked(request)
        except _CACHE_ERRORS:
            logger.exception("Log-in lockout not checked (cache unreachable): letting the attempt through")
            return False

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        if request is None:
            return
        try:
            super().user_login_failed(sender, credentials, request, **kwargs)
            key = _ip_key(request.axes_ip_address)
            if not self.cache.add(key, 1, get_cache_timeout(request)):
                self.cache.incr(key)
            if self.address_locked(request):
                request.axes_locked_out = True
                request.axes_credentials = credentials
        except _CACHE_ERRORS:
            logger.exception("A failed log-in was not counted (cache unreachable)")

    def user_logged_in(self, sender, request, user, **kwargs):
        # Resets the account's count only: an attacker's own good log-in must not clear the address count.
        try:
            super().user_logged_in(sender, request, user, **kwargs)
        except _CACHE_ERRORS:
            logger.exception("A log-in's failure count was not reset (cache unreachable)")

    def reset_attempts(self, *, ip_address=None, username=None, ip_or_username=False) -> int:
        count = 0
        if username is not None:
            count += super().reset_attempts(username=username)
        if ip_address is not None:
            count += int(bool(self.cache.delete(_ip_key(ip_address))))
        return count


def lockout_response(request: HttpRequest, original_response, credentials: dict | None) -> HttpResponse:
    """The page a locked-out log-in gets: says whether the account or the address is locked."""
    from axes.handlers.proxy import AxesProxyHandler

    handler = AxesProxyHandler.get_implementation()
    account = handler.account_locked(request, credentials) if isinstance(handler, LockoutHandler) else True
    cool_off = (
        wait_in_words(int(axes_settings.AXES_COOLOFF_TIME * 3600)) if axes_settings.AXES_COOLOFF_TIME else ""
    )
    context = {
        "account_locked": account,
        "failure_limit": get_failure_limit(request, credentials),
        "cool_off": cool_off,
    }
    return render(request, "accounts/locked_out.html", context, status=429)
