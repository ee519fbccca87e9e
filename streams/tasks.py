"""Background work of the creator side (Celery; eager when no broker is configured)."""

import logging

from celery import shared_task

from . import livekit

logger = logging.getLogger(__name__)

RETRY_BACKOFF_MAX_SECONDS = 600


@shared_task(bind=True, max_retries=None, acks_late=True)
def ingress_delete_retry(self, ingress_id: str) -> str:
    """Delete a replaced or orphaned ingress at LiveKit, retrying with backoff until LiveKit agrees.

    A leaked key must stop working, so this never gives up on a worker. Run eagerly (no broker) it tries
    once: the request must not wait on an outage, and ``reconcile`` deletes ingresses no stream owns.
    """
    try:
        livekit.ingress_delete(ingress_id)
    except livekit.LiveKitError as error:
        if error.kind != livekit.UNAVAILABLE and error.kind != livekit.REJECTED:
            raise
        if self.request.is_eager:
            logger.warning("Ingress %s still not deleted (%s); reconcile will", ingress_id, error.kind)
            return "pending"
        countdown = min(2 ** (self.request.retries + 1), RETRY_BACKOFF_MAX_SECONDS)
        raise self.retry(exc=error, countdown=countdown) from error
    return "deleted"
