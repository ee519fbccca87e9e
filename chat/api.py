"""The chat API: send a message to a creator's room (signed-in viewers by session, guests by their token)."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated, NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from streamit.api_errors import ERROR_SCHEMA, error_responses
from streams import identities, livekit, tokens
from streams.api import IsApprovedCreator
from streams.selectors import Host, chat_access, host_get
from streams.services import NO_SUCH_STREAM

from . import services
from .selectors import is_moderator, message_data, message_history, moderation_log, moderator_list

ERRORS = error_responses(
    {
        400: "Invalid input: `detail`, and `fields` by name",
        401: "Neither signed in nor holding a valid token of ours (expired or forged)",
        404: "Unknown user, not a creator, or hidden by a block",
        429: "Too many messages (see Retry-After)",
        503: "LiveKit unavailable: the message was not sent",
    }
)
REFUSED = OpenApiResponse(
    {**ERROR_SCHEMA, "properties": {**ERROR_SCHEMA["properties"], "reason": {"type": "string"}}},
    description="Not allowed to chat: `detail` in words, `reason` a code "
    "(chat_disabled, followers_only, sign_in, offline, or a token for another stream)",
)


class ChatMessageSerializer(serializers.Serializer):
    """For the schema: the message as ``selectors.message_data`` writes it (API and room alike)."""

    id = serializers.IntegerField()
    author = serializers.CharField(help_text="the sender's LiveKit identity")
    name = serializers.CharField()
    role = serializers.ChoiceField(choices=["creator", "moderator", "viewer", "guest"])
    text = serializers.CharField()
    time = serializers.DateTimeField()


MESSAGE = ChatMessageSerializer


def _host_or_404(username: str) -> Host:
    host = host_get(username=username)
    if host is None:
        raise NotFound(NO_SUCH_STREAM)
    return host


def _chatter(request, host: Host) -> services.Chatter:
    """The session's user, else the guest named by ``Authorization: Bearer <the LiveKit token we issued>``."""
    if request.user.is_authenticated:
        return services.chatter_for_user(host=host, user=request.user)
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("Sign in, or join the stream as a guest, to chat.")
    try:
        holder = tokens.viewer_token_read(token.strip())
    except tokens.TokenInvalid:
        raise AuthenticationFailed("Your chat pass has expired or is not valid: reload the page.") from None
    # Only a guest proves who they are with a token; a signed-in viewer's identity needs their session.
    if not identities.is_guest_identity(holder.identity):
        raise NotAuthenticated("Sign in to chat as yourself.")
    if holder.room != livekit.room_name_for(host.user_id):
        raise PermissionDenied("This chat pass is for another stream.")
    return services.Chatter(user=None, identity=holder.identity, name=tokens.clean_display_name(holder.name))


HISTORY = inline_serializer(
    "ChatHistory",
    fields={
        "messages": ChatMessageSerializer(many=True),
        "hasMore": serializers.BooleanField(help_text="older messages remain"),
        "canModerate": serializers.BooleanField(help_text="the caller is the creator or a moderator"),
    },
)


