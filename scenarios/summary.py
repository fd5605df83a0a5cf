"""The plain ``summary.md`` of a run: header, one section per phase, the audit trail in a table.

(The full report — HTML, charts, lineage — is built by reports/; this is the run's own receipt.)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from protocols.audit_chain import AuditEntry, verify_chain


def _cell(value: Any) -> str:
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def write_summary(path: Path, *, metadata: dict[str, Any], entries: list[AuditEntry],
                  redact: Callable[[str], str]) -> None:
    chain = verify_chain(entries)
    lines = [
        f"# {metadata['title']}",
        "",
        f"- scenario: `{metadata['scenario']}` · seed {metadata['seed']} · transport `{metadata['transport']}`",
        f"- world file: `{metadata['world_file']}` (sha256 `{metadata['world_sha256'][:16]}…`)",
        f"- simulated period: {metadata['started']} → {metadata['finished']}",
        f"- audit log: {len(entries)} entries, hash chain {'intact' if chain.ok else 'BROKEN: ' + chain.problem}",
        "",
    ]
    for phase in metadata["phases"]:
        mark = "✅" if phase["ok"] else "❌"
        lines += [f"## Phase {phase['number']} — {phase['name']} {mark}", "", phase["outcome"], ""]
        for key, value in phase["facts"].items():
            lines.append(f"- **{key}**: {_cell(value)}")
        lines.append("")
    lines += ["## Audit trail", "", "| # | time | actor | event | agent | subject | decision | reason |",
              "|---|---|---|---|---|---|---|---|"]
    for e in entries:
        lines.append("| " + " | ".join(_cell(v) for v in (e.seq, e.time, e.actor, e.event, e.agent, e.subject,
                                                             e.decision, e.reason)) + " |")
    path.write_text(redact("\n".join(lines) + "\n"), encoding="utf-8")
