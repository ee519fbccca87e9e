from django.urls import path

from . import views

app_name = "analytics"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("<int:session_id>/", views.session, name="session"),
]
