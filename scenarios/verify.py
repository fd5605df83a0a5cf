"""``trustbench verify RUN_DIR``: recompute the audit hash chain of a finished run."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from actors.audit_log import load_entries
from protocols.audit_chain import ChainReport, verify_chain

AUDIT_DB = "audit.sqlite"


class RunDirError(ValueError):
    """The directory is not a readable run directory (one line, exit 2)."""


def verify_run(run_dir: Path) -> ChainReport:
    path = run_dir / AUDIT_DB
    if not path.is_file():
        raise RunDirError(f"{run_dir}: not a run directory (no {AUDIT_DB})")
    try:
        entries = load_entries(path)
    except (sqlite3.DatabaseError, KeyError, ValueError) as error:
        return ChainReport(ok=False, entries=0, problem=f"{path}: unreadable audit database ({type(error).__name__})")
    return verify_chain(entries)
