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
    deleted_at = models.DateTimeField(null=True, blank=True)  # deleted by a moderator: never shown again
    # Under the creator's delay a viewer's message is shown to viewers from this time (the creator and
    # moderators see it at once, pending); otherwise it is created_at.
    visible_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["session", "-id"], name="chat_session_newest_idx")]

    def __str__(self) -> str:
        return f"{self.name}: {self.text[:40]}"


class Moderator(models.Model):
    """Someone the creator trusts to delete messages and time chatters out in their room."""

    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="moderators")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="moderating")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["creator", "user"], name="moderator_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} moderates {self.creator_id}"


class TimeOut(models.Model):
    """A chatter (by LiveKit identity, so guests too) silenced in a creator's room until ``until``."""

    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_time_outs"
    )
    identity = models.CharField(max_length=128)
    until = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["creator", "identity"], name="time_out_unique")]

    def __str__(self) -> str:
        return f"{self.identity} timed out until {self.until:%H:%M}"


class ModerationAction(models.Model):
    """The moderation log: who did what to whom, when (kept when the message itself is gone)."""

    class Kind(models.TextChoices):
        DELETE = "delete"
        TIME_OUT = "time_out"
        APPOINT = "appoint"
        DISMISS = "dismiss"

    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    actor_name = models.CharField(max_length=150)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    target_name = models.CharField(max_length=150)
    detail = models.CharField(max_length=500, blank=True)  # the deleted text, or the time-out's length
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.actor_name} {self.kind} {self.target_name}"
