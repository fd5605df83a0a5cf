"""One line per conformance scenario from a bench/mcp_conformance.sh output directory: PASS/FAIL, the
count of successful and failed checks, and the distinct failure messages (what the scenario needed).

    .venv/bin/python bench/mcp_conformance_summary.py runs/mcp-conformance
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

SUITES = ("server-2026-07-28", "server-2025-11-25", "authorization")


def summary(out: Path) -> list[str]:
    lines: list[str] = []
    for suite in SUITES:
        lines.append(f"## {suite}")
        for run in sorted((out / suite).glob("*")):
            name = re.sub(r"-\d{4}-\d\d-\d\dT.*", "", run.name).removeprefix("server-").removeprefix(
                "authorization-server-")
            try:
                checks = json.loads((run / "checks.json").read_text())
            except (OSError, ValueError):
                lines.append(f"FAIL {name} (no checks.json)")
                continue
            ok = sum(c.get("status") == "SUCCESS" for c in checks)
            failed = [c for c in checks if c.get("status") in ("FAILURE", "ERROR")]
            warnings = sum(c.get("status") == "WARNING" for c in checks)
            why = "; ".join(sorted({(c.get("errorMessage") or c.get("description") or "")[:110] for c in failed}))
            lines.append(f"{'FAIL' if failed else 'PASS'} {name} ({ok} ok, {len(failed)} failed"
                         f"{f', {warnings} warnings' if warnings else ''})" + (f" — {why}" if failed else ""))
    return lines


if __name__ == "__main__":
    print("\n".join(summary(Path(sys.argv[1] if len(sys.argv) > 1 else "runs/mcp-conformance"))))
