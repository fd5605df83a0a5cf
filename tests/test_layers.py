"""DESIGN.md §1: protocols/ is sans-IO and imports only go downwards."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_PROTOCOLS = {"trio", "httpx", "logging", "structlog", "time", "random", "sqlite3", "hypercorn",
                          "anyio", "socket", "asyncio", "actors", "scenarios", "reports"}
FORBIDDEN_IN = {
    "protocols": FORBIDDEN_IN_PROTOCOLS,
    "actors": {"scenarios", "reports"},
    "reports": {"actors", "scenarios"},
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
        elif isinstance(node, ast.Attribute) and node.attr == "now" and isinstance(node.value, ast.Name) \
                and node.value.id == "datetime":
            roots.add("datetime.now")
    return roots


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN_IN))
def test_imports_only_go_downwards(package):
    offenders = {}
    for path in modules(package):
        bad = imported_roots(path) & (FORBIDDEN_IN[package] | {"datetime.now"} if package == "protocols" else FORBIDDEN_IN[package])
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}


def test_the_check_sees_a_forbidden_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import time\nfrom trio import sleep\nfrom datetime import datetime\nx = datetime.now()\n")
    assert {"time", "trio", "datetime.now"} <= imported_roots(sample)
