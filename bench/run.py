"""Benchmark the hot paths against the framework's own limit, on PostgreSQL + gunicorn (2 sync workers).

    .venv/bin/python bench/run.py [--duration 20] [--connections 16] [--creators 20000]

Sets up what it needs: a fresh `streamit_bench` database on the local PostgreSQL (seeded with 20,000
creators, half of them live), Redis db 5 as the cache (throttles and cached reads live there, as in
production), gunicorn on a free port, and wrk (Debian's `wrk`) as the load tool with 2 threads. Throttles
stay on with their limits raised through settings, so the throttle path is measured too. Every row is
printed as requests/s, p50, p99, its ratio to the bare view, and the queries one request makes.
"""

import argparse
import base64
import hashlib
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_NAME = "streamit_bench"
API_KEY = "APIbench"
API_SECRET = "bench-secret-that-is-long-enough-for-hs256-0123456789"
ENV = {
    "DJANGO_SETTINGS_MODULE": "bench.settings",
    "DEBUG": "false",
    "SECRET_KEY": "bench-" + "x" * 50,
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
    "CACHE_URL": "redis://127.0.0.1:6379/5",
    "LIVEKIT_URL": "ws://127.0.0.1:9",  # never called: no page or list talks to LiveKit
    "LIVEKIT_API_KEY": API_KEY,
    "LIVEKIT_API_SECRET": API_SECRET,
    "SECURE_SSL_REDIRECT": "false",
    # Production start without mail, broker or bucket: say so explicitly (a bench sends none of them).
    "ALLOW_CONSOLE_EMAIL": "true",
    "ALLOW_INLINE_TASKS": "true",
    "SERVE_LOCAL_MEDIA": "true",
    "CONN_MAX_AGE": "60",
    "THROTTLE_TOKEN_USER": "10000000/min",
    "THROTTLE_TOKEN_IP": "10000000/min",
    "THROTTLE_CREDENTIALS": "10000000/min",
    "THROTTLE_SOCIAL": "10000000/min",
}
CSRF = "b" * 32


def recreate_database() -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def seed(creators: int) -> dict:
    from django.contrib.auth.hashers import make_password
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import Follow, User
    from streams.models import Stream

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # the manifest production serves from
    cache.clear()
    rng = random.Random(7)
    users = User.objects.bulk_create(
        [
            User(
                username=f"creator{i:05d}", email=f"c{i}@example.com", password="!", creator_status="approved"
            )
            for i in range(creators)
        ],
        batch_size=2000,
    )
    Stream.objects.bulk_create(
        [
            Stream(
                user=user,
                title=f"Stream number {i}",
                is_live=i % 2 == 0,
                viewer_count=rng.randint(0, 5000) if i % 2 == 0 else 0,
                ingress_id=f"IN_bench{i:07d}",
            )
            for i, user in enumerate(users)
        ],
        batch_size=2000,
    )
    viewer = User.objects.create(
        username="benchviewer", email="v@example.com", password=make_password("bench-password")
    )
    Follow.objects.bulk_create([Follow(follower=viewer, following=u) for u in users[:50]])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as autovacuum would have: planner statistics for 20,000 fresh rows
    return {"viewer_id": viewer.pk, "creator": users[0].username, "creator_ids": [u.pk for u in users[::2]]}


def session_cookie(viewer_id: int) -> str:
    from django.test import Client

    from accounts.models import User

    client = Client()
    client.force_login(User.objects.get(pk=viewer_id))
    return f"sessionid={client.cookies['sessionid'].value}; csrftoken={CSRF}"


def signed_delivery(n: int, room: str, now: int, prefix: str = "EV_bench") -> tuple[str, str]:
    """A participant_joined delivery with its own id, signed as LiveKit signs them: (auth, body)."""
    import jwt

    body = json.dumps(
        {
            "event": "participant_joined",
            "id": f"{prefix}{n:09d}",
            "createdAt": str(now),
            "room": {"name": room},
            "participant": {"identity": f"guest-{now}000-{n:08x}", "joinedAtMs": str(now * 1000 + n)},
        },
        separators=(",", ":"),
    )
    digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    claims = {"iss": API_KEY, "nbf": now - 10, "exp": now + 3600, "sha256": digest}
    return jwt.encode(claims, API_SECRET, algorithm="HS256"), body


def deliveries_file(creator_ids: list[int], count: int) -> str:
    now = int(time.time())
    path = Path(tempfile.mkstemp(prefix="deliveries-", suffix=".tsv")[1])
    with path.open("w") as out:
        for n in range(count):
            auth, body = signed_delivery(n, str(creator_ids[n % len(creator_ids)]), now)
            out.write(f"{auth}\t{body}\n")
    return str(path)


