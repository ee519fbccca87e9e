"""The client's IP address, as every rate limit and lockout must see it.

Behind N trusted proxies the client is the N-th address from the right of X-Forwarded-For (each proxy
appends the address it saw). With no trusted proxy the header is ignored: anyone can send it.
"""

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    remote_addr = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote_addr
    forwarded = [
        part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()
    ]
    if not forwarded:
        return remote_addr
    return forwarded[-min(proxies, len(forwarded))]
