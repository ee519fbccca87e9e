# In streams, not accounts: approving the demo creator creates their Stream (accounts never imports streams).
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User
from streams.services import creator_approve

DEMO_PASSWORD = "streamit-demo"  # documented in the README; development data only


class Command(BaseCommand):
    help = "Create the demo creator and viewer (idempotent). Development only."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        reviewer, _ = User.objects.get_or_create(
            username="demo_admin",
            defaults={"is_staff": True, "is_superuser": True, "email": "admin@example.com"},
        )
        creator, _ = User.objects.get_or_create(
            username="demo_creator", defaults={"email": "creator@example.com"}
        )
        viewer, _ = User.objects.get_or_create(
            username="demo_viewer", defaults={"email": "viewer@example.com"}
        )
        for user in (reviewer, creator, viewer):
            if not user.password:  # just created
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
        if not creator.is_approved_creator:
            creator.creator_application = "Demo creator."
            creator_approve(user=creator, reviewer=reviewer)
        self.stdout.write(
            f"Demo users (password {DEMO_PASSWORD!r}): "
            "demo_creator (approved creator), demo_viewer, demo_admin (staff)"
        )