def count_queries(
    method: str, url: str, *, body=None, viewer_id=None, content_type="application/json", headers=None
):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User

    client = Client()
    if viewer_id:
        client.force_login(User.objects.get(pk=viewer_id))
    with CaptureQueriesContext(connection) as queries:
        response = client.generic(method, url, body or "", content_type=content_type, headers=headers or {})
    return len(queries), response.status_code


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "streamit.wsgi",
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, **ENV},
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("gunicorn did not start")


def run_wrk(url: str, *, duration: int, connections: int, extra_env: dict) -> dict:
    result = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "-s", str(ROOT / "bench/lua/request.lua"), url],
        capture_output=True,
        text=True,
        env={**os.environ, **extra_env},
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"wrk failed on {url}: {result.stderr or result.stdout}")
    line = [row for row in result.stdout.splitlines() if row.startswith("{")][-1]
    figures = json.loads(line)
    figures["rps"] = figures["requests"] / (figures["duration_us"] / 1e6)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--creators", type=int, default=20_000)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk")

    os.environ.update(ENV)
    recreate_database()
    import django

    django.setup()
    print(f"Seeding {args.creators} creators ({args.creators // 2} live)…", flush=True)
    seeded = seed(args.creators)
    creator = seeded["creator"]
    cookie = session_cookie(seeded["viewer_id"])
    deliveries = deliveries_file(seeded["creator_ids"], 40_000)

    rows = [
        ("bare view (the limit)", "GET", "/bench/bare", {}, None, None),
        (
            "POST /api/viewer/token (guest)",
            "POST",
            "/api/viewer/token",
            {},
            {"username": creator, "guestName": "bench"},
            None,
        ),
        (
            "POST /api/viewer/token (viewer)",
            "POST",
            "/api/viewer/token",
            {"BENCH_COOKIE": cookie, "BENCH_CSRF": CSRF},
            {"username": creator},
            seeded["viewer_id"],
        ),
        ("GET /api/viewer/live", "GET", "/api/viewer/live", {}, None, None),
        (
            f"GET /api/viewer/stream/{creator}/status",
            "GET",
            f"/api/viewer/stream/{creator}/status",
            {},
            None,
            None,
        ),
        ("GET / (home page)", "GET", "/", {}, None, None),
        (
            "POST /api/webhook/livekit (signed)",
            "POST",
            "/api/webhook/livekit",
            {"BENCH_DELIVERIES": deliveries},
            None,
            None,
        ),
    ]
    port = free_port()
    server = start_gunicorn(port)
    results = []
    try:
        for label, method, path, extra, body, viewer_id in rows:
            if path == "/api/webhook/livekit":
                auth, payload = signed_delivery(
                    0, str(seeded["creator_ids"][0]), int(time.time()), "EV_count"
                )
                queries, status = count_queries(
                    "POST",
                    path,
                    body=payload,
                    content_type="application/webhook+json",
                    headers={"Authorization": auth},
                )
            else:
                queries, status = count_queries(
                    method, path, body=json.dumps(body) if body else None, viewer_id=viewer_id
                )
            env = {"BENCH_METHOD": method, **extra}
            if body is not None:
                env["BENCH_BODY"] = json.dumps(body)
            print(f"… {label}", flush=True)
            figures = run_wrk(
                f"http://127.0.0.1:{port}{path}",
                duration=args.duration,
                connections=args.connections,
                extra_env=env,
            )
            results.append((label, figures, queries, status))
    finally:
        server.terminate()
        server.wait(10)
        os.unlink(deliveries)

    limit = results[0][1]["rps"]
    print()
    print(
        f"wrk -t2 -c{args.connections} -d{args.duration}s, gunicorn 2 sync workers, PostgreSQL, "
        f"Redis cache, {args.creators} creators"
    )
    print(
        f"{'endpoint':<44} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'x limit':>8} "
        f"{'queries':>8} {'errors':>7}"
    )
    for label, figures, queries, _status in results:
        errors = figures["non2xx"] + figures["socket_errors"]
        print(
            f"{label:<44} {figures['rps']:>8.0f} {figures['p50_us'] / 1000:>8.1f} "
            f"{figures['p99_us'] / 1000:>8.1f} "
            f"{figures['rps'] / limit:>8.2f} {queries:>8} {errors:>7}"
        )


if __name__ == "__main__":
    main()
