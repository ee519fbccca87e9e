"""Profile 1,000 warm guest token requests in one process (the Django test client, bench settings).

    .venv/bin/python bench/profiles/profile_token.py [out.txt]

Needs the streamit_bench database that bench/run.py seeds; writes the top 60 entries by cumulative time.
"""

import cProfile
import io
import json
import os
import pstats
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main() -> None:
    from bench.run import ENV

    os.environ.update(ENV)
    import django

    django.setup()
    from django.test import Client

    client = Client()
    body = json.dumps({"username": "creator00000", "guestName": "bench"})
    for _ in range(50):  # the host cached, the scripts loaded, the connections open
        response = client.post("/api/viewer/token", body, content_type="application/json")
    assert response.status_code == 200, response.content
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(1000):
        client.post("/api/viewer/token", body, content_type="application/json")
    profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(60)
    Path(sys.argv[1] if len(sys.argv) > 1 else "token_profile.txt").write_text(out.getvalue())


if __name__ == "__main__":
    main()
