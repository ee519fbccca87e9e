"""Profile 1,000 warm guest token requests in one process: .venv/bin/python bench/profiles/profile_token.py

Needs the streamit_bench database bench/run.py seeds; writes the top of the profile to the file named (token_profile.txt).
"""

import cProfile, pstats, os, sys, json

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2]))
from bench.run import ENV

os.environ.update(ENV)
os.environ["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/streamit_bench"
import django

django.setup()
from django.test import Client

c = Client()
body = json.dumps({"username": "creator00000", "guestName": "bench"})
for _ in range(50):
    r = c.post("/api/viewer/token", body, content_type="application/json")
assert r.status_code == 200, r.content
pr = cProfile.Profile()
pr.enable()
for _ in range(1000):
    c.post("/api/viewer/token", body, content_type="application/json")
pr.disable()
import io

out = io.StringIO()
st = pstats.Stats(pr, stream=out)
st.sort_stats("cumulative").print_stats(60)
open(sys.argv[1] if len(sys.argv) > 1 else "token_profile.txt", "w").write(out.getvalue())
