from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse

from accounts.admin import StreamItUserAdmin
from accounts.models import User
from streamit.admin_secrets import SecretSafeAdmin

from . import live, services
from .forms import StreamAdminForm
from .models import Stream, StreamSession
from .selectors import host_changed
from .stream_state import stream_state_changed

CHAT_FIELDS = ("is_chat_enabled", "is_chat_delayed", "is_chat_followers_only")


class CreatorUserAdmin(StreamItUserAdmin):
    """The user admin with what changes a creator's right to stream; it replaces accounts' registration
    (accounts sits below streams and never imports it)."""

    actions = ["approve_creators", "reject_creators", "revoke_creators"]
    change_form_template = "admin/accounts/user/change_form.html"

    # Every path that changes a creator's right to stream goes through the streams services: the status
    # through creator_status_set (approval creates the Stream, anything else ends streaming), and
    # deactivating or deleting a user through stream_shutdown, so no path leaves a key working or a
    # stream live.

    @admin.action(description="Approve selected creator applications")
    def approve_creators(self, request: HttpRequest, queryset) -> None:
        for user in queryset:
            services.creator_approve(user=user, reviewer=request.user)
        self.message_user(request, f"Approved {len(queryset)} creator(s).", messages.SUCCESS)

    @admin.action(description="Reject selected creator applications (ends the stream of approved ones)")
    def reject_creators(self, request: HttpRequest, queryset) -> None:
        for user in queryset:
            services.creator_revoke(user=user, reviewer=request.user)
        self.message_user(request, f"Rejected {len(queryset)} application(s).", messages.SUCCESS)

    @admin.action(description="Revoke selected creators (deletes their key, ends their stream)")
    def revoke_creators(self, request: HttpRequest, queryset) -> None:
        revoked = [user for user in queryset if user.is_approved_creator]
        for user in revoked:
            services.creator_revoke(user=user, reviewer=request.user)
        self.message_user(request, f"Revoked {len(revoked)} creator(s).", messages.SUCCESS)

    def save_model(self, request: HttpRequest, obj: User, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            return
        if "username" in form.changed_data:
            host_changed(user_id=obj.pk)  # tokens asked for by the old name stop once this commits
        if "creator_status" in form.changed_data:
            # The field edited by hand does what the buttons do (a Stream on approval, an end otherwise).
            services.creator_status_set(user=obj, status=obj.creator_status, reviewer=request.user)
        if "is_active" in form.changed_data and not obj.is_active:  # even if approved in the same save
            live.stream_shutdown(user_id=obj.pk)

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        live.stream_shutdown(user_id=obj.pk)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        for user_id in queryset.values_list("pk", flat=True):
            live.stream_shutdown(user_id=user_id)
        super().delete_queryset(request, queryset)

    def response_change(self, request: HttpRequest, obj: User) -> HttpResponse:
        # The buttons on the user's own page do what the bulk actions do.
        if "_approve_creator" in request.POST:
            services.creator_approve(user=obj, reviewer=request.user)
            self.message_user(request, f"{obj.username} is now an approved creator.", messages.SUCCESS)
        elif "_reject_creator" in request.POST or "_revoke_creator" in request.POST:
            # Reject (an application) and Revoke (an approved creator) are one service: either way no key
            # or live stream survives.
            was_approved = obj.is_approved_creator
            services.creator_revoke(user=obj, reviewer=request.user)
            if was_approved:
                self.message_user(request, f"{obj.username} can no longer stream.", messages.SUCCESS)
            else:
                self.message_user(request, f"{obj.username}'s application was rejected.", messages.SUCCESS)
        return super().response_change(request, obj)


admin.site.unregister(User)
admin.site.register(User, CreatorUserAdmin)


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

    def save_model(self, request: HttpRequest, obj: Stream, form, change: bool) -> None:
        chat = {name: form.cleaned_data[name] for name in CHAT_FIELDS if name in form.changed_data}
        if change and chat:
            # Through the service the creator's own form uses: cached copies and connected viewers follow.
            services.stream_chat_settings_update(stream=Stream.objects.get(pk=obj.pk), **chat)
        super().save_model(request, obj, form, change)
        if change and {"title", "description"} & set(form.changed_data):
            stream_state_changed(user_id=obj.user_id)  # the title and description pages show, cached


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
