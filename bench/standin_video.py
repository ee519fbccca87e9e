"""What the stand-in's simulated encoder costs: CPU per subscriber and frames delivered per second with 1,
3 and 5 subscribers (LiveKit's Python real-time SDK as the viewers).

    .venv/bin/python bench/standin_video.py [--seconds 10] [--counts 1,3,5]

The stand-in runs in a child process (its CPU time is read from /proc), publishing the test pattern into
a room; the viewers connect over /rtc/v1 and decode every frame. WebRTC stays on this machine: the script
re-runs itself in a network namespace of its own, as scripts/test-webrtc.sh does (root or user namespaces).
"""

import argparse
import asyncio
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

API_KEY = "APIbenchvideo"
API_SECRET = "bench-video-secret-long-enough-for-hs256-0123456789"
ROOM = "bench"

SERVER = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
from livekit.protocol import ingress as proto_ingress
from livekit_standin import StandIn
from livekit_standin.twirp import create_ingress
server = StandIn(api_key={API_KEY!r}, api_secret={API_SECRET!r}).start()
info = create_ingress(server, proto_ingress.CreateIngressRequest(
    input_type=proto_ingress.IngressInput.RTMP_INPUT, room_name={ROOM!r},
    participant_identity="creator", participant_name="bench creator"))
server.encoder_start(info.ingress_id)
print(server.ws_url, flush=True)
sys.stdin.read()
server.close()
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


async def watch(url: str, identity: str, seconds: float, counts: dict) -> None:
    from livekit import api, rtc

    token = (
        api.AccessToken(API_KEY, API_SECRET)
        .with_identity(identity)
        .with_grants(api.VideoGrants(room_join=True, room=ROOM, can_publish=False))
        .to_jwt()
    )
    room = rtc.Room()
    video: asyncio.Future = asyncio.get_running_loop().create_future()

    def subscribed(track, *_):
        if track.kind == rtc.TrackKind.KIND_VIDEO and not video.done():
            video.set_result(track)

    room.on("track_subscribed", subscribed)
    await room.connect(url, token, rtc.RoomOptions(single_peer_connection=True))
    stream = rtc.VideoStream(await asyncio.wait_for(video, 15))
    counts[identity] = 0
    deadline = asyncio.get_running_loop().time() + seconds
    async for _ in stream:
        counts[identity] += 1
        if asyncio.get_running_loop().time() >= deadline:
            break
    await stream.aclose()
    await room.disconnect()


async def measure(url: str, pid: int, subscribers: int, seconds: float) -> tuple[float, float]:
    counts: dict[str, int] = {}
    warmup = 2.0
    tasks = [
        asyncio.create_task(watch(url, f"viewer-{subscribers}-{n}", seconds + warmup, counts))
        for n in range(subscribers)
    ]
    await asyncio.sleep(warmup + 1.0)  # joined and decoding before the window opens
    cpu0, frames0, t0 = cpu_seconds(pid), sum(counts.values()), time.monotonic()
    await asyncio.sleep(seconds - 1.5)
    cpu1, frames1, t1 = cpu_seconds(pid), sum(counts.values()), time.monotonic()
    await asyncio.gather(*tasks)
    elapsed = t1 - t0
    return (cpu1 - cpu0) / elapsed * 100, (frames1 - frames0) / elapsed / subscribers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--counts", default="1,3,5")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.inside:
        again = shlex.join(
            [sys.executable, __file__, "--inside", "--seconds", str(args.seconds), "--counts", args.counts]
        )
        as_root = [] if os.geteuid() == 0 else ["--map-root-user"]
        script = (
            "set -e; ip link set lo up; ip link add lk0 type veth peer name lk1; "
            "ip addr add 10.254.0.1/24 dev lk0; ip link set lk0 up; ip link set lk1 up; exec " + again
        )
        sys.exit(subprocess.call(["unshare", "--net", *as_root, "sh", "-c", script]))

    server = subprocess.Popen(
        [sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    url = server.stdout.readline().strip()
    print(f"stand-in {url}, pid {server.pid}; test pattern 640x360 @ 15 fps; {os.cpu_count()} CPUs")
    print("| subscribers | stand-in CPU % | CPU % per subscriber | frames/s per subscriber |")
    print("|---:|---:|---:|---:|")
    try:
        for subscribers in [int(n) for n in args.counts.split(",")]:
            cpu, fps = asyncio.run(measure(url, server.pid, subscribers, args.seconds))
            print(f"| {subscribers} | {cpu:.1f} | {cpu / subscribers:.1f} | {fps:.1f} |", flush=True)
    finally:
        server.stdin.close()
        server.wait(10)


if __name__ == "__main__":
    main()
