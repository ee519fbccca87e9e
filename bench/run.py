"""Benchmark the hot paths against the framework's own limit, on PostgreSQL + a WSGI server (2 processes).

    .venv/bin/python bench/run.py [--duration 20] [--connections 16] [--creators 20000] [--rounds 3]
                                  [--servers granian,sync,gthread] [--rows guest-warm,status-random]

Sets up what it needs: a fresh `streamit_bench` database on the local PostgreSQL (seeded with 20,000
creators, half of them live), Redis db 5 as the cache (throttles and cached reads live there, as in
production), each server on a free port, and wrk (Debian's `wrk`) as the load tool with 2 threads. Throttles
stay on with their limits raised through settings, so the throttle path is measured too.

Rows name one creator, or a creator drawn at random among all of them for every request (the case of many
streams live at once: the host cache then holds thousands of entries). "cold" rows start from an empty
cache, "warm" rows from one holding every creator. Each round runs every row on every server; the table
prints, per row, the median over rounds of requests/s, p50, p99 and of the ratio to the bare view measured in
the same round on the same server, the queries one request makes, and the errors of all rounds.
The machine's load average is printed too: on a shared machine, compare ratios, not absolute figures.
"""

import argparse
import base64
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402

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


@dataclass(frozen=True)
class Row:
    """One line of the table. ``random_hosts``: each request names a creator at random among all of them
    ("{username}" in path and body); ``cache``: "cold" empties the cache first (most requests then miss
    for the whole run: 20,000 hosts), "warm" first puts every creator's host entry in it, "polled" every
    creator's stream state and host (as pages polling the status keep them)."""

    key: str
    label: str
    method: str
    path: str
    body: dict | None = None
    signed_in: bool = False
    random_hosts: bool = False
    cache: str = ""


def rows_for(creator: str) -> list[Row]:
    token = "/api/viewer/token"
    return [
        Row("bare", "bare view (the limit)", "GET", "/bench/bare"),
        Row("guest", "token guest, one host", "POST", token, {"username": creator, "guestName": "bench"}),
        Row("viewer", "token signed-in, one host", "POST", token, {"username": creator}, signed_in=True),
        Row("guest-cold", "token guest, random host, cold", "POST", token,
            {"username": "{username}", "guestName": "bench"}, random_hosts=True, cache="cold"),
        Row("guest-warm", "token guest, random host, warm", "POST", token,
            {"username": "{username}", "guestName": "bench"}, random_hosts=True, cache="warm"),
        Row("viewer-cold", "token signed-in, random host, cold", "POST", token,
            {"username": "{username}"}, signed_in=True, random_hosts=True, cache="cold"),
        Row("viewer-warm", "token signed-in, random host, warm", "POST", token,
            {"username": "{username}"}, signed_in=True, random_hosts=True, cache="warm"),
        Row("status", "status, one host", "GET", f"/api/viewer/stream/{creator}/status"),
        Row("status-random", "status, random host", "GET", "/api/viewer/stream/{username}/status",
            random_hosts=True, cache="polled"),
        Row("watch-random", "watch page, random host", "GET", "/{username}/live", random_hosts=True,
            cache="polled"),
        Row("live", "GET /api/viewer/live", "GET", "/api/viewer/live"),
        Row("home", "GET / (home page)", "GET", "/"),
        Row("webhook", "POST /api/webhook/livekit (signed)", "POST", "/api/webhook/livekit"),
    ]  # fmt: skip


def prepare_cache(row: Row, creators: int) -> None:
    from django.core.cache import cache

    from streams import selectors, stream_state

    if row.cache == "cold":
        cache.clear()  # sessions live in the database, so the signed-in cookie survives
    elif row.cache == "warm":
        cache.clear()  # then each read below stores the name, the generation and the copy
        for i in range(creators):
            selectors.host_get(username=f"creator{i:05d}")
    elif row.cache == "polled":
        # Every creator's page open and polling: each state (and host, for the page) is in the cache, as
        # the polls keep it. Not emptied first: the rounds after the first find it warm already.
        for i in range(creators):
            username = f"creator{i:05d}"
            state = stream_state.stream_state_get(username=username)
            stream_state.stream_state_get(username=username)  # a name new to the cache stores no copy
            selectors.host_get(user_id=state.user_id)


