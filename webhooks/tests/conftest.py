"""TEMPORARY stand-in for the `livekit` fixture until livekit_standin lands (only build_webhook)."""

import base64
import hashlib
import secrets
import time

import jwt
import pytest
from google.protobuf.json_format import MessageToJson, ParseDict
from livekit.protocol.webhook import WebhookEvent


class _Shim:
    api_key = "testkey"
    api_secret = "s" * 40
    clock_skew = 0

    def build_webhook(
        self, event, *, room=None, participant=None, ingress=None, created_at=None, event_id=None
    ):
        message = ParseDict(
            {
                "event": event,
                "id": event_id or f"EV_{secrets.token_hex(6)}",
                "createdAt": str(created_at if created_at is not None else int(time.time())),
                **({"room": room} if room else {}),
                **({"participant": participant} if participant else {}),
                **({"ingressInfo": ingress} if ingress else {}),
            },
            WebhookEvent(),
        )
        body = MessageToJson(message, indent=0).encode()
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        now = int(time.time()) + self.clock_skew
        claims = {"iss": self.api_key, "nbf": now, "exp": now + 600, "sha256": digest}
        return body, jwt.encode(claims, self.api_secret, algorithm="HS256")


@pytest.fixture
def livekit(settings):
    shim = _Shim()
    settings.LIVEKIT_API_KEY = shim.api_key
    settings.LIVEKIT_API_SECRET = shim.api_secret
    return shim
