"""Project-wide checks: migrations, production settings, start-up failures, routing, the demo data."""

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import resolve

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "k" * 20 + "production-secret-of-sufficient-length-and-variety-1234567890",
    "ALLOWED_HOSTS": "streamit.example.com",
    "CACHE_URL": "redis://127.0.0.1:6379/1",
    "EMAIL_URL": "smtp+tls://mailer:mail-password@smtp.example.com:587",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/2",
    "AWS_STORAGE_BUCKET_NAME": "streamit-thumbnails",
    "LIVEKIT_URL": "wss://streamit.livekit.cloud",
    "LIVEKIT_API_KEY": "APIprodkey",
    "LIVEKIT_API_SECRET": "a-production-livekit-secret-of-32-bytes-or-more",
}
# Variables of the developer's shell that would change what a production start does.
_INHERITED = ("DJANGO_", "LIVEKIT_", "SECRET_KEY", "AWS_", "ALLOW_", "SECURE_HSTS_", "SERVE_LOCAL_MEDIA")
_INHERITED_EXACT = ("DEBUG", "ALLOWED_HOSTS", "CACHE_URL", "EMAIL_URL", "CELERY_BROKER_URL", "MEDIA_ROOT")


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(_INHERITED) and k not in _INHERITED_EXACT
    }
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


# Run inside a production start: one HTTPS request through the whole middleware stack, answered as JSON.
PROBE = """
import json
from django.test import Client
response = Client(HTTP_HOST="streamit.example.com").get(PATH, secure=True)
body = b"".join(response.streaming_content) if response.streaming else response.content
print(json.dumps({"status": response.status_code, "hsts": response.get("Strict-Transport-Security"),
                  "cache": response.get("Cache-Control"), "body": body.decode("latin-1")}))
"""


def probe(path: str, env: dict[str, str]) -> dict:
    result = run_manage("shell", "-c", PROBE.replace("PATH", repr(path)), env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


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


@pytest.mark.parametrize(
    "missing",
    ["SECRET_KEY", "ALLOWED_HOSTS", "CACHE_URL", "EMAIL_URL", "CELERY_BROKER_URL", "AWS_STORAGE_BUCKET_NAME"],
)
def test_start_up_without_a_required_value_names_it(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"Set the {missing} environment variable" in result.stderr


def test_start_up_refuses_console_mail_given_as_the_email_url():
    result = run_manage("check", env={**PRODUCTION_ENV, "EMAIL_URL": "consolemail://"})
    assert result.returncode != 0
    assert "Set the EMAIL_URL environment variable" in result.stderr
    assert "ALLOW_CONSOLE_EMAIL=true" in result.stderr  # the refusal names the way out


@pytest.mark.parametrize(
    ("missing", "opt_out", "logged"),
    [
        ("EMAIL_URL", "ALLOW_CONSOLE_EMAIL", "password-reset mail goes to the console"),
        ("CELERY_BROKER_URL", "ALLOW_INLINE_TASKS", "background tasks run inside the request"),
        ("AWS_STORAGE_BUCKET_NAME", "SERVE_LOCAL_MEDIA", "the site serves thumbnails from MEDIA_ROOT"),
    ],
)
def test_an_explicit_opt_out_starts_and_is_logged(missing, opt_out, logged):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = run_manage("check", env={**env, opt_out: "true"})
    assert result.returncode == 0, result.stderr
    assert f"{opt_out}=true: {logged}" in result.stderr


def test_production_on_local_storage_serves_the_thumbnails(tmp_path):
    (tmp_path / "thumbnails").mkdir()
    (tmp_path / "thumbnails" / "0123abcd.png").write_bytes(b"\x89PNG-pretend")
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "AWS_STORAGE_BUCKET_NAME"}
    env.update({"SERVE_LOCAL_MEDIA": "true", "MEDIA_ROOT": str(tmp_path)})
    served = probe("/media/thumbnails/0123abcd.png", env)
    assert (served["status"], served["body"]) == (200, "\x89PNG-pretend")
    assert "immutable" in served["cache"]  # names are never reused
    assert probe("/media/../streamit/settings.py", env)["status"] in (400, 404)  # never outside MEDIA_ROOT


def test_hsts_preload_and_subdomains_are_opt_in(tmp_path):
    (tmp_path / "f.png").write_bytes(b"x")
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "AWS_STORAGE_BUCKET_NAME"}
    env.update({"SERVE_LOCAL_MEDIA": "true", "MEDIA_ROOT": str(tmp_path)})
    assert probe("/media/f.png", env)["hsts"] == "max-age=31536000"
    opted_in = {**env, "SECURE_HSTS_PRELOAD": "true", "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true"}
    assert probe("/media/f.png", opted_in)["hsts"] == "max-age=31536000; includeSubDomains; preload"


