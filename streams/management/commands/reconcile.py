from django.core.management.base import BaseCommand, CommandError, CommandParser

from streams import livekit as lk
from streams.live import live_reconcile_plan


class Command(BaseCommand):
    help = (
        "Repair drift from LiveKit's truth: live flags from ListIngress, viewers of live rooms from "
        "ListParticipants, stray ingresses in our rooms deleted. Safe to run from cron at any time."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="print what would change, change nothing")

    def handle(self, *args, dry_run: bool, **options) -> None:
        try:
            repairs = live_reconcile_plan()
        except lk.LiveKitError as error:
            raise CommandError(f"Nothing changed: {error}") from error
        if not repairs:
            self.stdout.write("Nothing to repair.")
            return
        failed = 0
        for repair in repairs:
            if dry_run:
                self.stdout.write(f"[dry run] {repair.description}")
                continue
            try:
                repair.apply()
            except lk.LiveKitError as error:
                # One failed repair must not stop the others; the next run retries it.
                failed += 1
                self.stderr.write(f"FAILED {repair.description}: {error}")
            else:
                self.stdout.write(repair.description)
        if failed:
            raise CommandError(f"{failed} of {len(repairs)} repair(s) failed; run again later.")
