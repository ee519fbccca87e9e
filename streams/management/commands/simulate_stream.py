"""Development without LiveKit: drive the stand-in (`livekit_standin`) as an encoder and an audience would.

The stand-in then sends the running site the signed webhooks LiveKit would send, so the dashboard and the
watch page show the stream going live and the viewer count moving. It needs the stand-in listening at
LIVEKIT_URL (it serves its control API on that port) and delivering to the site.
"""

import json
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from streams.livekit import room_name_for
from streams.models import Stream

SIMULATED = "sim-viewer-"  # identities of the viewers this command plays, so it only moves its own


def control_url(path: str) -> str:
    scheme, netloc, *_ = urlsplit(settings.LIVEKIT_URL)
    scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
    return urlunsplit((scheme, netloc, path, "", ""))


class Command(BaseCommand):
    help = "Drive the development LiveKit stand-in: a creator's encoder starts or stops, N viewers watch."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("action", choices=["start", "stop", "viewers"])
        parser.add_argument("count", nargs="?", type=int, help="with viewers: how many should be watching")
        parser.add_argument(
            "--file",
            help="with start: a local video file the encoder plays in a loop instead of the test pattern",
        )

    def handle(
        self, *args, username: str, action: str, count: int | None, file: str | None = None, **options
    ) -> None:
        user = User.objects.filter(username__lower=username.lower()).first()
        stream = Stream.objects.filter(user=user).first() if user else None
        if stream is None:
            raise CommandError(f"{username} has no stream: approve them as a creator first.")
        if action == "viewers":
            if count is None or count < 0:
                raise CommandError("Say how many viewers: simulate_stream <username> viewers N (N >= 0).")
            self._viewers(stream, count)
            return
        if not stream.ingress_id:
            raise CommandError(f"{user.username} has no stream key yet: generate one on the dashboard first.")
        if action == "stop":
            # Counts follow the people connected, even across an encoder restart; the simulated audience
            # goes home with the stream, as the viewers of a finished stream do.
            self._viewers(stream, 0)
        payload = {"ingressId": stream.ingress_id, "action": action}
        if action == "start" and file:
            payload["file"] = str(Path(file).resolve())  # the stand-in may run in another directory
        self._post("/_standin/encoder", payload)
        self.stdout.write(f"Encoder of {user.username} {'started' if action == 'start' else 'stopped'}.")

    def _viewers(self, stream: Stream, count: int) -> None:
        room = room_name_for(stream.user_id)
        state = self._request("GET", "/_standin/state")
        watching = sorted(
            (identity for identity in _identities(state, room) if identity.startswith(SIMULATED)),
            key=lambda identity: int(identity.removeprefix(SIMULATED) or 0),
        )
        wanted = [f"{SIMULATED}{n}" for n in range(1, count + 1)]
        for identity in wanted:
            if identity not in watching:
                name = f"Viewer {identity.removeprefix(SIMULATED)}"
                self._post(
                    "/_standin/participants",
                    {"room": room, "identity": identity, "name": name, "action": "join"},
                )
        for identity in watching:
            if identity not in wanted:
                self._post("/_standin/participants", {"room": room, "identity": identity, "action": "leave"})
        self.stdout.write(f"{count} simulated viewer(s) in room {room}.")

    def _post(self, path: str, payload: dict) -> dict:
        return self._request("POST", path, payload)

    def _request(self, method: str, path: str, payload: dict | None = None) -> dict:
        url = control_url(path)
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(  # noqa: S310 (the URL is ours: settings.LIVEKIT_URL, http or https)
            url, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                body = response.read()
        except urllib.error.HTTPError as error:
            raise CommandError(
                f"The stand-in at {url} refused: HTTP {error.code} {error.read()[:200]!r}"
            ) from error
        except OSError as error:
            raise CommandError(
                f"No LiveKit stand-in answers at {url} ({error}). Start it first (see the README), "
                "with LIVEKIT_URL pointing at it."
            ) from error
        return json.loads(body) if body else {}


def _identities(state: dict, room: str) -> list[str]:
    """The identities in ``room`` from the stand-in's GET /_standin/state ({"rooms": {room: [identity]}})."""
    return list(state.get("rooms", {}).get(room, []))
