"""How each stream session went, kept small: one row per 15-second interval, written from webhooks.

Viewer connections (``ViewerSpan``) and room resets (``RoomReset``) are the facts LiveKit reports; the
series (``SeriesPoint``) and the figures (``SessionStats``) are derived from them, so whatever order the
deliveries arrive in, the result is that of the facts alone.
"""

from django.db import models

from streams.models import Stream, StreamSession

BUCKET_MS = 15_000


class ViewerSpan(models.Model):
    """One connection of a viewer to a creator's room, from its join to its end (null while connected).

    A connection is named by its identity and ``joinedAtMs``, which its join and its leave both carry.
    ``ended_at_ms`` is the earlier of the reported leave and the first room reset after the join.
    """

    stream = models.ForeignKey(Stream, on_delete=models.CASCADE, related_name="+")
    identity = models.CharField(max_length=128)
    joined_at_ms = models.BigIntegerField()
    left_at_ms = models.BigIntegerField(null=True, blank=True)
    ended_at_ms = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["stream", "identity", "joined_at_ms"], name="viewer_span_unique_connection"
            ),
        ]
        indexes = [
            models.Index(fields=["stream", "joined_at_ms"], name="viewer_span_stream_joined_idx"),
            # Connections overlapping an interval are found from their end: older ones are never read.
            models.Index(fields=["stream", "ended_at_ms"], name="viewer_span_stream_ended_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.identity} in {self.stream_id} from {self.joined_at_ms}"


class RoomReset(models.Model):
    """The room emptied at ``at_ms`` (stream offline, room finished): every connection older ended then."""

    stream = models.ForeignKey(Stream, on_delete=models.CASCADE, related_name="+")
    at_ms = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["stream", "at_ms"], name="room_reset_unique_time")]

    def __str__(self) -> str:
        return f"{self.stream_id} reset at {self.at_ms}"


class SeriesPoint(models.Model):
    """One 15-second interval of a session: viewers at its end, its peak and the presence it held."""

    session = models.ForeignKey(StreamSession, on_delete=models.CASCADE, related_name="analytics_points")
    bucket = models.BigIntegerField(
        help_text="Start of the interval, ms since the epoch (a multiple of 15 000)."
    )
    viewers = models.PositiveIntegerField(default=0)
    peak = models.PositiveIntegerField(default=0)
    presence_ms = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["bucket"]
        constraints = [
            models.UniqueConstraint(fields=["session", "bucket"], name="series_point_one_per_interval"),
        ]

    def __str__(self) -> str:
        return f"{self.session_id}@{self.bucket}: {self.viewers}"


class SessionStats(models.Model):
    """A session's figures, refreshed with its series so a list of sessions reads one row each."""

    session = models.OneToOneField(
        StreamSession, on_delete=models.CASCADE, primary_key=True, related_name="analytics"
    )
    peak = models.PositiveIntegerField(default=0)
    presence_ms = models.BigIntegerField(default=0)  # up to the end of the last interval with a row
    unique_viewers = models.PositiveIntegerField(default=0)
    last_bucket = models.BigIntegerField(null=True, blank=True)
    last_viewers = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Figures of session {self.session_id}"
