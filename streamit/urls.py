import re

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static as static_url
from django.urls import include, path, re_path
from django.views.decorators.cache import cache_control
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView

from viewers import views as viewer_views

# Under /api/ even Django's own errors (an unknown URL, a crash) answer {"detail": "…"}.
handler400 = "streamit.api_errors.bad_request"
handler403 = "streamit.api_errors.permission_denied"
handler404 = "streamit.api_errors.page_not_found"
handler500 = "streamit.api_errors.server_error"

urlpatterns = [
    # The API first: Django tries patterns in order, and the token and status endpoints are the busiest.
    path("api/", include("viewers.api_urls")),
    path("api/", include("chat.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/stream/", include("analytics.api_urls")),
    path("api/stream/", include("streams.api_urls")),
    path("api/webhook/", include("webhooks.urls")),
    path("", viewer_views.home, name="home"),
    # Browsers ask for /favicon.ico by themselves: answer it before /<username>/ could take the name.
    path("favicon.ico", lambda request: redirect(static_url("favicon.ico"))),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("dashboard/analytics/", include("analytics.urls")),
    path("dashboard/", include("streams.urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
elif settings.SERVE_LOCAL_MEDIA:
    # Production without a bucket, chosen explicitly (SERVE_LOCAL_MEDIA=true): the site serves the thumbnails.
    # Each upload has a new name (streams/thumbnails.py), so a file never changes and may be cached for good.
    urlpatterns += [
        re_path(
            rf"^{re.escape(settings.MEDIA_URL.lstrip('/'))}(?P<path>.+)$",
            cache_control(public=True, max_age=365 * 24 * 3600, immutable=True)(serve),
            {"document_root": settings.MEDIA_ROOT},
        )
    ]

# Creator pages (/<username>/, /<username>/live) come last: usernames cannot take the reserved words above.
urlpatterns += [path("", include("viewers.urls"))]
