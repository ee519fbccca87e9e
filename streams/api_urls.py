from django.urls import path

from . import api

app_name = "streams-api"
urlpatterns = [
    path("create", api.StreamCreateApi.as_view(), name="create"),
    path("ingress", api.StreamIngressApi.as_view(), name="ingress"),
    path("info", api.StreamInfoApi.as_view(), name="info"),
    path("credentials", api.StreamCredentialsApi.as_view(), name="credentials"),
    path("chat-settings", api.StreamChatSettingsApi.as_view(), name="chat-settings"),
    path("status", api.StreamStatusApi.as_view(), name="status"),
    path("creator-token", api.StreamCreatorTokenApi.as_view(), name="creator-token"),
]
