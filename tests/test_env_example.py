"""`.env.example` is what people copy to `.env`: as it stands it must give a site that starts."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_example_file_as_it_stands_starts_the_site():
    # Settings read .env without overwriting the environment, so passing the file's lines as the
    # environment of a fresh process is what a copied file gives.
    example = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            example[key] = value
    assert "SECURE_HSTS_SECONDS" in (ROOT / ".env.example").read_text()
    env = {k: v for k, v in os.environ.items() if k not in example and k != "DATABASE_URL"}
    env.update(example, DJANGO_SETTINGS_MODULE="streamit.settings")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
