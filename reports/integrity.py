"""Can the report be trusted? Verify the audit hash chain and cross-check the run's other files.

Checks, in order (every failed check becomes one ``problems`` line):

1. ``protocols.audit_chain.verify_chain`` over ``audit.sqlite`` (altered, deleted, reordered entries);
2. ``run.json``'s ``audit_entries`` against the number of entries (entries cut off the end of the
   log keep the chain valid; the count recorded when the run finished does not);
3. ``audit.jsonl`` line by line against the database (the two exports must agree);
4. ``run.json``'s scenario, seed, transport and world hash against the hash-chained ``run.started``
   entry (the header of the report comes from ``run.json``, which is not chained itself).
"""

from __future__ import annotations

from typing import Any

import attrs

from protocols.audit_chain import AuditEntry, canonical_json, verify_chain
from reports.run_reader import RunRecord

HEADER_KEYS = ("scenario", "seed", "transport", "world_sha256")


@attrs.frozen(kw_only=True)
class Integrity:
    """The verdict on the run's evidence: ``ok`` only if every check passed."""

    chain_ok: bool
    entries: int
    broken_seq: int | None
    last_hash: str
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def run_started_details(entries: tuple[AuditEntry, ...]) -> dict[str, Any]:
    """The ``run.started`` entry's details: flat since the runner stopped nesting them; run directories
    written before that nest them under ``details``, which is still accepted."""
    for entry in entries:
        if entry.event == "run.started":
            nested = entry.details.get("details")
            return nested if isinstance(nested, dict) else dict(entry.details)
    return {}


def _jsonl_problem(record: RunRecord) -> str | None:
    if record.jsonl_lines is None:
        return None
    expected = [canonical_json(entry.to_json()) for entry in record.entries]
    for index, (line, wanted) in enumerate(zip(record.jsonl_lines, expected), start=1):
        if line != wanted:
            return f"audit.jsonl line {index} differs from entry {index} of audit.sqlite"
    if len(record.jsonl_lines) != len(expected):
        return (f"audit.jsonl has {len(record.jsonl_lines)} entries but audit.sqlite has {len(expected)}")
    return None


def check_integrity(record: RunRecord) -> Integrity:
    chain = verify_chain(record.entries)
    problems: list[str] = []
    if not chain.ok:
        problems.append(chain.problem)
    recorded = record.metadata.get("audit_entries")
    if isinstance(recorded, int) and recorded != len(record.entries):
        problems.append(f"run.json recorded {recorded} audit entries but the audit log holds {len(record.entries)}")
    jsonl = _jsonl_problem(record)
    if jsonl:
        problems.append(jsonl)
    started = run_started_details(record.entries)
    for key in HEADER_KEYS:
        if key in started and key in record.metadata and started[key] != record.metadata[key]:
            problems.append(f"run.json {key} {record.metadata[key]!r} does not match the audit log's "
                            f"run.started ({started[key]!r})")
    return Integrity(chain_ok=chain.ok, entries=len(record.entries), broken_seq=chain.broken_seq,
                     last_hash=record.entries[-1].hash if record.entries else "", problems=tuple(problems))
