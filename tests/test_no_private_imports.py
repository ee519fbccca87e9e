"""Our code uses libraries through their public API: no `from <library> import _private`.

streamit/ratelimits.py imported django-ratelimit's `_split_rate`, and streamit/cache.py subclassed Django's
Redis client to reach `_get_connection_pool`: both broke silently on an upgrade. This scan keeps them out.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = {"accounts", "streams", "viewers", "webhooks", "streamit", "livekit_standin", "conftest"}
PRODUCTION_PACKAGES = ["accounts", "streams", "viewers", "webhooks", "streamit"]


def private_imports(path: Path, root: Path = ROOT) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] in OURS:
                continue
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"{path.relative_to(root)}: from {node.module} import {alias.name}")
    return found


def test_no_production_module_imports_a_librarys_private_name():
    offenders = [
        line
        for package in PRODUCTION_PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "tests" not in path.relative_to(ROOT).parts and "migrations" not in path.parts
        for line in private_imports(path)
    ]
    assert offenders == []


def test_the_scan_finds_a_private_import(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from django_ratelimit.core import _split_rate, is_ratelimited\nfrom streams import _x\n"
    )

    assert private_imports(probe, tmp_path) == ["probe.py: from django_ratelimit.core import _split_rate"]
