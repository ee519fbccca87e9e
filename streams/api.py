"""The creator's stream API (the seed's nine /api/stream/* endpoints), for approved creators only.

Every endpoint acts on the caller's own stream: there is no id in any path or body, so a creator cannot
name another's stream. The stream key appears in one response only, ``GET /api/stream/credentials``.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from streamit.api_errors import error_responses
from streamit.parsers import JSONParser
from streamit.throttles import CredentialsThrottle

from . import services
from .models import CHAT_SLOW_SECONDS_MAX, IngressType, Stream
from .selectors import host_of
from .thumbnails import thumbnail_validate

ERRORS = error_responses(
    {
        400: "Invalid input: `detail`, and `fields` by name",
        401: "Not signed in",
        403: "Signed in, but not an approved creator",
        503: "LiveKit is unavailable: nothing was changed",
    }
)
WHO = {401: ERRORS[401], 403: ERRORS[403]}


class IsApprovedCreator(BasePermission):
    message = "Only approved creators can manage a stream. Apply at /accounts/creator/ to become one."

    def has_permission(self, request, view) -> bool:
        # Not signed in: DRF answers 401 (see streamit.authentication); signed in without the right: 403.
        return request.user.is_authenticated and request.user.is_approved_creator


class CreatorApi(APIView):
    """Errors (a refused key change, LiveKit down) get their status in ``streamit.api_errors``."""

    permission_classes = [IsApprovedCreator]

    def stream(self, request) -> Stream:
        stream = Stream.objects.get(user=request.user)
        stream.user = request.user  # the caller is its owner: no second query for them
        return stream


def no_store(response: Response) -> Response:
    response["Cache-Control"] = "no-store"  # a key must not sit in a browser or proxy cache
    return response


@extend_schema_field({"type": "string", "nullable": True})
class ThumbnailUrlField(serializers.Field):
    """The thumbnail's URL, or null: the seed names it ``thumbnail``, our pages ``thumbnailUrl``."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value) -> str | None:
        return value.url if value else None


class KeyOutputSerializer(serializers.Serializer):
    """What a create or reset answers: the seed's ``{serverUrl, streamKey, ingressId}``, and a warning
    when the old key could not be revoked yet. Sent with ``Cache-Control: no-store``."""

    ingressId = serializers.CharField(source="stream.ingress_id")
    ingressType = serializers.CharField(source="stream.ingress_type")
    serverUrl = serializers.CharField(source="stream.server_url")
    streamKey = serializers.CharField(source="stream.stream_key")
    warning = serializers.CharField(allow_null=True)


class IngressTypeField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=IngressType.values, **kwargs)


