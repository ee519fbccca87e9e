"""API throttles. Rates are in settings (REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]); the counts live in the
default cache, so they hold across workers when CACHE_URL is Redis. DRF answers 429 with Retry-After.

Client IPs come from ``streamit.client_ip`` (TRUSTED_PROXY_COUNT), the one source the form limits and the
log-in lockout use too: with no trusted proxy, X-Forwarded-For is ignored and cannot dodge a limit.
When the cache cannot be reached, django-redis answers "nothing counted" and these limits fail open.
"""

from rest_framework.throttling import SimpleRateThrottle

from .client_ip import client_ip


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
