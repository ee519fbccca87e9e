"""Account writes: creator applications and their review, follow and block.

Each service takes keyword-only arguments and does one change of state. Reviewing an application
(approve, reject, revoke) changes what a creator may do at LiveKit, so it lives in streams.services
(creator_status_set).
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from streamit.errors import DomainError
from streamit.text import clean_text

from .models import Block, CreatorStatus, Follow, User
from .signals import relation_changed


class AccountError(DomainError):
    """An account change that cannot be made: "invalid" (e.g. following yourself), "conflict" (already
    done) or "missing" (nothing to undo)."""


@transaction.atomic
def creator_apply(*, user: User, reason: str) -> User:
    if user.creator_status == CreatorStatus.APPROVED:
        raise AccountError("You are already an approved creator.")
    if user.creator_status == CreatorStatus.PENDING:
        raise AccountError("Your application is already waiting for review.")
    user.creator_status = CreatorStatus.PENDING
    user.creator_application = clean_text(reason)  # staff read it in the admin
    user.applied_at = timezone.now()
    user.reviewed_at = None
    user.reviewed_by = None
    user.save(
        update_fields=["creator_status", "creator_application", "applied_at", "reviewed_at", "reviewed_by"]
    )
    return user


def follow_create(*, follower: User, following: User) -> Follow:
    if follower.pk == following.pk:
        raise AccountError("You cannot follow yourself.")
    try:
        with transaction.atomic():
            follow = Follow.objects.create(follower=follower, following=following)
    except IntegrityError:
        raise AccountError(f"You already follow {following.username}.", "conflict") from None
    _announce(user_id=follower.pk, other_id=following.pk)
    return follow


def follow_delete(*, follower: User, following: User) -> None:
    deleted, _ = Follow.objects.filter(follower=follower, following=following).delete()
    if not deleted:
        raise AccountError(f"You do not follow {following.username}.", "missing")
    _announce(user_id=follower.pk, other_id=following.pk)


def block_create(*, blocker: User, blocked: User) -> Block:
    """Block a user. Following in either direction ends: a block hides both sides."""
    if blocker.pk == blocked.pk:
        raise AccountError("You cannot block yourself.")
    try:
        with transaction.atomic():
            block = Block.objects.create(blocker=blocker, blocked=blocked)
            Follow.objects.filter(follower=blocked, following=blocker).delete()
            Follow.objects.filter(follower=blocker, following=blocked).delete()
    except IntegrityError:
        raise AccountError(f"You already blocked {blocked.username}.", "conflict") from None
    # A blocked viewer watching now is disconnected; their short-lived token cannot be renewed.
    _announce(user_id=blocker.pk, other_id=blocked.pk)
    return block


def block_delete(*, blocker: User, blocked: User) -> None:
    deleted, _ = Block.objects.filter(blocker=blocker, blocked=blocked).delete()
    if not deleted:
        raise AccountError(f"You have not blocked {blocked.username}.", "missing")
    _announce(user_id=blocker.pk, other_id=blocked.pk)


def _announce(*, user_id: int, other_id: int) -> None:
    # Following can open followers-only chat, unfollowing close it, a block ends it: the apps above
    # (streams' chat rights) hear of it once it commits, without accounts importing them.
    transaction.on_commit(lambda: relation_changed.send(sender=User, user_id=user_id, other_id=other_id))
