"""Only the door (streams/livekit.py) and the token table (streams/tokens.py) may use the LiveKit SDK."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = {ROOT / "streams" / "livekit.py", ROOT / "streams" / "tokens.py"}
PRODUCTION_PACKAGES = ["accounts", "streams", "viewers", "webhooks", "streamit"]


def _is_sdk(module: str) -> bool:
    # The SDK's packages (livekit, livekit.api, livekit.protocol), not our livekit_standin.
    return module == "livekit" or module.startswith("livekit.")


def _imports_the_sdk(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import) and any(_is_sdk(alias.name) for alias in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and _is_sdk(node.module or ""):
            return True
    return False


def production_modules():
    for package in PRODUCTION_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "tests" not in path.relative_to(ROOT).parts:
                yield path


def test_only_the_door_and_the_token_table_import_the_sdk():
    offenders = [
        str(p.relative_to(ROOT)) for p in production_modules() if p not in ALLOWED and _imports_the_sdk(p)
    ]
    assert offenders == []


def test_the_scan_sees_the_door():
    # Guards the test above against scanning nothing: the two allowed modules must be found importing it.
    assert {p for p in production_modules() if _imports_the_sdk(p)} == ALLOWED
