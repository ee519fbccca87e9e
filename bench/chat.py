"""Chat messages through the server: accepted messages per second and latency, on the web server + PostgreSQL.

    .venv/bin/python bench/chat.py [--messages 2000] [--chatters 1000] [--concurrency 8] [--workers 2]
        [--server granian|gunicorn]

Sets up a fresh `streamit_bench_chat` database on the local PostgreSQL with one live creator (an open
session), starts the LiveKit stand-in in this process with the creator's room, and the web server (granian
as the Procfile runs it, or gunicorn sync workers) with production settings and Redis as the cache
(database 5, cleared first, as bench/run.py does). Guests post
`POST /api/viewer/stream/<username>/chat` with the LiveKit tokens the site issued them (`--chatters` of them,
so the per-chatter flood limit is not what is measured), from `--concurrency` threads, each request on its
own connection. Every message is checked, stored and sent to the room with one SendData. Prints accepted
messages/s, p50 and p99, and checks that every accepted message was stored once and reached the room once.

What is measured: everything shares this machine's CPUs — the server, PostgreSQL, Redis, and in this one
Python process the load client's threads and the stand-in (a real LiveKit runs elsewhere) — so the rate is
what the server does while paying for its own load. The CPU time one message costs is printed too, in the
web server's processes, in the PostgreSQL backends serving them and in this process (Redis is shared with
other users and not counted), and how much CPU the machine spent outside this bench meanwhile: the load
average is no guide to that, since it counts the bench's own ~20 runnable threads (about 5 on an otherwise
idle machine). On a shared machine the rate follows what else runs; CPU per message moves far less, so it
is the figure to compare between two versions measured at different times.
"""

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402

DB_NAME = "streamit_bench_chat"
API_KEY = "APIbenchchat"
API_SECRET = "bench-chat-secret-long-enough-for-hs256-0123456789"
ENV = {
    "DJANGO_SETTINGS_MODULE": "streamit.settings",
    "DEBUG": "false",
    "SECRET_KEY": "bench-" + "x" * 50,
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
    # As production: Redis, shared by the workers (the host's cached copy, the flood count). The same
    # database as bench/run.py's; each bench clears it before it starts (benches never overlap: flock).
    "CACHE_URL": "redis://127.0.0.1:6379/5",
    "LIVEKIT_API_KEY": API_KEY,
    "LIVEKIT_API_SECRET": API_SECRET,
    "LIVEKIT_TOKEN_TTL": "3600",
    "SECURE_SSL_REDIRECT": "false",
    "ALLOW_CONSOLE_EMAIL": "true",
    "ALLOW_INLINE_TASKS": "true",
    "SERVE_LOCAL_MEDIA": "true",
    "CONN_MAX_AGE": "60",
    "PYTHONWARNINGS": "ignore",
}
USERNAME = "chatbench"


def seed() -> int:
    from django.core.cache import cache
    from django.core.management import call_command

    from accounts.models import User
    from streams.live import stream_go_live
    from streams.models import Stream

    call_command("migrate", verbosity=0)
    cache.clear()  # nothing cached from another bench's database (its user ids are ours too)
    user = User.objects.create(
        username=USERNAME, email="c@example.com", password="!", creator_status="approved"
    )
    stream = Stream.objects.create(user=user)
    stream_go_live(stream=stream)
    return user.pk


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids) -> float:
    """User + system CPU time the processes have used so far (from /proc; a process gone counts 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICKS


def machine_busy_seconds() -> float:
    """CPU time the whole machine has spent busy (every process, every CPU), from /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / _TICKS


def process_tree(root: int) -> list[int]:
    """``root`` and every process below it (the server's workers)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid, rest = stat.read_text().split(" ", 1)
            ppid = int(rest.rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(pid))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def database_backends() -> list[int]:
    """The PostgreSQL backends serving the bench's database (the server's connections; not this one)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [DB_NAME]
        )
        return [pid for (pid,) in cursor.fetchall()]


