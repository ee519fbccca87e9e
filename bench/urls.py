"""The site's URLs plus /bench/bare: a fixed small JSON body behind the same middleware and server."""

from django.http import JsonResponse
from django.urls import include, path


def bare(request):
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/bare", bare), path("", include("streamit.urls"))]
