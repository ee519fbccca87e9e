from django.core.management.base import BaseCommand

from analytics.services import FACTS_KEPT_DAYS, analytics_facts_prune


class Command(BaseCommand):
    help = (
        f"Delete viewer connections and room resets that ended more than {FACTS_KEPT_DAYS} days ago "
        "(the series and figures stay). Safe to run from cron."
    )

    def handle(self, *args, **options) -> None:
        deleted = analytics_facts_prune()
        self.stdout.write(f"Deleted {deleted} analytics fact(s) older than {FACTS_KEPT_DAYS} days.")