def test_start_up_with_the_development_livekit_secret_fails():
    env = {**PRODUCTION_ENV, "LIVEKIT_API_KEY": "devkey", "LIVEKIT_API_SECRET": "secret"}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "LIVEKIT_API_SECRET" in result.stderr


@pytest.mark.django_db
def test_seed_demo_creates_the_documented_users_once():
    from accounts.models import User
    from streams.management.commands.seed_demo import DEMO_PASSWORD

    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    creator = User.objects.get(username="demo_creator")
    viewer = User.objects.get(username="demo_viewer")
    assert creator.is_approved_creator and hasattr(creator, "stream")
    assert not viewer.is_approved_creator
    assert creator.check_password(DEMO_PASSWORD) and viewer.check_password(DEMO_PASSWORD)
    assert User.objects.filter(username__startswith="demo_").count() == 3


@pytest.mark.parametrize(
    ("path", "view_name"),
    [
        ("/", "home"),
        ("/admin/", "admin:index"),
        ("/accounts/login/", "accounts:login"),
        ("/dashboard/keys/", "streams:keys"),
        ("/api/stream/credentials", "streams-api:credentials"),
        ("/api/viewer/token", "viewers-api:token"),
        ("/api/webhook/livekit", "webhooks:livekit"),
        ("/api/schema/", "api-schema"),
        ("/alice/", "viewers:creator"),
        ("/alice/live", "viewers:watch"),
    ],
)
def test_each_prefix_reaches_its_app_and_creator_pages_come_last(path, view_name):
    """The root URLconf's order matters: /admin/ or /dashboard/ must never be read as a creator's page."""
    assert resolve(path).view_name == view_name


@pytest.mark.django_db
def test_the_home_page_is_the_live_list(client, creator, other_creator):
    """/ shows who is live now, linking to the watch page, and leaves out who is not."""
    live = creator.stream
    live.is_live, live.title = True, "Speedrun night"
    live.save()
    other_creator.stream.title = "Offline show"
    other_creator.stream.save()
    response = client.get("/")
    assert response.status_code == 200
    live_section = response.content.decode().split('data-section="live"')[1].split("data-section")[0]
    assert "Speedrun night" in live_section and 'href="/alice/live"' in live_section
    assert "Offline show" not in live_section


@pytest.mark.django_db
def test_an_unknown_page_gets_the_friendly_404(client, settings):
    settings.DEBUG = False
    response = client.get("/accounts/no-such-page/")
    assert response.status_code == 404
    assert "404.html" in [t.name for t in response.templates]
    html = response.content.decode()
    # Our page, inside the site's layout (Django's bare "Not Found" has neither).
    assert "Page not found" in html and 'href="/">Back to the home page' in html
    assert 'href="/accounts/login/"' in html  # the navigation of base.html


@pytest.mark.django_db
def test_pages_carry_a_strict_csp_that_allows_the_livekit_server(client, settings):
    settings.LIVEKIT_URL = "wss://example.livekit.cloud"
    policy = client.get("/accounts/login/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self' wss://example.livekit.cloud https://example.livekit.cloud"
    assert directives["frame-ancestors"] == "'none'"
