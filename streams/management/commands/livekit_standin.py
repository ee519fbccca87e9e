"""Run the stand-in LiveKit server for development: LiveKit's API, webhooks, and real-time rooms where
browsers join with livekit-client, play the simulated encoder's test pattern and chat (WebRTC)."""

import time
from urllib.parse import urlparse

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Run a stand-in LiveKit server (development only) on the port of LIVEKIT_URL. It creates ingresses "
        "and rooms, lets the pages join rooms, play a test pattern and chat over WebRTC, and posts signed "
        "webhooks to the site."
    )

    def add_arguments(self, parser):
        parser.add_argument("--site-url", default="http://127.0.0.1:8000", help="where to post webhooks")
        parser.add_argument("--port", type=int, default=None, help="default: the port of LIVEKIT_URL")

    def handle(self, *args, site_url, port, **options):
        if not settings.DEBUG:
            raise CommandError(
                "The stand-in LiveKit server is for development only: it runs only with DEBUG on."
            )
        from livekit_standin import StandIn

        parsed = urlparse(settings.LIVEKIT_URL)
        server = StandIn(
            api_key=settings.LIVEKIT_API_KEY,
            api_secret=settings.LIVEKIT_API_SECRET,
            host=parsed.hostname or "127.0.0.1",
            port=port or parsed.port or 7880,
        )
        server.start()
        server.site_url = site_url
        self.stdout.write(
            self.style.WARNING(
                f"Stand-in LiveKit server on {server.ws_url}: the API, ingresses, webhooks, and rooms that "
                "browsers join; a simulated encoder publishes a test pattern."
            )
        )
        self.stdout.write(
            f"Webhooks go to {site_url}/api/webhook/livekit. Drive it with `manage.py simulate_stream`."
        )
        self.stdout.write("Quit with CONTROL-C.")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            server.close()
