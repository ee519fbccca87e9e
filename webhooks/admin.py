from django.contrib import admin

from .models import WebhookEvent


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    """The delivery log, read-only: it is evidence of what LiveKit told us, not something to edit."""

    list_display = ("event", "room", "livekit_id", "created_at", "received_at", "problem")
    list_filter = ("event", "room", ("received_at", admin.DateFieldListFilter))
    search_fields = ("=livekit_id", "room")
    date_hierarchy = "received_at"
    readonly_fields = ("livekit_id", "event", "room", "created_at", "received_at", "problem", "payload")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
