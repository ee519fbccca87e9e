"""Two server processes sharing the Redis cache share the throttle: a limit holds across workers."""

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
REDIS_CACHE = "redis://127.0.0.1:6379/13"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int, database_url: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CACHE_URL": REDIS_CACHE,
        "THROTTLE_TOKEN_IP": "3/min",
        "DEBUG": "true",
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError("the server did not start")


def ask_for_token(port: int) -> tuple[int, str | None]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/viewer/token",
        data=b'{"username": "nobody"}',
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, None
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Retry-After")


@pytest.mark.redis
@pytest.mark.postgres
def test_two_processes_share_the_token_limit(transactional_db):
    import redis

    redis.Redis.from_url(REDIS_CACHE).flushdb()
    settings_dict = connection.settings_dict
    database_url = f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}/{settings_dict['NAME']}"
    ports = [free_port(), free_port()]
    servers = [start_server(port, database_url) for port in ports]
    try:
        answers = [ask_for_token(ports[n % 2]) for n in range(4)]
    finally:
        for server in servers:
            server.terminate()
            server.wait(10)
    assert [status for status, _ in answers[:3]] == [404, 404, 404]  # unknown creator, under the limit
    status, retry_after = answers[3]
    assert status == 429 and int(retry_after) > 0  # the 4th, on either process, is over the shared limit


@pytest.mark.redis
def test_both_cache_aliases_share_one_redis_through_django_redis(settings):
    from django.core.cache import caches

    from streamit.cache import caches_for

    settings.CACHES = caches_for(REDIS_CACHE, socket_timeout=0.25)
    caches["default"].set("probe", {"n": 1}, 30)
    assert caches["limits"].get("probe") == {"n": 1}
    client = caches["default"].client
    assert client.get_client(write=True) is client.get_client(write=False)  # one client per server
    caches["default"].delete("probe")
    assert caches["limits"].get("probe") is None
