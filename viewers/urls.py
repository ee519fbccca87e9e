from django.urls import path

from . import views

app_name = "viewers"
urlpatterns = [
    path("search", views.search, name="search"),
    # Before the creator pages: "blocked" is a reserved username.
    path("blocked/", views.blocked, name="blocked"),
    path("blocked/<str:username>/unblock", views.unblock, name="unblock"),
    path("<str:username>/", views.creator, name="creator"),
    path("<str:username>/live", views.watch, name="watch"),
    path("<str:username>/follow", views.follow, name="follow"),
    path("<str:username>/block", views.block, name="block"),
]
