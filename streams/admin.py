from django.contrib import admin

from .models import Stream


@admin.register(Stream)
class StreamAdmin(admin.ModelAdmin):
    list_display = ("user", "title", "is_live", "viewer_count", "ingress_type", "masked_key", "updated_at")
    list_filter = ("is_live", "ingress_type")
    list_select_related = ("user",)
    search_fields = ("user__username", "title")
    # The key is a secret of the creator's: staff see that one exists, never its text.
    exclude = ("stream_key",)
    readonly_fields = (
        "user", "ingress_id", "ingress_type", "server_url", "masked_key", "is_live", "live_since",
        "viewer_count", "created_at", "updated_at",
    )  # fmt: skip

    @admin.display(description="stream key")
    def masked_key(self, obj: Stream) -> str:
        return obj.masked_stream_key or "—"
