from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db.models import Case, IntegerField, Value, When

from streamit.admin_secrets import SecretSafeAdmin

from .forms import AdminUserAddForm, AdminUserChangeForm
from .models import Block, CreatorStatus, Follow, User


@admin.register(User)
class StreamItUserAdmin(SecretSafeAdmin, UserAdmin):
    """Users as accounts knows them. What changes a creator's right to stream (approve, reject, revoke,
    deactivate, delete) is added by ``streams.admin``, which registers its subclass in this one's place:
    accounts never imports the apps above it."""

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
