import pytest
from django.db import IntegrityError, transaction

from accounts.models import Block, Follow

pytestmark = pytest.mark.django_db


def test_the_database_refuses_a_self_follow(viewer):
    with pytest.raises(IntegrityError), transaction.atomic():
        Follow.objects.create(follower=viewer, following=viewer)


def test_the_database_refuses_a_self_block(viewer):
    with pytest.raises(IntegrityError), transaction.atomic():
        Block.objects.create(blocker=viewer, blocked=viewer)


def test_the_database_refuses_a_duplicate_follow(viewer, creator):
    Follow.objects.create(follower=viewer, following=creator)
    with pytest.raises(IntegrityError), transaction.atomic():
        Follow.objects.create(follower=viewer, following=creator)
    assert Follow.objects.count() == 1


def test_the_database_refuses_a_duplicate_block(viewer, creator):
    Block.objects.create(blocker=creator, blocked=viewer)
    with pytest.raises(IntegrityError), transaction.atomic():
        Block.objects.create(blocker=creator, blocked=viewer)
    assert Block.objects.count() == 1
