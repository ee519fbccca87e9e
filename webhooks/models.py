from django.db import models


class WebhookEvent(models.Model):
    """Every verified LiveKit delivery, kept by its id so a repeat is recognised and changes nothing.

    The row is written in the same transaction as the event's effects: if it exists, the effects happened.
    """

    livekit_id = models.CharField("LiveKit id", max_length=64, unique=True)
    event = models.CharField(max_length=64, db_index=True)
    room = models.CharField(max_length=128, blank=True, db_index=True)
    created_at = models.DateTimeField(help_text="When LiveKit says the event happened (whole seconds).")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    payload = models.JSONField(help_text="The event as LiveKit sent it, stream key redacted.")
    problem = models.CharField(
        max_length=200,
        blank=True,
        help_text="Why a signed delivery was recorded but not applied; empty if it was applied.",
    )

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.event} {self.livekit_id}"
