#!/usr/bin/env bash
# Run the WebRTC tests (marker "webrtc": the real-time stand-in driven by LiveKit's Python SDK and by
# livekit-client in Chromium) in a network namespace of their own, so no media or ICE packet can leave
# the machine. The namespace has loopback plus a veth pair whose two ends both stay inside it: libwebrtc
# (the Python SDK) gathers no candidate on loopback alone. SQLite only (PostgreSQL and Redis are outside
# the namespace), in a file, so the live server's threads wait for each other's writes. Needs root (or user namespaces); extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_setup.sh
quoted=$(printf ' %q' "$@")
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(--map-root-user)
exec unshare --net "${as_root[@]}" sh -c "
  set -e
  ip link set lo up
  ip link add lk0 type veth peer name lk1
  ip addr add 10.254.0.1/24 dev lk0
  ip link set lk0 up
  ip link set lk1 up
  exec env -u DATABASE_URL -u REDIS_URL STREAMIT_SQLITE_TEST_FILE=\$(mktemp -u /tmp/streamit-webrtc-XXXXXX.sqlite3) \\
    .venv/bin/pytest -m webrtc $quoted
"
