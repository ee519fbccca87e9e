"""Content-Security-Policy with the LiveKit server allowed for the player's connections.

The LiveKit URL is read per request (not frozen at start-up) because browsers must reach it in both forms:
the WebSocket (`ws(s)://`) and, when a connect fails, the HTTP validate endpoint (`http(s)://`).
"""

from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings


def livekit_origins(url: str) -> list[str]:
    parts = urlsplit(url)
    secure = parts.scheme in ("wss", "https")
    return [
        f"{'wss' if secure else 'ws'}://{parts.netloc}",
        f"{'https' if secure else 'http'}://{parts.netloc}",
    ]


class StreamItCSPMiddleware(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only=report_only)
        if not report_only:
            update = dict(parts.update or {})
            update["connect-src"] = [*update.get("connect-src", []), *livekit_origins(settings.LIVEKIT_URL)]
            parts.update = update
        return parts
