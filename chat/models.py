from django.conf import settings
from django.db import models
from django.utils import timezone

from streams.models import StreamSession


class Role(models.TextChoices):
    CREATOR = "creator"
    MODERATOR = "moderator"
    VIEWER = "viewer"
    GUEST = "guest"


class ChatMessage(models.Model):
    """One accepted chat line, kept with the stream session it was said in (history for late joiners)."""

    session = models.ForeignKey(StreamSession, on_delete=models.CASCADE, related_name="chat_messages")
    # None for a guest. A user deleting their account takes their messages with them.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="chat_messages",
    )
    identity = models.CharField(max_length=128)  # the LiveKit identity that said it
    name = models.CharField(max_length=40)  # the display name as it was shown
    role = models.CharField(max_length=10, choices=Role.choices)
    text = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["session", "-id"], name="chat_session_newest_idx")]

    def __str__(self) -> str:
        return f"{self.name}: {self.text[:40]}"
