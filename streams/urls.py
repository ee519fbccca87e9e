from django.urls import path

from . import views

app_name = "streams"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("keys/", views.keys, name="keys"),
    path("keys/generate", views.key_generate, name="key-generate"),
    path("keys/delete", views.key_delete, name="key-delete"),
]
