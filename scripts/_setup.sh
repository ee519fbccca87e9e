# Sourced by scripts/run.sh and scripts/test.sh: make the virtualenv and install what is pinned.
# Re-installs only when a requirements or lock file changed, so repeated runs start fast.
set -euo pipefail

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "==> Creating the virtualenv in .venv"
  "$PYTHON" -m venv .venv
fi

stamp() { cat "$@" 2>/dev/null | sha256sum | cut -d' ' -f1; }

want=$(stamp requirements.txt requirements-dev.txt)
if [ "$(cat .venv/.installed 2>/dev/null)" != "$want" ]; then
  echo "==> Installing Python packages (requirements-dev.txt)"
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
  echo "$want" > .venv/.installed
fi

if [ -f package-lock.json ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "!! npm is not installed: the video player's JavaScript (livekit-client) cannot be installed." >&2
  else
    want_js=$(stamp package.json package-lock.json)
    if [ "$(cat node_modules/.installed 2>/dev/null)" != "$want_js" ] || [ ! -d static/vendor ]; then
      echo "==> Installing JavaScript packages (npm ci)"
      npm ci --silent --no-audit --no-fund
      echo "$want_js" > node_modules/.installed
    fi
  fi
fi
