"""PostgreSQL drops the connections a worker keeps (CONN_MAX_AGE): the next request still succeeds.

Without CONN_HEALTH_CHECKS every gunicorn worker answered its next request with a 500 on the dead
connection. A real server is used, gunicorn and granian (the Procfile's): Django's test client closes
connections itself.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port: int, path: str = "/") -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=20) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def terminate_other_backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


SERVERS = {
    "gunicorn": lambda port: [sys.executable, "-m", "gunicorn", "streamit.wsgi", "--workers", "1",
                              "--bind", f"127.0.0.1:{port}"],
    "granian": lambda port: [sys.executable, "-m", "granian", "--interface", "wsgi", "--workers", "1",
                             "--host", "127.0.0.1", "--port", str(port), "--no-ws",
                             "streamit.wsgi:application"],
}  # fmt: skip


@pytest.mark.postgres
@pytest.mark.parametrize("server_kind", SERVERS)
def test_a_dropped_database_connection_gives_no_500(transactional_db, server_kind):
    settings_dict = connection.settings_dict
    database_url = f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}/{settings_dict['NAME']}"
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "CONN_MAX_AGE": "600", "DEBUG": "true"}
    server = subprocess.Popen(
        SERVERS[server_kind](port),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, f"{server_kind} did not start"
                time.sleep(0.2)
        assert get(port) == 200  # the worker now keeps a connection
        assert terminate_other_backends() >= 1

        assert get(port) == 200
        assert get(port, "/api/viewer/live") == 200
    finally:
        server.terminate()
        server.wait(10)