def row_queries(row: Row, seeded: dict, creators: int) -> tuple[int, int]:
    """The queries one request makes (in this process, against the same database and cache)."""
    if row.key == "webhook":
        auth, payload = signed_delivery(0, str(seeded["creator_ids"][0]), int(time.time()), "EV_count")
        return count_queries(
            "POST", row.path, body=payload, content_type="application/webhook+json",
            headers={"Authorization": auth},
        )  # fmt: skip
    username = f"creator{random.randrange(creators):05d}" if row.random_hosts else seeded["creator"]
    path = row.path.replace("{username}", username)
    body = json.dumps(row.body).replace("{username}", username) if row.body else None
    return count_queries(
        row.method, path, body=body, viewer_id=seeded["viewer_id"] if row.signed_in else None
    )


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--creators", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--servers",
        default="granian",
        help=f"comma-separated (default: the Procfile's), among {', '.join(harness.SERVERS)}",
    )
    parser.add_argument(
        "--rows", default="", help="comma-separated row keys (default: all); bare always runs"
    )
    parser.add_argument("--json", default="", help="write every round's raw figures to this file")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    servers = args.servers.split(",")
    for kind in servers:
        if kind not in harness.SERVERS:
            raise SystemExit(f"unknown server {kind!r}")

    os.environ.update(ENV)
    harness.recreate_database(DB_NAME)
    import django

    django.setup()
    print(f"Seeding {args.creators} creators ({args.creators // 2} live)…", flush=True)
    seeded = seed(args.creators)
    cookie = session_cookie(seeded["viewer_id"])
    deliveries = deliveries_file(seeded["creator_ids"], 40_000)
    rows = rows_for(seeded["creator"])
    if args.rows:
        wanted = {"bare", *args.rows.split(",")}
        rows = [row for row in rows if row.key in wanted]

    load_before = os.getloadavg()
    # results[server][row.key] = one figures dict per round; queries[row.key] = (queries, status)
    results: dict[str, dict[str, list[dict]]] = {kind: {row.key: [] for row in rows} for kind in servers}
    queries: dict[str, tuple[int, int]] = {}
    try:
        for round_number in range(1, args.rounds + 1):
            for kind in servers:
                port = harness.free_port()
                server = harness.start_server(kind, port, workers=2, env=ENV)
                try:
                    # Unrecorded: every worker loads its code and opens its connections.
                    run_wrk(f"http://127.0.0.1:{port}/bench/bare", duration=3, connections=args.connections,
                            extra_env={"BENCH_METHOD": "GET"})  # fmt: skip
                    for row in rows:
                        prepare_cache(row, args.creators)
                        if row.key not in queries:
                            if row.cache != "cold":
                                row_queries(row, seeded, args.creators)  # a one-host row's entry is cached
                            queries[row.key] = row_queries(row, seeded, args.creators)
                            if row.cache == "cold":
                                prepare_cache(row, args.creators)  # the count warmed one entry
                        env = {"BENCH_METHOD": row.method}
                        if row.signed_in:
                            env.update(BENCH_COOKIE=cookie, BENCH_CSRF=CSRF)
                        if row.key == "webhook":
                            env["BENCH_DELIVERIES"] = deliveries
                        if row.body is not None:
                            env["BENCH_BODY"] = json.dumps(row.body)
                        if row.random_hosts:
                            env.update(BENCH_CREATORS=str(args.creators), BENCH_PATH=row.path)
                        print(f"… round {round_number}, {kind}: {row.label}", flush=True)
                        url_path = "/" if row.random_hosts else row.path
                        results[kind][row.key].append(
                            run_wrk(
                                f"http://127.0.0.1:{port}{url_path}",
                                duration=args.duration,
                                connections=args.connections,
                                extra_env=env,
                            )
                        )
                finally:
                    server.terminate()
                    server.wait(10)
    finally:
        os.unlink(deliveries)
    load_after = os.getloadavg()
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "queries": queries}, indent=1))

    print()
    print(
        f"wrk -t2 -c{args.connections} -d{args.duration}s, {args.rounds} rounds (median of each figure), "
        f"PostgreSQL, Redis cache, {args.creators} creators; {os.cpu_count()} CPUs, load average "
        f"{load_before[0]:.1f} before, {load_after[0]:.1f} after"
    )
    first_bare = median([f["rps"] for f in results[servers[0]]["bare"]])
    for kind in servers:
        bare = results[kind]["bare"]
        print()
        print(f"server: {kind} (2 processes); bare view {median([f['rps'] for f in bare]) / first_bare:.2f}"
              f" × {servers[0]}'s")  # fmt: skip
        print(
            f"{'endpoint':<40} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'x limit':>8} "
            f"{'queries':>8} {'errors':>7}"
        )
        for row in rows:
            runs = results[kind][row.key]
            # The ratio is taken within each round (same minute, same load), then the median.
            ratio = median([run["rps"] / b["rps"] for run, b in zip(runs, bare, strict=True)])
            errors = sum(run["non2xx"] + run["socket_errors"] for run in runs)
            print(
                f"{row.label:<40} {median([r['rps'] for r in runs]):>8.0f} "
                f"{median([r['p50_us'] for r in runs]) / 1000:>8.1f} "
                f"{median([r['p99_us'] for r in runs]) / 1000:>8.1f} "
                f"{ratio:>8.2f} {queries[row.key][0]:>8} {errors:>7}"
            )


if __name__ == "__main__":
    main()
