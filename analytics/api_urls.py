from django.urls import path

from . import api

app_name = "analytics-api"
urlpatterns = [
    path("analytics", api.AnalyticsListApi.as_view(), name="list"),
    path("analytics/<int:session_id>", api.AnalyticsSessionApi.as_view(), name="session"),
]
