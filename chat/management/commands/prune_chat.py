"""Delete chat messages older than CHAT_RETENTION_DAYS (run it daily, e.g. from cron or a scheduler)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from chat.services import message_prune


class Command(BaseCommand):
    help = "Delete chat messages older than CHAT_RETENTION_DAYS (0 keeps them for ever)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None, help="override CHAT_RETENTION_DAYS")

    def handle(self, *args, days=None, **options):
        days = settings.CHAT_RETENTION_DAYS if days is None else days
        deleted = message_prune(days=days)
        self.stdout.write(
            f"Deleted {deleted} chat message(s) older than {days} day(s)."
            if days > 0
            else "Retention is 0: nothing deleted."
        )
