from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

from .validators import username_format_validator, validate_username_not_reserved

# `username__lower=` compiles to LOWER(username) = …, which the case-insensitive unique index serves
# (`__iexact` compiles to UPPER(…) and would scan the table).
models.CharField.register_lookup(Lower)


class CreatorStatus(models.TextChoices):
    NONE = "none", "Not applied"
    PENDING = "pending", "Pending review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class StreamItUserManager(UserManager):
    def get_by_natural_key(self, username):
        # Log-in matches the username without regard to case, like every other lookup.
        return self.get(username__lower=username.lower())


class User(AbstractUser):
    username = models.CharField(
        "username",
        max_length=30,
        unique=True,
        validators=[username_format_validator, validate_username_not_reserved],
        help_text="3 to 30 characters: letters, digits, underscores and hyphens.",
        error_messages={"unique": "A user with that username already exists."},
    )
    creator_status = models.CharField(
        max_length=10, choices=CreatorStatus.choices, default=CreatorStatus.NONE, db_index=True
    )
    creator_application = models.TextField("why I want to stream", blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = StreamItUserManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
            # One account per address, whatever its case: a password reset reaches exactly one account.
            # A blank address (staff created without one) is not an address, so any number may share it.
            models.UniqueConstraint(
                Lower("email"),
                condition=~Q(email=""),
                name="accounts_user_email_ci_unique",
                violation_error_message="A user with that e-mail address already exists.",
            ),
        ]

    @property
    def is_approved_creator(self) -> bool:
        return self.is_active and self.creator_status == CreatorStatus.APPROVED


class Follow(models.Model):
    follower = models.ForeignKey(User, on_delete=models.CASCADE, related_name="following_set")
    following = models.ForeignKey(User, on_delete=models.CASCADE, related_name="follower_set")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["follower", "following"], name="follow_unique_pair"),
            models.CheckConstraint(condition=~Q(follower=F("following")), name="follow_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.follower_id} follows {self.following_id}"


class Block(models.Model):
    blocker = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocking_set")
    blocked = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocked_by_set")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="block_unique_pair"),
            models.CheckConstraint(condition=~Q(blocker=F("blocked")), name="block_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.blocker_id} blocks {self.blocked_id}"
