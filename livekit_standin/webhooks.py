"""Webhooks as LiveKit sends them: protojson bodies, a raw JWT carrying the body's SHA-256, ids ``EV_…``.

Deliveries go out from one background thread in the order they were emitted (LiveKit queues per
resource). Modes let a test see what LiveKit's delivery really does: ``duplicate`` posts each event twice,
``drop`` loses them, ``hold`` keeps them until ``release_held`` posts them in the order asked for.
"""

import queue
import random
import secrets
import string
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
from livekit.protocol import ingress as proto_ingress
from livekit.protocol import models as proto_models
from livekit.protocol import webhook as proto_webhook

WEBHOOK_PATH = "/api/webhook/livekit"
MODES = ("normal", "duplicate", "drop", "hold")
_FIELDS = {
    "room": proto_models.Room,
    "participant": proto_models.ParticipantInfo,
    "ingress_info": proto_ingress.IngressInfo,
    "track": proto_models.TrackInfo,
}


def _event_id() -> str:
    return "EV_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(12))


class WebhookSender:
    def __init__(self, standin):
        self._standin = standin
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="livekit-standin-webhooks", daemon=True)
        self._thread.start()
        self.reset()

    def reset(self) -> None:
        self.flush()
        self.site_url: str | None = None
        self.mode = "normal"
        self.emitted: list[tuple[bytes, str]] = []
        self.sent: list[tuple[str, int]] = []
        self.held: list[tuple[str, bytes, str]] = []

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"webhook_mode must be one of {MODES}")
        self.mode = mode

    def build(
        self,
        event: str,
        *,
        room: Any = None,
        participant: Any = None,
        ingress: Any = None,
        ingress_info: Any = None,
        track: Any = None,
        created_at: int | None = None,
        event_id: str | None = None,
    ) -> tuple[bytes, str]:
        """A delivery signed with the stand-in's key and secret; payloads may be protos or dicts."""
        from .server import event_body, sign_webhook

        message = proto_webhook.WebhookEvent(
            event=event, id=event_id or _event_id(), created_at=created_at or int(time.time())
        )
        for name, value in (
            ("room", room),
            ("participant", participant),
            ("ingress_info", ingress_info or ingress),
            ("track", track),
        ):
            if value is None:
                continue
            target = getattr(message, name)
            if isinstance(value, Message):
                target.CopyFrom(value)
            else:
                json_format.ParseDict(value, target, ignore_unknown_fields=True)
        body = event_body(message)
        # A skewed stand-in clock signs with the skewed time too: -3600 makes an already-expired delivery.
        return body, sign_webhook(
            body,
            api_key=self._standin.api_key,
            api_secret=self._standin.api_secret,
            clock_skew=self._standin.clock_skew,
        )

    def emit(self, event: str, **payload: Any) -> None:
        body, auth = self.build(event, **payload)
        self.emitted.append((body, auth))
        if self.site_url is None or self.mode == "drop":
            return
        if self.mode == "hold":
            self.held.append((event, body, auth))
            return
        self._queue.put((event, body, auth))
        if self.mode == "duplicate":
            self._queue.put((event, body, auth))

    def release_held(self, order: str = "fifo") -> None:
        held, self.held = self.held, []
        if order == "reverse":
            held.reverse()
        elif order == "shuffle":
            random.shuffle(held)
        for item in held:
            self._queue.put(item)
        self.flush()

    def flush(self) -> None:
        self._queue.join()

    def close(self) -> None:
        self._queue.put(None)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._post(*item)
            finally:
                self._queue.task_done()

    def _post(self, event: str, body: bytes, auth: str) -> None:
        if self.site_url is None:
            return
        request = urllib.request.Request(  # noqa: S310 - the configured (loopback) site URL
            self.site_url.rstrip("/") + WEBHOOK_PATH,
            data=body,
            method="POST",
            headers={"Content-Type": "application/webhook+json", "Authorization": auth},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        except OSError:
            status = 0
        self.sent.append((event, status))
