#!/usr/bin/env bash
# Set everything up and run StreamIt on http://127.0.0.1:8000 (SQLite unless DATABASE_URL is set).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_setup.sh
.venv/bin/python manage.py migrate --no-input
.venv/bin/python manage.py seed_demo
exec .venv/bin/python manage.py runserver "${PORT:-127.0.0.1:8000}"
