from django.contrib import admin

from streamit.admin_secrets import SecretSafeAdmin

from .forms import StreamAdminForm
from .models import Stream, StreamSession


@admin.register(Stream)
class StreamAdmin(SecretSafeAdmin):
    list_display = ("user", "title", "is_live", "viewer_count", "ingress_type", "has_key", "updated_at")
    list_filter = ("is_live", "ingress_type")
    list_select_related = ("user",)
    search_fields = ("user__username", "title")
    # The key is a secret of the creator's: staff see that one exists, never any of its text, and
    # SecretSafeAdmin refuses lookups on it (?stream_key__startswith= would spell it out).
    exclude = ("stream_key",)
    form = StreamAdminForm
    readonly_fields = (
        "user", "ingress_id", "ingress_type", "server_url", "has_key", "is_live", "live_since",
        "viewer_count", "created_at", "updated_at",
    )  # fmt: skip

    @admin.display(description="stream key", boolean=True)
    def has_key(self, obj: Stream) -> bool:
        return bool(obj.stream_key)


@admin.register(StreamSession)
class StreamSessionAdmin(SecretSafeAdmin):
    """Each go-live of a stream, as the webhooks and reconcile recorded it: history, so read-only."""

    list_display = ("stream", "started_at", "ended_at", "peak_viewers")
    list_filter = (("started_at", admin.DateFieldListFilter),)
    list_select_related = ("stream__user",)
    search_fields = ("stream__user__username",)
    date_hierarchy = "started_at"
    # Only these fields: the stream's key must never reach a page through a related form.
    fields = readonly_fields = ("stream", "started_at", "ended_at", "peak_viewers")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
