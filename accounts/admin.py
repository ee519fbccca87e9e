from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpRequest, HttpResponse

from streamit.admin_secrets import SecretSafeAdmin
from streams import live as stream_live
from streams import services as stream_services

from .forms import AdminUserAddForm, AdminUserChangeForm
from .models import Block, CreatorStatus, Follow, User


@admin.register(User)
class StreamItUserAdmin(SecretSafeAdmin, UserAdmin):
    list_display = (
        "username",
        "email",
        "creator_status",
        "applied_at",
        "reviewed_at",
        "is_active",
        "is_staff",
    )
    list_filter = ("creator_status", "is_active", "is_staff")
    search_fields = ("username", "email")
    readonly_fields = ("applied_at", "reviewed_at", "reviewed_by", "last_login", "date_joined")
    actions = ["approve_creators", "reject_creators", "revoke_creators"]
    change_form_template = "admin/accounts/user/change_form.html"
    # Both check that no other account has the address in any case.
    form = AdminUserChangeForm
    add_form = AdminUserAddForm
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "email", "usable_password", "password1", "password2"),
            },
        ),
    )
    # Pending applications first, so staff find them without a filter.
    ordering = (
        Case(
            When(creator_status=CreatorStatus.PENDING, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        ).asc(),
        "-applied_at",
        "username",
    )
    fieldsets = UserAdmin.fieldsets + (
        (
            "Creator",
            {"fields": ("creator_status", "creator_application", "applied_at", "reviewed_at", "reviewed_by")},
        ),
    )

    # Every path that changes a creator's right to stream goes through the streams services: the status
    # through creator_status_set (approval creates the Stream, anything else ends streaming), and
    # deactivating or deleting a user through stream_shutdown, so no path leaves a key working or a
    # stream live.

    @admin.action(description="Approve selected creator applications")
    def approve_creators(self, request: HttpRequest, queryset) -> None:
        for user in queryset:
            stream_services.creator_approve(user=user, reviewer=request.user)
        self.message_user(request, f"Approved {len(queryset)} creator(s).", messages.SUCCESS)

    @admin.action(description="Reject selected creator applications (ends the stream of approved ones)")
    def reject_creators(self, request: HttpRequest, queryset) -> None:
        for user in queryset:
            stream_services.creator_revoke(user=user, reviewer=request.user)
        self.message_user(request, f"Rejected {len(queryset)} application(s).", messages.SUCCESS)

    @admin.action(description="Revoke selected creators (deletes their key, ends their stream)")
    def revoke_creators(self, request: HttpRequest, queryset) -> None:
        revoked = [user for user in queryset if user.is_approved_creator]
        for user in revoked:
            stream_services.creator_revoke(user=user, reviewer=request.user)
        self.message_user(request, f"Revoked {len(revoked)} creator(s).", messages.SUCCESS)

    def save_model(self, request: HttpRequest, obj: User, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            return
        if "creator_status" in form.changed_data:
            # The field edited by hand does what the buttons do (a Stream on approval, an end otherwise).
            stream_services.creator_status_set(user=obj, status=obj.creator_status, reviewer=request.user)
        if "is_active" in form.changed_data and not obj.is_active:  # even if approved in the same save
            stream_live.stream_shutdown(user_id=obj.pk)

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        stream_live.stream_shutdown(user_id=obj.pk)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        for user_id in queryset.values_list("pk", flat=True):
            stream_live.stream_shutdown(user_id=user_id)
        super().delete_queryset(request, queryset)

    def response_change(self, request: HttpRequest, obj: User) -> HttpResponse:
        # The buttons on the user's own page do what the bulk actions do.
        if "_approve_creator" in request.POST:
            stream_services.creator_approve(user=obj, reviewer=request.user)
            self.message_user(request, f"{obj.username} is now an approved creator.", messages.SUCCESS)
        elif "_reject_creator" in request.POST or "_revoke_creator" in request.POST:
            # Reject (an application) and Revoke (an approved creator) are one service: either way no key
            # or live stream survives.
            was_approved = obj.is_approved_creator
            stream_services.creator_revoke(user=obj, reviewer=request.user)
            if was_approved:
                self.message_user(request, f"{obj.username} can no longer stream.", messages.SUCCESS)
            else:
                self.message_user(request, f"{obj.username}'s application was rejected.", messages.SUCCESS)
        return super().response_change(request, obj)


@admin.register(Follow)
class FollowAdmin(SecretSafeAdmin):
    list_display = ("follower", "following", "created_at")
    list_select_related = ("follower", "following")
    search_fields = ("follower__username", "following__username")
    raw_id_fields = ("follower", "following")


@admin.register(Block)
class BlockAdmin(SecretSafeAdmin):
    list_display = ("blocker", "blocked", "created_at")
    list_select_related = ("blocker", "blocked")
    search_fields = ("blocker__username", "blocked__username")
    raw_id_fields = ("blocker", "blocked")