class StreamCreateApi(CreatorApi):
    class InputSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=140, required=False, default="", allow_blank=True)
        description = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)
        ingressType = IngressTypeField(required=False, default=IngressType.RTMP)

    @extend_schema(
        request=InputSerializer,
        responses={
            201: KeyOutputSerializer,
            **error_responses({409: "A key exists already"}),
            **ERRORS,
        },
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.stream_create(
            user=request.user,
            title=data.validated_data["title"],
            description=data.validated_data["description"],
            ingress_type=data.validated_data["ingressType"],
        )
        return no_store(Response(KeyOutputSerializer(result).data, status=status.HTTP_201_CREATED))


class StreamIngressApi(CreatorApi):
    class InputSerializer(serializers.Serializer):
        ingressType = IngressTypeField(required=False, default=IngressType.RTMP)

    @extend_schema(request=InputSerializer, responses={200: KeyOutputSerializer, **ERRORS})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.stream_ingress_create(
            user=request.user, ingress_type=data.validated_data["ingressType"]
        )
        return no_store(Response(KeyOutputSerializer(result).data))

    @extend_schema(
        request=None,
        responses={204: None, **error_responses({404: "No key to delete"}), **ERRORS},
    )
    def delete(self, request):
        services.stream_ingress_delete(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class StreamInfoOutputSerializer(serializers.Serializer):
    userId = serializers.IntegerField(source="user_id")
    title = serializers.CharField()
    description = serializers.CharField()
    thumbnail = ThumbnailUrlField()
    thumbnailUrl = ThumbnailUrlField(source="thumbnail")
    ingressType = serializers.CharField(source="ingress_type")
    hasKey = serializers.SerializerMethodField()
    isLive = serializers.BooleanField(source="is_live")
    isChatEnabled = serializers.BooleanField(source="is_chat_enabled")
    isChatDelayed = serializers.BooleanField(source="is_chat_delayed")
    isChatFollowersOnly = serializers.BooleanField(source="is_chat_followers_only")
    chatSlowSeconds = serializers.IntegerField(source="chat_slow_seconds")

    def get_hasKey(self, stream) -> bool:  # noqa: N802
        return bool(stream.ingress_id)


class StreamInfoApi(CreatorApi):
    # The one API view that takes a file: JSON for the text fields, multipart for the thumbnail.
    parser_classes = [JSONParser, MultiPartParser]
    accepts_uploads = True

    class InputSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=140, required=False, allow_blank=True)
        description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
        thumbnail = serializers.FileField(required=False)

        def validate_thumbnail(self, upload):
            try:
                return thumbnail_validate(upload)
            except DjangoValidationError as error:
                raise ValidationError(error.messages) from error

    @extend_schema(responses={200: StreamInfoOutputSerializer, **WHO})
    def get(self, request):
        return Response(StreamInfoOutputSerializer(self.stream(request)).data)

    @extend_schema(request=InputSerializer, responses={200: StreamInfoOutputSerializer, **ERRORS})
    def put(self, request):
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        stream = services.stream_info_update(stream=self.stream(request), **data.validated_data)
        return Response(StreamInfoOutputSerializer(stream).data)


class StreamCredentialsApi(CreatorApi):
    throttle_classes = [CredentialsThrottle]

    class OutputSerializer(serializers.Serializer):
        ingressId = serializers.CharField(source="ingress_id")
        ingressType = serializers.CharField(source="ingress_type")
        serverUrl = serializers.CharField(source="server_url")
        streamKey = serializers.CharField(source="stream_key")

    @extend_schema(responses={200: OutputSerializer, **error_responses({404: "No key yet"}), **WHO})
    def get(self, request):
        stream = self.stream(request)
        if not stream.ingress_id:
            raise services.StreamError("You have no stream key yet: generate one.", "missing")
        return no_store(Response(self.OutputSerializer(stream).data))


class StreamChatSettingsApi(CreatorApi):
    class InputSerializer(serializers.Serializer):
        isChatEnabled = serializers.BooleanField(required=False, source="is_chat_enabled")
        isChatDelayed = serializers.BooleanField(required=False, source="is_chat_delayed")
        isChatFollowersOnly = serializers.BooleanField(required=False, source="is_chat_followers_only")
        chatSlowSeconds = serializers.IntegerField(
            required=False, min_value=0, max_value=CHAT_SLOW_SECONDS_MAX, source="chat_slow_seconds"
        )

    @extend_schema(request=InputSerializer, responses={200: StreamInfoOutputSerializer, **ERRORS})
    def put(self, request):
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        stream = services.stream_chat_settings_update(stream=self.stream(request), **data.validated_data)
        return Response(StreamInfoOutputSerializer(stream).data)


class StreamStatusApi(CreatorApi):
    class OutputSerializer(serializers.Serializer):
        isLive = serializers.BooleanField(source="is_live")
        viewerCount = serializers.IntegerField(source="viewer_count")
        liveSince = serializers.DateTimeField(source="live_since", allow_null=True)

    @extend_schema(responses={200: OutputSerializer, **WHO})
    def get(self, request):
        return Response(self.OutputSerializer(self.stream(request)).data)


class StreamCreatorTokenApi(CreatorApi):
    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()
        identity = serializers.CharField()
        name = serializers.CharField()
        wsUrl = serializers.CharField(source="ws_url")

    @extend_schema(request=None, responses={200: OutputSerializer, **WHO})
    def post(self, request):
        # The same service as the viewer token: the creator gets the self-view row, chat by the policy.
        issued = services.viewer_token_issue(viewer=request.user, host=host_of(self.stream(request)))
        return Response(self.OutputSerializer(issued).data)