class ChatMessagesApi(APIView):
    class HistoryQuerySerializer(serializers.Serializer):
        before = serializers.IntegerField(
            required=False, min_value=1, help_text="messages older than this id"
        )

    @extend_schema(
        parameters=[HistoryQuerySerializer],
        responses={200: HISTORY, 400: ERRORS[400], 404: ERRORS[404]},
        operation_id="chat_history",
    )
    def get(self, request, username: str):
        """The current session's last 50 messages, oldest first (deleted ones never)."""
        host = _host_or_404(username)
        if request.user.is_authenticated and chat_access(host=host, viewer=request.user).blocked:
            raise NotFound(NO_SUCH_STREAM)  # a block either way: the creator does not exist for them
        # Whether the page offers the moderation menu on each line (the server checks again on each action).
        can_moderate = request.user.is_authenticated and (
            request.user.pk == host.user_id or is_moderator(host_id=host.user_id, user=request.user)
        )
        query = self.HistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        messages, more = message_history(
            host_id=host.user_id, before=query.validated_data.get("before"), with_held=can_moderate
        )
        now = timezone.now()
        data = [message_data(m, pending=m.visible_at > now) for m in messages]
        return Response({"messages": data, "hasMore": more, "canModerate": can_moderate})

    class InputSerializer(serializers.Serializer):
        # Cleaned and held to 500 characters by the service; the cap here only bounds the work.
        text = serializers.CharField(max_length=4000, trim_whitespace=False)

    @extend_schema(
        request=InputSerializer,
        responses={201: MESSAGE, 403: REFUSED, **ERRORS},
        operation_id="chat_message_send",
    )
    def post(self, request, username: str):
        host = _host_or_404(username)
        chatter = _chatter(request, host)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # A refusal (with its reason) or a too-fast sender (429, Retry-After) is answered by
        # streamit.api_errors, like every other domain error.
        message = services.message_send(host=host, chatter=chatter, text=data.validated_data["text"])
        held = message.visible_at > message.created_at  # the delay holds it: the sender sees it pending
        return Response(message_data(message, pending=held), status=status.HTTP_201_CREATED)


# --- Moderation ---------------------------------------------------------------------------------------


class ChatMessageDeleteApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None, **ERRORS}, operation_id="chat_message_delete")
    def delete(self, request, username: str, message_id: int):
        """The creator or a moderator deletes a message: gone for everyone at once."""
        services.message_delete(actor=request.user, host=_host_or_404(username), message_id=message_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ChatTimeOutApi(APIView):
    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        minutes = serializers.ChoiceField(choices=services.TIME_OUT_MINUTES)

    class OutputSerializer(serializers.Serializer):
        identity = serializers.CharField()
        until = serializers.DateTimeField()

    @extend_schema(
        request=InputSerializer, responses={201: OutputSerializer, **ERRORS}, operation_id="chat_time_out"
    )
    def post(self, request, username: str, message_id: int):
        """The creator or a moderator times out the author of a message for 1, 10 or 60 minutes."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        time_out = services.chatter_time_out(
            actor=request.user,
            host=_host_or_404(username),
            message_id=message_id,
            minutes=data.validated_data["minutes"],
        )
        return Response(self.OutputSerializer(time_out).data, status=status.HTTP_201_CREATED)


class ModeratorSerializer(serializers.Serializer):
    username = serializers.CharField(source="user.username")
    since = serializers.DateTimeField(source="created_at")


class UsernameSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)


class StreamModeratorsApi(APIView):
    permission_classes = [IsApprovedCreator]

    @extend_schema(
        responses={200: ModeratorSerializer(many=True), **ERRORS}, operation_id="stream_moderators"
    )
    def get(self, request):
        return Response(ModeratorSerializer(moderator_list(creator_id=request.user.pk), many=True).data)

    @extend_schema(request=UsernameSerializer, responses={201: ModeratorSerializer, **ERRORS})
    def post(self, request):
        data = UsernameSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        moderator = services.moderator_appoint(creator=request.user, username=data.validated_data["username"])
        return Response(ModeratorSerializer(moderator).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=UsernameSerializer, responses={204: None, **ERRORS})
    def delete(self, request):
        data = UsernameSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.moderator_dismiss(creator=request.user, username=data.validated_data["username"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class ModerationLogApi(APIView):
    permission_classes = [IsApprovedCreator]

    class OutputSerializer(serializers.Serializer):
        actor = serializers.CharField(source="actor_name")
        action = serializers.CharField(source="kind")
        target = serializers.CharField(source="target_name")
        detail = serializers.CharField()
        time = serializers.DateTimeField(source="created_at")

    @extend_schema(
        responses={200: OutputSerializer(many=True), **ERRORS}, operation_id="stream_moderation_log"
    )
    def get(self, request):
        """The last 100 moderation actions in the caller's chat, newest first."""
        return Response(self.OutputSerializer(moderation_log(creator_id=request.user.pk), many=True).data)
