from django.urls import path

from . import views

app_name = "viewers"
urlpatterns = [
    path("search", views.search, name="search"),
    path("<str:username>/", views.creator, name="creator"),
    path("<str:username>/live", views.watch, name="watch"),
    path("<str:username>/follow", views.follow, name="follow"),
    path("<str:username>/block", views.block, name="block"),
]
