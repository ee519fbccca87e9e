from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from viewers import views as viewer_views

urlpatterns = [
    path("", viewer_views.home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("dashboard/", include("streams.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/stream/", include("streams.api_urls")),
    path("api/webhook/", include("webhooks.urls")),
    path("api/", include("viewers.api_urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# Creator pages (/<username>/, /<username>/live) come last: usernames cannot take the reserved words above.
urlpatterns += [path("", include("viewers.urls"))]
