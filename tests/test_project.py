"""Project-wide checks: migrations, production settings, start-up failures, the demo data."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "k" * 20 + "production-secret-of-sufficient-length-and-variety-1234567890",
    "ALLOWED_HOSTS": "streamit.example.com",
    "CACHE_URL": "redis://127.0.0.1:6379/1",
    "LIVEKIT_URL": "wss://streamit.livekit.cloud",
    "LIVEKIT_API_KEY": "APIprodkey",
    "LIVEKIT_API_SECRET": "a-production-livekit-secret-of-32-bytes-or-more",
}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "LIVEKIT_", "SECRET_KEY"))}
    clean.pop("DEBUG", None)
    clean.pop("ALLOWED_HOSTS", None)
    clean.pop("CACHE_URL", None)
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


@pytest.mark.django_db
def test_no_migrations_are_missing():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_check_deploy_passes_under_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


def test_collectstatic_builds_the_production_manifest(tmp_path):
    """Production serves hashed static files; a file referencing a missing one (a source map) breaks it."""
    result = run_manage("collectstatic", "--noinput", env={**PRODUCTION_ENV, "STATIC_ROOT": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "staticfiles.json").exists()


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "CACHE_URL"])
def test_start_up_without_a_required_value_names_it(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"Set the {missing} environment variable" in result.stderr


def test_start_up_with_the_development_livekit_secret_fails():
    env = {**PRODUCTION_ENV, "LIVEKIT_API_KEY": "devkey", "LIVEKIT_API_SECRET": "secret"}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "LIVEKIT_API_SECRET" in result.stderr


@pytest.mark.django_db
def test_seed_demo_creates_the_documented_users_once():
    from accounts.management.commands.seed_demo import DEMO_PASSWORD
    from accounts.models import User

    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    creator = User.objects.get(username="demo_creator")
    viewer = User.objects.get(username="demo_viewer")
    assert creator.is_approved_creator and hasattr(creator, "stream")
    assert not viewer.is_approved_creator
    assert creator.check_password(DEMO_PASSWORD) and viewer.check_password(DEMO_PASSWORD)
    assert User.objects.filter(username__startswith="demo_").count() == 3


@pytest.mark.django_db
def test_the_home_page_renders(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"StreamIt" in response.content


@pytest.mark.django_db
def test_an_unknown_page_gets_the_friendly_404(client, settings):
    settings.DEBUG = False
    response = client.get("/accounts/no-such-page/")
    assert response.status_code == 404
    assert b"Page not found" in response.content


@pytest.mark.django_db
def test_pages_carry_a_strict_csp_that_allows_the_livekit_server(client, settings):
    settings.LIVEKIT_URL = "wss://example.livekit.cloud"
    policy = client.get("/accounts/login/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self' wss://example.livekit.cloud https://example.livekit.cloud"
    assert directives["frame-ancestors"] == "'none'"
