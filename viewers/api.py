"""The viewer API: stream lookup, viewer tokens, lists, search, follow and block (JSON names as the seed's).

Who may chat is decided on the server, by ``streams.selectors.chat_access``: written into the token
(``streams.services.viewer_token_issue``) and answered in the stream info for the page. A creator who
blocked the caller, or whom the caller blocked, does not exist for them: 404.
"""

from django.core.cache import cache
from django.core.validators import ProhibitNullCharactersValidator
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services as account_services
from accounts.models import User
from accounts.validators import could_be_username
from streamit.api_errors import error_responses, refusal_body
from streamit.errors import DomainError
from streamit.plain_json import accepts_plain_json, json_response
from streamit.throttles import SocialThrottle, TokenThrottle
from streams import selectors as stream_selectors
from streams import services as stream_services
from streams.api import ThumbnailUrlField
from streams.stream_state import stream_state_get

from . import selectors, token_fast

NOT_FOUND = stream_services.NO_SUCH_STREAM
ERRORS = error_responses(
    {
        400: "Invalid input: `detail`, and `fields` by name",
        401: "Not signed in",
        404: "Unknown user, not a creator, or hidden by a block",
        409: "Already done",
        429: "Too many requests (see Retry-After)",
    }
)


class DisplayNameField(serializers.CharField):
    """Free text cleaned by ``tokens.clean_display_name``: control characters (even NUL) are dropped."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)]


def _viewer(request) -> User | None:
    return request.user if request.user.is_authenticated else None


def _stream_or_404(request, username: str):
    stream = selectors.stream_get_for_viewer(username=username, viewer=_viewer(request))
    if stream is None:
        raise NotFound(NOT_FOUND)
    return stream


class CreatorSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    username = serializers.CharField()


class StreamCardSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    userId = serializers.IntegerField(source="user_id")  # the seed's name for hostId
    hostId = serializers.IntegerField(source="user_id")
    title = serializers.CharField()
    thumbnail = ThumbnailUrlField()
    thumbnailUrl = ThumbnailUrlField(source="thumbnail")
    isLive = serializers.BooleanField(source="is_live")
    viewerCount = serializers.IntegerField(source="viewer_count")
    liveSince = serializers.DateTimeField(source="live_since", allow_null=True)
    user = CreatorSerializer()


class StreamInfoSerializer(StreamCardSerializer):
    description = serializers.CharField()
    isChatEnabled = serializers.BooleanField(source="is_chat_enabled")
    isChatDelayed = serializers.BooleanField(source="is_chat_delayed")
    isChatFollowersOnly = serializers.BooleanField(source="is_chat_followers_only")
    chatDelaySeconds = serializers.SerializerMethodField()
    chatSlowSeconds = serializers.SerializerMethodField()
    isFollowing = serializers.SerializerMethodField()
    isCreator = serializers.SerializerMethodField()
    canChat = serializers.SerializerMethodField()
    chatBlockedReason = serializers.SerializerMethodField()

    def _access(self) -> stream_selectors.ChatAccess:
        return self.context["access"]

    def get_chatDelaySeconds(self, stream) -> int:  # noqa: N802
        return self._access().delay_seconds

    def get_chatSlowSeconds(self, stream) -> int:  # noqa: N802
        # Slow mode spares the creator (and, in the chat API, moderators).
        return 0 if self._access().is_creator else stream.chat_slow_seconds

    def get_isFollowing(self, stream) -> bool:  # noqa: N802
        return self._access().follows

    def get_isCreator(self, stream) -> bool:  # noqa: N802
        return self._access().is_creator

    def get_canChat(self, stream) -> bool:  # noqa: N802
        return self._access().can_chat

    def get_chatBlockedReason(self, stream) -> str | None:  # noqa: N802
        return self._access().reason


class ViewerStreamApi(APIView):
    @extend_schema(responses={200: StreamInfoSerializer, 404: ERRORS[404]}, operation_id="viewer_stream")
    def get(self, request, username: str):
        stream = _stream_or_404(request, username)
        access = stream_selectors.chat_access(host=stream_selectors.host_of(stream), viewer=_viewer(request))
        return Response(StreamInfoSerializer(stream, context={"access": access}).data)


# What every open watch page polls. A visitor who is not signed in (no block can apply) is answered from
# the cached stream state (streams.stream_state: one cache read, no query) on a plain path that skips
# DRF's request, negotiation and serializer, with the same body and headers DRF would send; anyone else,
# or any other request, takes the DRF path (the block check reads the database). A comment, not a
# docstring: drf-spectacular would publish a docstring as the operation's description.
class ViewerStreamStatusApi(APIView):
    class OutputSerializer(serializers.Serializer):
        isLive = serializers.BooleanField(source="is_live")
        viewerCount = serializers.IntegerField(source="viewer_count")

    @extend_schema(responses={200: OutputSerializer, 404: ERRORS[404]}, operation_id="viewer_stream_status")
    def get(self, request, username: str):
        return Response(self.OutputSerializer(_stream_or_404(request, username)).data)

    def dispatch(self, request, *args, **kwargs):
        # Who is calling is decided by DRF's own authenticators, as on the DRF path (cheap: no query
        # for a visitor without a session).
        plain = request.method == "GET" and accepts_plain_json(request)
        if not plain or self.initialize_request(request).user.is_authenticated:
            return super().dispatch(request, *args, **kwargs)
        state = stream_state_get(username=kwargs["username"])
        if state is None:
            return json_response(self, {"detail": NOT_FOUND}, status.HTTP_404_NOT_FOUND)
        return json_response(self, {"isLive": state.is_live, "viewerCount": state.viewer_count})


class ViewerTokenApi(APIView):
    throttle_classes = [TokenThrottle]

    class InputSerializer(serializers.Serializer):
        hostId = serializers.IntegerField(required=False, min_value=1)
        username = serializers.CharField(required=False, max_length=150)
        guestName = DisplayNameField(required=False, allow_blank=True, max_length=1000)

        def validate(self, data):
            if "hostId" not in data and "username" not in data:
                raise ValidationError("Give the stream's hostId or username.")
            return data

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()
        identity = serializers.CharField()
        name = serializers.CharField()
        wsUrl = serializers.CharField(source="ws_url")

    def dispatch(self, request, *args, **kwargs):
        # The hot path (viewers.token_fast) answers a well-formed request without DRF's content
        # negotiation and serializers; anything else (errors included) takes DRF's path below.
        try:
            body, status_code = token_fast.answer(request), status.HTTP_200_OK
        except DomainError as refusal:
            body, status_code = refusal_body(refusal), refusal.status
        if body is None:
            return super().dispatch(request, *args, **kwargs)
        return json_response(self, body, status_code)

    @extend_schema(
        request=InputSerializer,
        responses={200: OutputSerializer, 400: ERRORS[400], 404: ERRORS[404], 429: ERRORS[429]},
        operation_id="viewer_token",
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if "hostId" in data.validated_data:
            host = stream_selectors.host_get(user_id=data.validated_data["hostId"])
        else:
            host = stream_selectors.host_get(username=data.validated_data["username"])
        if host is None:
            raise NotFound(NOT_FOUND)
        issued = stream_services.viewer_token_issue(
            viewer=_viewer(request), host=host, guest_name=data.validated_data.get("guestName", "")
        )
        # OutputSerializer documents the body; built by hand, it skips a serializer per token (the hot path).
        return Response(
            {"token": issued.token, "identity": issued.identity, "name": issued.name, "wsUrl": issued.ws_url}
        )


class _StreamListApi(generics.ListAPIView):
    serializer_class = StreamCardSerializer

    @extend_schema(responses={200: StreamCardSerializer(many=True), 401: ERRORS[401]})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


LIVE_LIST_CACHE_SECONDS = 3


class ViewerLiveApi(_StreamListApi):
    """The busiest list: for visitors who are not signed in (no block can apply) a page is shared from
    the cache for a few seconds, so a crowd arriving at once costs one query per page, not one each."""

    def get_queryset(self):
        return selectors.stream_list_live(viewer=_viewer(self.request))

    def list(self, request, *args, **kwargs):
        page = request.query_params.get("page", "1")
        if request.user.is_authenticated or not (page.isascii() and page.isdigit()):
            return super().list(request, *args, **kwargs)
        key = f"live-list:{page}"
        data = cache.get(key)
        if data is None:
            response = super().list(request, *args, **kwargs)
            cache.set(key, response.data, LIVE_LIST_CACHE_SECONDS)
            return response
        return Response(data)


class ViewerFollowingApi(_StreamListApi):
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        return selectors.stream_list_following(viewer=self.request.user)


class ViewerRecommendedApi(_StreamListApi):
    def get_queryset(self):
        return selectors.stream_list_recommended(viewer=_viewer(self.request))


class SearchApi(_StreamListApi):
    @extend_schema(
        parameters=[OpenApiParameter("q", str, required=True, description="part of a username or title")],
        responses={200: StreamCardSerializer(many=True), 400: ERRORS[400]},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        query = self.request.query_params.get("q", "").strip()
        if not query:
            raise ValidationError("Give a search term in q.")
        return selectors.stream_search(viewer=_viewer(self.request), query=query[:100])


_RELATION = inline_serializer(
    "Relation", fields={"username": serializers.CharField(), "following": serializers.BooleanField()}
)


def _target_or_404(request, username: str) -> User:
    """Any user the caller may see: a user who blocked the caller does not exist for them."""
    target = (
        User.objects.filter(username__lower=username.lower(), is_active=True).first()
        if could_be_username(username)
        else None
    )
    if target is None or target.blocking_set.filter(blocked=request.user).exists():
        raise NotFound("No such user.")
    return target


class UserFollowApi(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [SocialThrottle]

    @extend_schema(request=None, responses={201: _RELATION, **ERRORS}, operation_id="user_follow")
    def post(self, request, username: str):
        target = _target_or_404(request, username)
        account_services.follow_create(follower=request.user, following=target)
        return Response({"username": target.username, "following": True}, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: _RELATION, **ERRORS}, operation_id="user_unfollow")
    def delete(self, request, username: str):
        target = _target_or_404(request, username)
        account_services.follow_delete(follower=request.user, following=target)
        return Response({"username": target.username, "following": False})


_BLOCK = inline_serializer(
    "BlockRelation", fields={"username": serializers.CharField(), "blocked": serializers.BooleanField()}
)


class UserBlockApi(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [SocialThrottle]

    @extend_schema(request=None, responses={201: _BLOCK, **ERRORS}, operation_id="user_block")
    def post(self, request, username: str):
        target = _target_or_404(request, username)
        account_services.block_create(blocker=request.user, blocked=target)
        return Response({"username": target.username, "blocked": True}, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: _BLOCK, **ERRORS}, operation_id="user_unblock")
    def delete(self, request, username: str):
        target = _target_or_404(request, username)
        account_services.block_delete(blocker=request.user, blocked=target)
        return Response({"username": target.username, "blocked": False})


class BlockedListApi(generics.ListAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = CreatorSerializer

    def get_queryset(self):
        return selectors.blocked_users(user=self.request.user)
