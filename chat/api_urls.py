from django.urls import path

from . import api

app_name = "chat-api"
urlpatterns = [
    path("viewer/stream/<str:username>/chat", api.ChatMessagesApi.as_view(), name="messages"),
    path(
        "viewer/stream/<str:username>/chat/<int:message_id>",
        api.ChatMessageDeleteApi.as_view(),
        name="message",
    ),
    path(
        "viewer/stream/<str:username>/chat/<int:message_id>/timeout",
        api.ChatTimeOutApi.as_view(),
        name="time-out",
    ),
    path("stream/moderators", api.StreamModeratorsApi.as_view(), name="moderators"),
    path("stream/moderation-log", api.ModerationLogApi.as_view(), name="moderation-log"),
]
