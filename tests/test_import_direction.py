"""Apps import in one direction: accounts < streams < viewers, analytics, chat < webhooks (a lower app never
imports a higher one, nor an app its own level). Imports inside functions count, and so do imports that
reach a higher app through a ``streamit`` module. Tests may import anything."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# webhooks record analytics facts, so analytics sits below them.
LEVEL = {"accounts": 0, "streams": 1, "viewers": 2, "analytics": 2, "chat": 2, "webhooks": 3}
PROJECT = "streamit"


def _package_of(module: str) -> str:
    return module.split(".")[0]


def _imports(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = parts[: len(parts) - node.level]
                names.add(".".join([*base, node.module] if node.module else base))
            else:
                names.add(node.module)
    return names


def _modules(package: str):
    for path in (ROOT / package).rglob("*.py"):
        if "tests" not in path.relative_to(ROOT).parts:
            yield path


def _apps_reached(imports: set[str], through: dict[str, set[str]]) -> set[str]:
    """The apps these imports reach, directly or through the project's own modules."""
    reached, seen, todo = set(), set(), list(imports)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        package = _package_of(name)
        if package in LEVEL:
            reached.add(package)
        elif package == PROJECT:
            todo.extend(through.get(name, ()))
    return reached


def _project_imports() -> dict[str, set[str]]:
    found = {}
    for path in _modules(PROJECT):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found[module.removesuffix(".__init__")] = _imports(path)
    return found


def wrong_way(app: str, imports: set[str], through: dict[str, set[str]]) -> set[str]:
    level = LEVEL[app]
    return {
        other
        for other in _apps_reached(imports, through)
        if other != app and LEVEL[other] >= level  # higher, or a sibling at the top
    }


def test_every_app_has_a_level():
    apps = {path.parent.name for path in ROOT.glob("*/apps.py")}
    assert apps == set(LEVEL)


def test_no_app_imports_an_app_above_it():
    through = _project_imports()
    offenders = []
    for app in LEVEL:
        for path in _modules(app):
            for other in sorted(wrong_way(app, _imports(path), through)):
                offenders.append(f"{path.relative_to(ROOT)} imports {other}")
    assert offenders == []


def test_the_scan_sees_imports_downwards_and_would_see_one_upwards():
    # Guards the test above against scanning nothing: the expected downward imports are found...
    through = _project_imports()
    seen = {
        (app, other)
        for app in LEVEL
        for path in _modules(app)
        for other in _apps_reached(_imports(path), through)
        if other != app
    }
    assert {
        ("streams", "accounts"),
        ("viewers", "streams"),
        ("webhooks", "streams"),
        ("webhooks", "analytics"),
    } <= seen
    # ...and an upward one, direct, relative or through a project module, would be reported.
    assert wrong_way("accounts", {"streams.chat_rights"}, through) == {"streams"}
    assert wrong_way("streams", {"viewers"}, through) == {"viewers"}
    assert wrong_way("viewers", {"webhooks.models"}, through) == {"webhooks"}
    assert wrong_way("accounts", {"streamit.x"}, {"streamit.x": {"viewers.selectors"}}) == {"viewers"}
