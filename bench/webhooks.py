"""A burst of 1,000 signed LiveKit deliveries against gunicorn + PostgreSQL.

    .venv/bin/python bench/webhooks.py [--deliveries 1000] [--concurrency 8] [--workers 2]

Sets up a fresh `streamit_bench_webhooks` database on the local PostgreSQL with 50 approved creators,
starts gunicorn (sync workers) on a free port with production settings, and posts a realistic mix
(each stream goes live, viewers join and leave, some deliveries repeated as LiveKit repeats them, the
stream goes offline), signed exactly as LiveKit signs them, from `--concurrency` threads at once.
Prints deliveries per second, p50 and p99 latency, and checks every event was recorded once.
"""

import argparse
import base64
import hashlib
import json
import os
import random
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402

DB_NAME = "streamit_bench_webhooks"
API_KEY = "APIbenchwebhooks"
API_SECRET = "bench-webhooks-secret-long-enough-for-hs256-0123456789"
CREATORS = 50
PATH = "/api/webhook/livekit"
ENV = {
    "DJANGO_SETTINGS_MODULE": "streamit.settings",
    "DEBUG": "false",
    "SECRET_KEY": "bench-" + "x" * 50,
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
    "CACHE_URL": "locmemcache://bench",
    "LIVEKIT_URL": "ws://127.0.0.1:9",  # never called: the receiver does not talk to LiveKit
    "LIVEKIT_API_KEY": API_KEY,
    "LIVEKIT_API_SECRET": API_SECRET,
    "SECURE_SSL_REDIRECT": "false",
    # Production start without mail, broker or bucket: say so explicitly (a bench sends none of them).
    "ALLOW_CONSOLE_EMAIL": "true",
    "ALLOW_INLINE_TASKS": "true",
    "SERVE_LOCAL_MEDIA": "true",
    "CONN_MAX_AGE": "60",
    "PYTHONWARNINGS": "ignore",  # whitenoise warns that collectstatic has not run: no static files here
}


def seed() -> list[tuple[int, str]]:
    from django.core.management import call_command

    from accounts.models import User
    from streams.models import Stream

    call_command("migrate", verbosity=0)
    users = User.objects.bulk_create(
        User(username=f"wh{i:04d}", email=f"wh{i}@example.com", password="!", creator_status="approved")
        for i in range(CREATORS)
    )
    Stream.objects.bulk_create(Stream(user=u, ingress_id=f"IN_wh{i:010d}") for i, u in enumerate(users))
    return [(u.pk, f"IN_wh{i:010d}") for i, u in enumerate(users)]


def sign(event: dict) -> tuple[bytes, str]:
    """Sign as LiveKit does: a JWT with the API secret carrying the body's SHA-256 (no "Bearer")."""
    from livekit import api

    body = json.dumps(event, separators=(",", ":")).encode()
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    return body, api.AccessToken(API_KEY, API_SECRET).with_sha256(digest).to_jwt()


def deliveries(streams: list[tuple[int, str]], count: int) -> tuple[list[tuple[bytes, str]], int]:
    """A realistic mix; returns the deliveries and how many distinct events they hold.

    LiveKit queues deliveries per room and per ingress, so what arrives at once comes from many rooms:
    each stream's story stays in order and the stories are interleaved.
    """
    rng = random.Random(6)
    now_ms = int(time.time() * 1000)
    serial = 0

    def event(name: str, at_ms: int, **parts) -> dict:
        nonlocal serial
        serial += 1
        return {"event": name, "id": f"EV_bench{serial:08d}", "createdAt": str(at_ms // 1000), **parts}

    def ingress(name: str, ingress_id: str, room: str, at_ms: int) -> dict:
        status = "ENDPOINT_PUBLISHING" if name == "ingress_started" else "ENDPOINT_INACTIVE"
        info = {
            "ingressId": ingress_id,
            "roomName": room,
            "state": {"status": status, "updatedAt": str(at_ms * 10**6)},
        }
        return event(name, at_ms, ingressInfo=info)

    stories: list[list[dict]] = []
    for user_id, ingress_id in streams:
        room = str(user_id)
        clock = now_ms
        story = [
            ingress("ingress_started", ingress_id, room, clock),
            event("track_published", clock, room={"name": room}),
        ]
        for v in range(count // len(streams)):
            joined = clock + v + 1
            who = {"identity": f"guest-{joined}-{v}", "joinedAtMs": str(joined)}
            story.append(event("participant_joined", joined, room={"name": room}, participant=who))
            if rng.random() < 0.3:
                story.append(event("participant_left", joined + 500, room={"name": room}, participant=who))
        story.append(ingress("ingress_ended", ingress_id, room, clock + 10 * count))
        stories.append(story)
    events = [story[i] for i in range(max(map(len, stories))) for story in stories if i < len(story)][:count]
    signed = [sign(e) for e in events]
    # LiveKit repeats some deliveries: 5% of the burst are copies of other ones.
    for index in rng.sample(range(len(signed)), k=count // 20):
        signed[rng.randrange(len(signed))] = signed[index]
    distinct = len({body for body, _ in signed})
    return signed, distinct


def post(port: int, delivery: tuple[bytes, str]) -> tuple[int, float]:
    """One delivery on its own connection, as LiveKit sends them; returns the status and the latency."""
    body, auth = delivery
    return harness.timed_post(
        port, PATH, body, {"Content-Type": "application/webhook+json", "Authorization": auth}
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    os.environ.update(ENV)
    harness.recreate_database(DB_NAME)
    import django

    django.setup()
    streams = seed()
    burst, distinct = deliveries(streams, args.deliveries)
    port = harness.free_port()
    server = harness.start_server("sync", port, workers=args.workers, env=ENV)
    try:
        warmup = [sign({"event": "room_started", "id": f"EV_warmup{n}", "createdAt": "0"}) for n in range(20)]
        with ThreadPoolExecutor(args.concurrency) as pool:
            list(pool.map(lambda delivery: post(port, delivery), warmup))  # every worker loaded and connected
            started = time.perf_counter()
            results = list(pool.map(lambda delivery: post(port, delivery), burst))
            elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=10)

    from webhooks.models import WebhookEvent

    statuses = {status for status, _ in results}
    latencies = sorted(seconds * 1000 for _, seconds in results)
    recorded = WebhookEvent.objects.exclude(livekit_id__startswith="EV_warmup").count()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"{len(burst)} deliveries ({distinct} distinct, the rest repeats) from {args.concurrency} threads "
          f"to gunicorn -w {args.workers} + PostgreSQL")  # fmt: skip
    p50 = statistics.median(latencies)
    print(f"  {len(burst) / elapsed:,.0f} deliveries/s   p50 {p50:.1f} ms   p99 {p99:.1f} ms")
    print(f"  statuses {sorted(statuses)}; events recorded {recorded} (expected {distinct})")
    if statuses != {200} or recorded != distinct:
        raise SystemExit("FAILED: a delivery was refused or an event recorded twice or not at all")


if __name__ == "__main__":
    main()
