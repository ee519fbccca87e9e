from django.urls import path

from . import views

app_name = "webhooks"
urlpatterns = [
    path("livekit", views.livekit_receive, name="livekit"),
]
