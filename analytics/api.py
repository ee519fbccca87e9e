"""GET /api/stream/analytics and /api/stream/analytics/<session>: an approved creator's own figures.

Not signed in: 401; signed in without creator rights, or asking for another creator's session: 403.
``?format=csv`` on a session downloads its series; errors stay JSON whatever the format asked.
"""

import csv
import io
from datetime import UTC, datetime

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from streamit.api_errors import error_responses
from streams.api import CreatorApi

from . import selectors
from .models import BUCKET_MS

WHO = error_responses(
    {
        401: "Not signed in",
        403: "Signed in, but not an approved creator, or the session is another creator's",
    }
)


class SessionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    startedAt = serializers.DateTimeField(source="started_at")
    endedAt = serializers.DateTimeField(source="ended_at", allow_null=True)
    live = serializers.BooleanField()
    durationSeconds = serializers.IntegerField(source="duration_s")
    peakViewers = serializers.IntegerField(source="peak_viewers")
    averageViewers = serializers.FloatField(source="average_viewers")
    minutesWatched = serializers.FloatField(source="minutes_watched")
    uniqueViewers = serializers.IntegerField(source="unique_viewers")
    followersGained = serializers.IntegerField(source="followers_gained")
    chatMessages = serializers.IntegerField(
        source="chat_messages", help_text="0 until chat messages are stored."
    )


class DayOutputSerializer(serializers.Serializer):
    date = serializers.DateField()
    hoursStreamed = serializers.FloatField(source="hours_streamed")
    minutesWatched = serializers.FloatField(source="minutes_watched")
    followersGained = serializers.IntegerField(source="followers_gained")


class PointOutputSerializer(serializers.Serializer):
    t = serializers.IntegerField(help_text="Start of the 15 s interval, ms since the epoch.")
    viewers = serializers.IntegerField(help_text="Viewers at the end of the interval.")
    peak = serializers.IntegerField(help_text="Most viewers at once during the interval.")


class ChatMinuteOutputSerializer(serializers.Serializer):
    t = serializers.IntegerField(help_text="Start of the minute, ms since the epoch.")
    messages = serializers.IntegerField()


class AnalyticsListApi(CreatorApi):
    class OutputSerializer(serializers.Serializer):
        days = DayOutputSerializer(many=True)
        sessions = SessionOutputSerializer(many=True)
        chatMessagesStored = serializers.BooleanField()

    @extend_schema(operation_id="stream_analytics_list", responses={200: OutputSerializer, **WHO})
    def get(self, request):
        """The last 30 days by day, and the sessions of those days, newest first."""
        stream = self.stream(request)
        sessions = selectors.session_list(stream=stream)
        days = selectors.day_list(stream=stream, sessions=sessions)
        data = {"days": days, "sessions": sessions, "chatMessagesStored": selectors.chat_stored()}
        return Response(self.OutputSerializer(data).data)


class SeriesCSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["interval_start_utc", "viewers", "peak"])
        for point in data["points"]:
            moment = datetime.fromtimestamp(point["t"] / 1000, tz=UTC)
            writer.writerow([moment.isoformat().replace("+00:00", "Z"), point["viewers"], point["peak"]])
        return out.getvalue().encode()


class AnalyticsSessionApi(CreatorApi):
    renderer_classes = [JSONRenderer, SeriesCSVRenderer]

    class OutputSerializer(serializers.Serializer):
        session = SessionOutputSerializer()
        intervalSeconds = serializers.IntegerField()
        points = PointOutputSerializer(many=True)
        chat = ChatMinuteOutputSerializer(
            many=True, help_text="Chat messages per minute (minutes with none left out)."
        )
        now = serializers.IntegerField(help_text="The server's time, ms since the epoch.")

    @extend_schema(
        operation_id="stream_analytics_session",
        parameters=[
            OpenApiParameter("format", str, enum=["json", "csv"], description="csv: the series as a file")
        ],
        responses={
            (200, "application/json"): OutputSerializer,
            (200, "text/csv"): OpenApiTypes.STR,
            **WHO,
            404: error_responses({404: "No such session"})[404],
        },
    )
    def get(self, request, session_id: int):
        """One session's figures and its viewer series (one point per 15 s interval)."""
        session = selectors.session_get(session_id=session_id)
        if session is None:
            raise NotFound("No such session.")
        if session.stream.user_id != request.user.pk:
            raise PermissionDenied("This session is another creator's.")
        figures, points = selectors.session_detail(session=session)
        now_ms = int(datetime.now(tz=UTC).timestamp() * 1000)
        data = self.OutputSerializer(
            {
                "session": figures,
                "intervalSeconds": BUCKET_MS // 1000,
                "points": points,
                "chat": selectors.chat_rate(session=session),
                "now": now_ms,
            }
        ).data
        response = Response(data)
        if request.accepted_renderer.format == "csv":
            name = f"session-{session.pk}-{session.started_at:%Y%m%d-%H%M}.csv"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def handle_exception(self, exc):
        # An error is {"detail": …} in JSON even when the series was asked for as CSV.
        response = super().handle_exception(exc)
        self.request.accepted_renderer, self.request.accepted_media_type = JSONRenderer(), "application/json"
        return response
