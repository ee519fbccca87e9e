"""Chat work that runs later: releasing a message the creator's delay held."""

from celery import shared_task

from streams import livekit
from streams.tasks import LIVEKIT_RETRY, LiveKitUnavailable

from . import services


@shared_task(**LIVEKIT_RETRY)
def message_release(self, *, message_id: int) -> bool:
    try:
        return services.message_release_now(message_id=message_id)
    except livekit.LiveKitError as error:
        if error.kind != livekit.UNAVAILABLE:
            raise
        raise LiveKitUnavailable(f"chat message {message_id}: {error}") from error  # retried with backoff
