"""Flame graphs of the WSGI server's workers under load, one per bench row (py-spy, sampling).

    .venv/bin/python bench/profiles/flame.py [--rows guest-warm,viewer-warm] [--duration 15]

Seeds the benchmark database as bench/run.py does, starts the server (granian, as the Procfile), drives
each row with wrk and records every worker with ``py-spy record --subprocesses`` meanwhile:
bench/profiles/<row>.speedscope.json (open it in speedscope, https://www.speedscope.app, offline too)
and <row>.txt, the functions holding the most samples (own, and with what they call). Sampling runs
outside the workers, so the figures are what the server does, not a tracer's overhead.
"""

import argparse
import collections
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from bench import harness  # noqa: E402
from bench import run as bench  # noqa: E402

SPY = str(HERE.parent.parent / ".venv/bin/py-spy")


def summary(speedscope: Path, top: int = 25) -> str:
    """The functions holding the most samples, own and with their callees, over every worker thread."""
    data = json.loads(speedscope.read_text())
    names = [f"{frame['name']} ({Path(frame.get('file', '?')).name})" for frame in data["shared"]["frames"]]
    own, total, samples = collections.Counter(), collections.Counter(), 0
    for profile in data["profiles"]:
        for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
            if not stack:
                continue
            samples += weight
            own[names[stack[-1]]] += weight
            for frame in {names[index] for index in stack}:
                total[frame] += weight
    lines = [f"{samples:.1f} s of samples (every worker thread that was not idle)"]
    for title, counter in (("own", own), ("with callees", total)):
        lines += ["", f"top {top} by {title}:"]
        lines += [f"{count / samples:6.1%}  {frame}" for frame, count in counter.most_common(top)]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", default="guest-warm,viewer-warm")
    parser.add_argument("--server", default="granian", choices=sorted(harness.SERVERS))
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--creators", type=int, default=20_000)
    args = parser.parse_args()

    os.environ.update(bench.ENV)
    harness.recreate_database(bench.DB_NAME)
    import django

    django.setup()
    seeded = bench.seed(args.creators)
    cookie = bench.session_cookie(seeded["viewer_id"])
    rows = {row.key: row for row in bench.rows_for(seeded["creator"])}
    port = harness.free_port()
    server = harness.start_server(args.server, port, workers=2, env=bench.ENV)
    try:
        bench.run_wrk(f"http://127.0.0.1:{port}/bench/bare", duration=3, connections=16,
                      extra_env={"BENCH_METHOD": "GET"})  # fmt: skip
        for key in args.rows.split(","):
            row = rows[key]
            bench.prepare_cache(row, args.creators)
            env = {"BENCH_METHOD": row.method}
            if row.signed_in:
                env.update(BENCH_COOKIE=cookie, BENCH_CSRF=bench.CSRF)
            if row.body is not None:
                env["BENCH_BODY"] = json.dumps(row.body)
            if row.random_hosts:
                env.update(BENCH_CREATORS=str(args.creators), BENCH_PATH=row.path)
            recording = HERE / f"{key}.speedscope.json"
            spy = subprocess.Popen(
                [SPY, "record", "--subprocesses", "--pid", str(server.pid), "--duration", str(args.duration),
                 "--rate", "100", "--nolineno", "--format", "speedscope", "-o", str(recording)],
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
            time.sleep(1)
            figures = bench.run_wrk(
                f"http://127.0.0.1:{port}{'/' if row.random_hosts else row.path}",
                duration=args.duration, connections=16, extra_env=env,
            )  # fmt: skip
            spy.wait()
            header = (
                f"{row.label}: {figures['rps']:.0f} req/s under py-spy, {args.server}, wrk -t2 -c16 "
                f"-d{args.duration}s, load average {os.getloadavg()[0]:.1f}\n"
            )
            (HERE / f"{key}.txt").write_text(header + summary(recording))
            print(header, end="")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
