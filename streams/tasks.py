"""Background work of the creator side, and the one way it is started.

Work is queued with ``schedule`` once the change that needs it has committed (a worker must never act on
a row that is rolled back), and a broker outage is logged, never raised: the change already stands and
``reconcile`` sweeps what the queue never got. Without a broker (development) Celery runs tasks eagerly,
in the request: then each task tries once, and what fails is left to ``reconcile`` rather than retried
inside the request.

LiveKit errors are retried by Celery's own ``autoretry_for`` with exponential backoff and jitter, and
only when LiveKit was unavailable: a refusal (``rejected``: bad credentials, a bad request) fails the
same way every time, so it is logged as an error and not retried.
"""

import logging
from collections.abc import Callable

from celery import current_app, shared_task
from django.db import transaction

from . import livekit

logger = logging.getLogger(__name__)

RETRY_BACKOFF_MAX_SECONDS = 600


class LiveKitUnavailable(Exception):
    """LiveKit could not be reached: the task is retried later."""


def _queue(task, kwargs: dict) -> None:
    if current_app.conf.task_always_eager:
        task.apply(kwargs=kwargs)  # no broker: run here (apply_async would still ask the broker pool)
        return
    try:
        task.apply_async(kwargs=kwargs)
    except Exception:  # a broker outage must not undo or fail the committed change; reconcile repairs
        logger.exception("Could not queue %s(%r); reconcile will repair it", task.name, kwargs)


def schedule(task, **kwargs) -> None:
    """Queue ``task`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: _queue(task, kwargs))


def schedule_retry(task, **kwargs) -> None:
    """Queue work the request already tried once and that failed.

    Without a broker there is no queue: running it again eagerly would hold the request another
    LIVEKIT_TIMEOUT, so it is left to ``reconcile``.
    """
    if current_app.conf.task_always_eager:
        logger.warning("No broker: %s(%r) is left to reconcile", task.name, kwargs)
        return
    schedule(task, **kwargs)


def livekit_step(task, step: Callable[[], None], what: str) -> str | None:
    """Run one LiveKit call; returns a final state when it failed and must not be retried."""
    try:
        step()
    except livekit.LiveKitError as error:
        if error.kind == livekit.REJECTED:
            logger.error("LiveKit refused to %s (%s); not retried", what, error)
            return "rejected"
        if task.request.is_eager:
            logger.warning("Could not %s (%s); reconcile will", what, error)
            return "pending"
        raise LiveKitUnavailable(f"{what}: {error}") from error
    return None


# How every task that calls LiveKit through ``livekit_step`` is retried (Celery's own backoff, jittered).
LIVEKIT_RETRY = {
    "bind": True,
    "acks_late": True,
    "autoretry_for": (LiveKitUnavailable,),
    "retry_backoff": 2,
    "retry_backoff_max": RETRY_BACKOFF_MAX_SECONDS,
    "retry_jitter": True,
}


@shared_task(**LIVEKIT_RETRY, max_retries=None)  # a leaked key must die: keep trying while LiveKit is down
def livekit_release(self, *, ingress_ids: list[str] = (), room: str | None = None) -> str:
    """Delete ingresses (replaced or revoked keys), then close a room (disconnecting everyone in it).

    Both calls treat "not found" as done, so a retry after a partial success is safe.
    """
    for ingress_id in ingress_ids:
        failed = livekit_step(
            self, lambda i=ingress_id: livekit.ingress_delete(ingress_id=i), f"delete {ingress_id}"
        )
        if failed:
            return failed
    if room:
        failed = livekit_step(self, lambda: livekit.room_delete(room=room), f"close room {room}")
        if failed:
            return failed
    return "done"
