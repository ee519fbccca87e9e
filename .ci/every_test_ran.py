"""Fail when a collected test ran in no pass (the conftest writes what each pass collected and ran).

Passes: SQLite, PostgreSQL, and the WebRTC pass in its network namespace (each report one argument).
A pass whose report is missing fails the run: its tests would otherwise count as "collected elsewhere".
"""

import json
import sys

collected: set[str] = set()
ran: set[str] = set()
for path in sys.argv[1:]:
    try:
        with open(path) as handle:
            report = json.load(handle)
    except (OSError, ValueError) as exc:
        sys.exit(f"missing or unreadable test report {path}: {exc}")
    collected.update(report["collected"])
    ran.update(report["ran"])

never_ran = sorted(collected - ran)
if never_ran:
    print(f"{len(never_ran)} test(s) ran in no pass:")
    for node_id in never_ran:
        print(f"  {node_id}")
    sys.exit(1)
print(f"all {len(collected)} collected tests ran in at least one pass")
