import logging

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from streams import livekit as lk

from .services import APPLIED, REPEAT, webhook_event_receive

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def livekit_receive(request: HttpRequest) -> JsonResponse:
    """LiveKit's deliveries: signed JWT in Authorization (no "Bearer"), body application/webhook+json.

    The body is read raw: its SHA-256 is what the token signs, and DRF's parsers refuse this content type.
    LiveKit retries a 5xx (and a refused connection) but not a 4xx or a 2xx, so a 5xx means only "we are
    down, try again"; a bug is a logged 500 only because there is nothing better to say.
    """
    try:
        body = request.body
    except RequestDataTooBig:
        return JsonResponse({"detail": "The webhook body is too large."}, status=413)
    try:
        event = lk.webhook_verify(body=body, authorization=request.headers.get("Authorization", ""))
    except lk.WebhookInvalid as error:
        logger.warning("Refused a webhook delivery: %s", error)
        return JsonResponse({"detail": "Invalid webhook signature."}, status=401)
    except lk.WebhookUnreadable as error:
        logger.error("A signed webhook delivery could not be read: %s", error)
        return JsonResponse({"detail": "Unreadable webhook body."}, status=400)
    try:
        outcome = webhook_event_receive(event=event)
    except (OperationalError, InterfaceError):
        # The database is unreachable or failing: a 503 makes LiveKit retry, and the transaction left nothing.
        logger.exception("Could not record webhook %s (%s)", event.id[:80], event.event[:80])
        return JsonResponse({"detail": "Temporarily unavailable, retry later."}, status=503)
    except Exception:
        # A bug (a constraint other than the repeated id, bad data): retrying cannot fix it, so it is a
        # logged 500 that someone must look at, not a 503 LiveKit would retry forever.
        logger.exception("Webhook %s (%s) failed: a bug, not an outage", event.id[:80], event.event[:80])
        return JsonResponse({"detail": "Internal error."}, status=500)
    detail = {APPLIED: "Applied.", REPEAT: "Already handled."}.get(outcome, "Recorded; not applied.")
    return JsonResponse({"detail": detail})
