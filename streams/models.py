from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models

CHAT_SLOW_SECONDS_MAX = 600


class IngressType(models.TextChoices):
    RTMP = "RTMP", "RTMP (OBS)"
    WHIP = "WHIP", "WHIP"


class Stream(models.Model):
    """One per approved creator (created on approval). Field names follow the seed's Stream model."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="stream")
    title = models.CharField(max_length=140, blank=True)
    description = models.TextField(max_length=2000, blank=True)
    thumbnail = models.ImageField(upload_to="thumbnails/", blank=True)

    # LiveKit infrastructure: the creator's one ingress.
    ingress_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    ingress_type = models.CharField(max_length=4, choices=IngressType.choices, blank=True)
    server_url = models.CharField(max_length=500, blank=True)
    stream_key = models.CharField(max_length=200, blank=True)

    is_live = models.BooleanField(default=False, db_index=True)
    live_since = models.DateTimeField(null=True, blank=True)
    viewer_count = models.PositiveIntegerField(default=0)
    # Time (ms since the epoch) of the newest ingress event applied, so an older, late delivery is ignored.
    live_changed_at_ms = models.BigIntegerField(default=0)

    is_chat_enabled = models.BooleanField(default=True)
    is_chat_delayed = models.BooleanField(default=False)
    is_chat_followers_only = models.BooleanField(default=False)
    # Slow mode: one message per chatter every this many seconds (0: off), enforced by the chat API.
    chat_slow_seconds = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(CHAT_SLOW_SECONDS_MAX)]
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["is_live", "-viewer_count"], name="stream_live_viewers_idx")]

    def __str__(self) -> str:
        return self.title or f"Stream of user {self.user_id}"

    @property
    def masked_stream_key(self) -> str:
        return f"{self.stream_key[:3]}…" if self.stream_key else ""


class StreamSession(models.Model):
    """One go-live of a stream: opened when it goes live, closed when it goes offline by any path."""

    stream = models.ForeignKey(Stream, on_delete=models.CASCADE, related_name="sessions")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    peak_viewers = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # At most one open session per stream, whatever races the webhooks run into.
            models.UniqueConstraint(
                fields=["stream"],
                condition=models.Q(ended_at__isnull=True),
                name="one_open_session_per_stream",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stream_id} from {self.started_at:%Y-%m-%d %H:%M}"


class ViewerPresence(models.Model):
    """Who is in a creator's room, per identity, from participant webhooks.

    ``last_event_at_ms`` is the connection time (joinedAtMs) of the last event applied. A leave is kept as
    a tombstone (present=False), so a join delivered after a newer leave cannot bring a viewer back; a
    room reset (the row with identity "*") supersedes and deletes the rows older than it, tombstones
    included, so the table holds a room's current viewers and recent leaves (streams.live).
    """

    stream = models.ForeignKey(Stream, on_delete=models.CASCADE, related_name="presences")
    identity = models.CharField(max_length=128)
    present = models.BooleanField(default=True)
    last_event_at_ms = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["stream", "identity"], name="presence_unique_identity"),
        ]
        indexes = [models.Index(fields=["stream", "present"], name="presence_stream_present_idx")]

    def __str__(self) -> str:
        return f"{self.identity} in {self.stream_id} ({'present' if self.present else 'left'})"
