from django.urls import path

from . import api

app_name = "viewers-api"
urlpatterns = [
    path("viewer/stream/<str:username>", api.ViewerStreamApi.as_view(), name="stream"),
    path("viewer/stream/<str:username>/status", api.ViewerStreamStatusApi.as_view(), name="stream-status"),
    path("viewer/token", api.ViewerTokenApi.as_view(), name="token"),
    path("viewer/live", api.ViewerLiveApi.as_view(), name="live"),
    path("viewer/following", api.ViewerFollowingApi.as_view(), name="following"),
    path("viewer/recommended", api.ViewerRecommendedApi.as_view(), name="recommended"),
    path("users/blocked", api.BlockedListApi.as_view(), name="blocked"),
    path("users/<str:username>/follow", api.UserFollowApi.as_view(), name="follow"),
    path("users/<str:username>/block", api.UserBlockApi.as_view(), name="block"),
    path("search", api.SearchApi.as_view(), name="search"),
]
