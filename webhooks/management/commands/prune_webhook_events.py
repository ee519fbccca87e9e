from django.core.management.base import BaseCommand, CommandError, CommandParser

from webhooks.services import webhook_event_prune


class Command(BaseCommand):
    help = "Delete received webhook events older than --days days (default 30). Safe to run from cron."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=30, help="keep events received within this many days")

    def handle(self, *args, days: int, **options) -> None:
        if days < 0:
            raise CommandError("--days must be 0 or more.")
        deleted = webhook_event_prune(days=days)
        self.stdout.write(f"Deleted {deleted} webhook event(s) received more than {days} day(s) ago.")
