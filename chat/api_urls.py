from django.urls import path

from . import api

app_name = "chat-api"
urlpatterns = [
    path("viewer/stream/<str:username>/chat", api.ChatMessagesApi.as_view(), name="messages"),
]
