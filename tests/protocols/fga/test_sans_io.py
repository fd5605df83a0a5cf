"""``protocols/fga`` is sans-IO (DESIGN.md §1): no trio, httpx, logging, structlog, time, random,
sqlite3 — nor any other I/O or clock module — anywhere in the package."""

from __future__ import annotations

import ast
from pathlib import Path

import protocols.fga

FORBIDDEN = {"trio", "httpx", "logging", "structlog", "time", "random", "sqlite3", "socket", "asyncio",
             "subprocess", "threading", "os", "pathlib", "io", "shutil", "tempfile"}
PACKAGE = Path(protocols.fga.__file__).parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_fga_package_imports_no_io_or_clock_modules() -> None:
    offenders = {p.name: sorted(_imports(p) & FORBIDDEN) for p in sorted(PACKAGE.glob("*.py"))}
    offenders = {k: v for k, v in offenders.items() if v}
    assert not offenders, f"forbidden imports in protocols/fga: {offenders}"


def test_fga_package_does_not_read_the_wall_clock() -> None:
    for path in PACKAGE.glob("*.py"):
        text = path.read_text()
        for call in ("datetime.now(", "datetime.utcnow(", "date.today(", "open("):
            assert call not in text, f"{path.name} calls {call}"


def test_modules_stay_focused() -> None:
    sizes = {p.name: len(p.read_text().splitlines()) for p in PACKAGE.glob("*.py")}
    assert max(sizes.values()) <= 650, sizes
