"""What every benchmark here sets up the same way: a fresh database, a free port, the WSGI server as the
Procfile (or gunicorn) runs it, and one timed POST on its own connection."""

import http.client
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The servers compared: the same WSGI app as the Procfile would run it.
SERVERS = {
    "granian": lambda port, workers: [
        str(ROOT / ".venv/bin/granian"), "--interface", "wsgi", "--workers", str(workers),
        "--host", "127.0.0.1", "--port", str(port), "--blocking-threads", "4", "--no-ws",
        "--log-level", "warning", "streamit.wsgi:application",
    ],
    "sync": lambda port, workers: [
        str(ROOT / ".venv/bin/gunicorn"), "streamit.wsgi", "-w", str(workers), "-b", f"127.0.0.1:{port}",
        "--log-level", "warning",
    ],
    "gthread": lambda port, workers: [
        str(ROOT / ".venv/bin/gunicorn"), "streamit.wsgi", "-w", str(workers), "--threads", "4",
        "-b", f"127.0.0.1:{port}", "--log-level", "warning",
    ],
}  # fmt: skip


def recreate_database(name: str) -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(kind: str, port: int, *, workers: int, env: dict) -> subprocess.Popen:
    """Started, and answering HTTP: a server accepts connections before its workers have loaded the app."""
    process = subprocess.Popen(SERVERS[kind](port, workers), cwd=ROOT, env={**os.environ, **env})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).close()
            return process
        except urllib.error.HTTPError:  # any answer means the app is loaded
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"{kind} did not start")


def timed_post(port: int, path: str, body: bytes, headers: dict) -> tuple[int, float]:
    """One POST on its own connection; its status and latency in seconds."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    finally:
        connection.close()
