"""Check that LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET work: the first thing to run."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from streams import livekit

_WHAT_TO_CHECK = {
    livekit.UNAVAILABLE: "Check that the server is running and that LIVEKIT_URL points at it.",
    livekit.REJECTED: "Check LIVEKIT_API_KEY and LIVEKIT_API_SECRET: they must be a key pair of that server.",
    livekit.NOT_FOUND: "Check LIVEKIT_URL: it may point at something that is not a LiveKit server.",
}


class Command(BaseCommand):
    help = "Call the configured LiveKit server (list rooms and ingresses) and say whether it works."

    def handle(self, *args, **options):
        self.stdout.write(f"LiveKit URL: {settings.LIVEKIT_URL}  (API key {settings.LIVEKIT_API_KEY})")
        try:
            rooms = livekit.room_list()
            ingresses = livekit.ingress_list()
        except livekit.LiveKitError as error:
            raise CommandError(f"LiveKit check failed: {error}\n{_WHAT_TO_CHECK[error.kind]}") from error
        self.stdout.write(
            self.style.SUCCESS(
                f"LiveKit works: URL, key and secret accepted ({len(rooms)} room(s), "
                f"{len(ingresses)} ingress(es))."
            )
        )
