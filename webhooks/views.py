import logging

from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from streams import livekit as lk

from .services import webhook_event_receive

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def livekit_receive(request: HttpRequest) -> JsonResponse:
    """LiveKit's deliveries: signed JWT in Authorization (no "Bearer"), body application/webhook+json.

    The body is read raw: its SHA-256 is what the token signs, and DRF's parsers refuse this content type.
    """
    try:
        event = lk.webhook_verify(request.body, request.headers.get("Authorization", ""))
    except lk.WebhookInvalid as error:
        logger.warning("Refused a webhook delivery: %s", error)
        return JsonResponse({"detail": "Invalid webhook signature."}, status=401)
    try:
        applied = webhook_event_receive(event=event)
    except DatabaseError:
        # Our failure, not LiveKit's: a 5xx makes LiveKit retry, and the transaction left nothing behind.
        logger.exception("Could not record webhook %s (%s)", event.id, event.event)
        return JsonResponse({"detail": "Temporarily unavailable, retry later."}, status=503)
    return JsonResponse({"detail": "Applied." if applied else "Already handled."})
