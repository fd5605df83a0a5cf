"""Read a finished run directory: ``run.json`` and the audit log in ``audit.sqlite`` (read-only).

reports/ never imports actors/ (DESIGN.md §1), so the audit table is read here with stdlib
``sqlite3``; its columns are those written by the audit log actor (``seq, time, actor, event,
agent, subject, decision, reason, details, prev_hash, hash`` with ``details`` as canonical JSON).
Anything that makes the directory unusable raises ``ReportInputError`` with a one-line message.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import attrs

from protocols.audit_chain import AuditEntry

AUDIT_DB = "audit.sqlite"
AUDIT_JSONL = "audit.jsonl"
RUN_JSON = "run.json"
COLUMNS = ("seq", "time", "actor", "event", "agent", "subject", "decision", "reason", "details", "prev_hash", "hash")


class ReportInputError(ValueError):
    """The directory is not a finished run that can be reported on (one line, exit 2)."""


@attrs.frozen(kw_only=True)
class RunRecord:
    """What a finished run left behind: its metadata, its audit entries and the raw JSONL lines."""

    run_dir: Path
    metadata: dict[str, Any]
    entries: tuple[AuditEntry, ...]
    jsonl_lines: tuple[str, ...] | None


def read_audit_entries(path: Path) -> tuple[AuditEntry, ...]:
    """Every entry of ``audit_entries`` in sequence order; the database is opened read-only."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise ReportInputError(f"{path}: cannot open the audit database ({error})") from None
    try:
        rows = db.execute(f"SELECT {','.join(COLUMNS)} FROM audit_entries ORDER BY seq").fetchall()
    except sqlite3.Error as error:
        raise ReportInputError(f"{path}: unreadable audit database ({error})") from None
    finally:
        db.close()
    entries = []
    for row in rows:
        data = dict(zip(COLUMNS, row))
        try:
            details = json.loads(data["details"])
        except (TypeError, ValueError):
            raise ReportInputError(f"{path}: entry {data['seq']} has unreadable details") from None
        data["details"] = details if isinstance(details, dict) else {"value": details}
        entries.append(AuditEntry.from_json(data))
    return tuple(entries)


def read_metadata(path: Path) -> dict[str, Any]:
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportInputError(f"{path.parent}: not a finished run (no {RUN_JSON})") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ReportInputError(f"{path}: unreadable run metadata ({type(error).__name__})") from None
    if not isinstance(metadata, dict):
        raise ReportInputError(f"{path}: run metadata is not a JSON object")
    return metadata


def read_run(run_dir: Path) -> RunRecord:
    """Load ``run_dir``; raise ``ReportInputError`` if it is not a finished run directory."""
    if not run_dir.is_dir():
        raise ReportInputError(f"{run_dir}: no such run directory")
    database = run_dir / AUDIT_DB
    if not database.is_file():
        raise ReportInputError(f"{run_dir}: not a run directory (no {AUDIT_DB})")
    metadata = read_metadata(run_dir / RUN_JSON)
    entries = read_audit_entries(database)
    jsonl = run_dir / AUDIT_JSONL
    lines = tuple(jsonl.read_text(encoding="utf-8").splitlines()) if jsonl.is_file() else None
    return RunRecord(run_dir=run_dir, metadata=metadata, entries=entries, jsonl_lines=lines)