def post(port: int, token: str, text: str) -> tuple[int, float]:
    body = json.dumps({"text": text}).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    return harness.timed_post(port, f"/api/viewer/stream/{USERNAME}/chat", body, headers)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--chatters", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--server", choices=sorted(harness.SERVERS), default="granian")
    args = parser.parse_args()

    from livekit_standin.server import StandIn

    standin = StandIn(api_key=API_KEY, api_secret=API_SECRET).start()
    ENV["LIVEKIT_URL"] = standin.ws_url
    os.environ.update(ENV)
    harness.recreate_database(DB_NAME)
    import django

    django.setup()
    from streams import livekit, tokens

    host_id = seed()
    standin.room_create(livekit.room_name_for(host_id))
    chatters = [
        tokens.guest_token(host_id=host_id, guest_name=f"Guest {n}", can_chat=True).token
        for n in range(args.chatters)
    ]
    burst = [(chatters[n % len(chatters)], f"message {n}") for n in range(args.messages)]
    port = harness.free_port()
    server = harness.start_server(args.server, port, workers=args.workers, env=ENV)
    try:
        with ThreadPoolExecutor(args.concurrency) as pool:
            warm = [(token, "warm-up") for token in chatters[: args.concurrency * 2]]
            list(pool.map(lambda item: post(port, *item), warm))  # every worker loaded and connected
            standin.sent_data.clear()
            servers, backends = process_tree(server.pid), database_backends()
            busy_before = machine_busy_seconds()
            cpu_before = cpu_seconds(servers), cpu_seconds(backends), time.process_time()
            started = time.perf_counter()
            results = list(pool.map(lambda item: post(port, *item), burst))
            elapsed = time.perf_counter() - started
            cpu_after = cpu_seconds(servers), cpu_seconds(backends), time.process_time()
            busy = machine_busy_seconds() - busy_before
    finally:
        server.terminate()
        server.wait(timeout=10)
        standin.close()

    from chat.models import ChatMessage

    accepted = sum(1 for status, _ in results if status == 201)
    statuses = sorted({status for status, _ in results})
    latencies = sorted(seconds * 1000 for _, seconds in results)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    stored = ChatMessage.objects.exclude(text="warm-up").count()
    print(f"{len(burst)} chat messages from {args.chatters} guests, {args.concurrency} threads, "
          f"to {args.server} with {args.workers} workers + PostgreSQL + the LiveKit stand-in")  # fmt: skip
    print(f"  {accepted / elapsed:,.0f} accepted messages/s   p50 {statistics.median(latencies):.1f} ms   "
          f"p99 {p99:.1f} ms")  # fmt: skip
    print(
        f"  statuses {statuses}; stored {stored}; "
        f"SendData calls {len(standin.sent_data)} (expected {accepted})"
    )
    server_ms, database_ms, here_ms = (
        (after - before) * 1000 / len(burst) for before, after in zip(cpu_before, cpu_after, strict=True)
    )
    # CPU time varies far less with what else the machine runs than the rate does.
    print(f"  CPU per message: server {server_ms:.2f} ms, PostgreSQL {database_ms:.2f} ms, "
          f"load client + stand-in {here_ms:.2f} ms")  # fmt: skip
    # The load average counts this bench's own threads (about 20 runnable); this says what others used.
    ours = (server_ms + database_ms + here_ms) * len(burst) / 1000
    print(f"  the machine was busy {busy:.1f} CPU-s of {elapsed * os.cpu_count():.1f} during the run, "
          f"{max(0.0, busy - ours):.1f} outside this bench (other users, Redis, the kernel)")  # fmt: skip
    print(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (shared: figures scale with it)")
    if accepted != len(burst) or stored != accepted or len(standin.sent_data) != accepted:
        raise SystemExit("FAILED: a message was refused, or not stored or sent exactly once")


if __name__ == "__main__":
    main()
