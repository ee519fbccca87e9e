"""Shared test set-up: named users, a fast password hasher, and the service markers.

Tests that need PostgreSQL, Redis or Chromium carry a marker. Where the service is missing they are left
out with a plain reason, and the run ends with a list of what was left out. Under CI=true, every pass
writes what it collected and ran to STREAMIT_TEST_REPORT so .ci/run can fail a test no pass ran.
"""

import contextlib
import json
import os
import shutil
import socket
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.utils import timezone

pytest_plugins = ["livekit_standin.pytest_plugin"]

PASSWORD = "correct-horse-battery-staple"
_RAN: set[str] = set()  # node ids whose test body ran in this process


def _database_is_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def _redis_url() -> str:
    return os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_reachable() -> bool:
    parsed = urlparse(_redis_url())
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=0.5):
            return True
    except OSError:
        return False


def _chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")


def _browser_available() -> bool:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return False
    return _chromium_path() is not None


def livekit_server_reachable() -> bool:
    """A real LiveKit (`livekit-server --dev`) at LIVEKIT_SERVER_URL, for the livekit_server tests."""
    url = os.environ.get("LIVEKIT_SERVER_URL")
    if not url:
        return False
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 7880), timeout=0.5):
            return True
    except OSError:
        return False


def _loopback_only() -> bool:
    """WebRTC tests run only where no packet can leave the machine: a network namespace with no route
    out (scripts/test-webrtc.sh makes one). Elsewhere ICE would pair real interfaces too."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1: connect() on UDP only asks for a route
        return False
    except OSError:
        return True
    finally:
        probe.close()


SERVICE_CHECKS = {
    "postgres": (_database_is_postgres, "needs PostgreSQL: set DATABASE_URL=postgres://..."),
    "redis": (_redis_reachable, f"needs Redis at {_redis_url()}"),
    "browser": (_browser_available, "needs Chromium and Playwright (apt-get install chromium)"),
    "webrtc": (_loopback_only, "needs a loopback-only network namespace: run scripts/test-webrtc.sh"),
}


def pytest_configure(config):
    # Argon2 is deliberately slow; tests hash thousands of passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests sign with a secret long enough for HS256 (the dev server's "secret" is 6 bytes).
    settings.LIVEKIT_API_KEY = "APItest"
    settings.LIVEKIT_API_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
    config._streamit_left_out = {}


def pytest_collection_modifyitems(config, items):
    # Everything collected, before -m deselects: .ci/every_test_ran.py checks each ran in some pass.
    config._streamit_collected = [item.nodeid for item in items]


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    # After -m deselected: only the tests this run would have run are left out (and counted).
    config = session.config
    available = {name: check() for name, (check, _) in SERVICE_CHECKS.items()}
    for item in session.items:
        for name, (_, reason) in SERVICE_CHECKS.items():
            if item.get_closest_marker(name) and not available[name]:
                item.add_marker(pytest.mark.skip(reason=f"left out: {reason}"))
                config._streamit_left_out.setdefault(reason, 0)
                config._streamit_left_out[reason] += 1


def pytest_runtest_logreport(report):
    if report.when == "call" and not report.skipped:
        _RAN.add(report.nodeid)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    left_out = getattr(config, "_streamit_left_out", {})
    if left_out:
        terminalreporter.section("left out on this machine")
        for reason, count in left_out.items():
            terminalreporter.write_line(f"{count} test(s) not run: {reason}")
    report_path = os.environ.get("STREAMIT_TEST_REPORT")
    if report_path:
        Path(report_path).write_text(
            json.dumps(
                {
                    "collected": getattr(config, "_streamit_collected", []),
                    "ran": sorted(_RAN),
                }
            )
        )


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """STREAMIT_SQLITE_TEST_FILE puts the SQLite test database in a file. The WebRTC pass sets it: there
    the live server's threads, the stand-in's webhooks and several browsers write at once, and the
    in-memory database shares one connection between threads, so a write during a read fails at once
    ("database table is locked") instead of waiting its turn as separate connections to a file do."""
    path = os.environ.get("STREAMIT_SQLITE_TEST_FILE")
    if path and not _database_is_postgres():
        test_settings = settings.DATABASES["default"].setdefault("TEST", {})
        test_settings["NAME"] = path


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate limits, lockouts and cached reads must not leak from one test into the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


# --- Named users -----------------------------------------------------------------------------------


def make_user(username: str, **fields):
    from accounts.models import User

    return User.objects.create_user(
        username=username, email=f"{username}@example.com", password=PASSWORD, **fields
    )


def make_creator(username: str):
    """An approved creator with their Stream, as approval through the admin leaves them."""
    from accounts.services import creator_apply
    from streams.services import creator_approve

    user = make_user(username)
    creator_apply(user=user, reason="I stream speedruns.")
    reviewer = make_user(f"{username}-reviewer", is_staff=True)
    creator_approve(user=user, reviewer=reviewer)
    user.refresh_from_db()
    return user


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def creator(db):
    """alice: an approved creator with a stream."""
    return make_creator("alice")


@pytest.fixture
def viewer(db):
    """bob: a signed-up viewer."""
    return make_user("bob")


@pytest.fixture
def outsider(db):
    """charlie: another signed-up user with no relation to alice."""
    return make_user("charlie")


@pytest.fixture
def pending_creator(db):
    """dave: applied to stream, not yet reviewed."""
    user = make_user("dave")
    user.creator_status = "pending"
    user.creator_application = "Let me stream."
    user.applied_at = timezone.now()
    user.save()
    return user


@pytest.fixture
def staff(db):
    """sam: staff who reviews creators in the admin."""
    return make_user("sam", is_staff=True, is_superuser=True)


@pytest.fixture
def other_creator(db):
    """erin: a second approved creator."""
    return make_creator("erin")


@pytest.fixture(params=["locmem", pytest.param("redis", marks=pytest.mark.redis)])
def host_cache(request, settings):
    """The development cache, and Redis through django-redis (with the token path's scripts), as deployed:
    the tests of the host cache run on both."""
    if request.param == "redis":
        from django.core.cache import cache

        from streamit.cache import caches_for

        settings.CACHES = caches_for(_redis_url(), socket_timeout=1.0)
        cache.clear()
        yield request.param
        cache.clear()
        return
    yield request.param


# --- Background work ------------------------------------------------------------------------------


@pytest.fixture
def task_worker():
    """A real Celery worker (in a thread) over the Redis at REDIS_URL, instead of eager tasks.

    Use with ``@pytest.mark.redis`` and ``django_db(transaction=True)``: work is queued on commit and
    the worker reads what the request committed. Yields the Celery app.
    """
    from celery.contrib.testing.worker import start_worker

    with celery_broker(_redis_url()) as app:
        app.control.purge()  # a retry another test left queued must not reach this test's stand-in
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            yield app
        app.control.purge()


@contextlib.contextmanager
def celery_broker(url: str):
    """Celery publishing to ``url`` (not eagerly) for the block, then as before. Yields the app."""
    from streamit.celery import app

    keys = ("broker_url", "task_always_eager", "result_backend")
    saved = {key: app.conf[key] for key in keys}
    app.conf.update(broker_url=url, task_always_eager=False, result_backend=None)
    _celery_forget_connections(app)
    try:
        yield app
    finally:
        app.conf.update(saved)
        _celery_forget_connections(app)


def _celery_forget_connections(app) -> None:
    # Celery caches its broker connections (and kombu its producer pools) from the first use: a change of
    # broker_url needs them gone, or the next publish goes through the old broker (or a closed pool).
    from kombu import pools

    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    app.amqp._producer_pool = None
    pools.reset()
