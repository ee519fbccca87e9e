#!/usr/bin/env bash
# Set everything up and run the whole test suite. Extra arguments go to pytest.
# Tests needing PostgreSQL, Redis or Chromium run when those are present; the summary lists what was left out.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_setup.sh
exec .venv/bin/pytest "$@"
