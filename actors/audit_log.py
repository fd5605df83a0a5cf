"""The audit log actor (DESIGN.md §5, SPEC capability 13): every security-relevant event, hash-chained.

Entries carry the agent's and the user's identity, the decision and its reason. They are sealed
with ``protocols.audit_chain`` (each hash covers the previous one), redacted before they are
stored, and written to SQLite in a transaction before the caller is answered, so an acknowledged
entry survives a crash. ``export_jsonl`` writes the same entries as ``audit.jsonl``.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, TYPE_CHECKING

import attrs

from protocols.audit_chain import GENESIS_HASH, AuditEntry, canonical_json

if TYPE_CHECKING:
    from actors.runtime.clock import ScenarioClock
    from actors.runtime.secrets import SecretRegistry

import trio

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_entries (
    seq INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    actor TEXT NOT NULL,
    event TEXT NOT NULL,
    agent TEXT,
    subject TEXT,
    decision TEXT,
    reason TEXT,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_event ON audit_entries(event);
CREATE INDEX IF NOT EXISTS audit_by_agent ON audit_entries(agent, time);
"""
COLUMNS = ("seq", "time", "actor", "event", "agent", "subject", "decision", "reason", "details", "prev_hash", "hash")


@attrs.define(eq=False)
class AuditStore:
    """SQLite persistence of the chain; ``path=None`` keeps it in memory (tests)."""

    path: Path | None
    _db: sqlite3.Connection = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._db = sqlite3.connect(str(self.path) if self.path else ":memory:")
        if self.path:
            # Write-ahead log, synced at checkpoints: each entry is still its own committed
            # transaction, which survives a crash of the process; an fsync per entry (30 ms on a VM
            # disk) made a six-week scenario spend most of its time waiting for the disk.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def append(self, entry: AuditEntry) -> None:
        row = entry.to_json()
        row["details"] = canonical_json(row["details"])
        with self._db:
            self._db.execute(
                f"INSERT INTO audit_entries ({','.join(COLUMNS)}) VALUES ({','.join('?' * len(COLUMNS))})",
                [row[c] for c in COLUMNS])

    def last(self) -> tuple[int, str]:
        """(seq, hash) of the newest entry, so a reopened log continues its chain."""
        row = self._db.execute("SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS_HASH)

    def entries(self) -> list[AuditEntry]:
        return read_entries(self._db)

    def close(self) -> None:
        if self.path:  # back to a plain database file: readers need no -wal/-shm beside it
            self._db.execute("PRAGMA journal_mode=DELETE")
        self._db.close()


def read_entries(db: sqlite3.Connection) -> list[AuditEntry]:
    rows = db.execute(f"SELECT {','.join(COLUMNS)} FROM audit_entries ORDER BY seq").fetchall()
    entries = []
    for row in rows:
        data = dict(zip(COLUMNS, row))
        data["details"] = json.loads(data["details"])
        entries.append(AuditEntry.from_json(data))
    return entries


def load_entries(path: Path) -> list[AuditEntry]:
    """Read a run's audit database (read-only)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return read_entries(db)
    finally:
        db.close()


def export_jsonl(entries: list[AuditEntry], path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for entry in entries:
            out.write(canonical_json(entry.to_json()) + "\n")


@attrs.define(eq=False)
class AuditLog:
    """The audit actor: a mailbox of drafts, sealed and persisted one at a time, in arrival order."""

    store: AuditStore
    clock: ScenarioClock
    secrets: SecretRegistry
    name: str = "audit-log"
    _last_hash: str = attrs.field(default=GENESIS_HASH, init=False)
    _seq: int = attrs.field(default=0, init=False)
    _inbox: trio.MemorySendChannel = attrs.field(init=False)
    _mailbox: trio.MemoryReceiveChannel = attrs.field(init=False)
    _subscribers: list[trio.MemorySendChannel] = attrs.field(factory=list, init=False)

    def __attrs_post_init__(self) -> None:
        self._inbox, self._mailbox = trio.open_memory_channel(256)
        self._seq, self._last_hash = self.store.last()

    def subscribe(self) -> trio.MemoryReceiveChannel:
        """A feed of every entry committed from now on, in chain order (log shipping to a SIEM: the
        threat detector reads it). The feed is unbounded so a slow reader never blocks the log."""
        send, receive = trio.open_memory_channel(float("inf"))
        self._subscribers.append(send)
        return receive

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        async with self._mailbox:
            async for draft, reply in self._mailbox:
                await reply.send(self._append(draft))

    def _append(self, draft: dict[str, Any]) -> AuditEntry:
        self._seq += 1
        redacted = self.secrets.redact(draft)
        entry = AuditEntry(
            seq=self._seq, time=self.clock.iso(), actor=redacted["actor"], event=redacted["event"],
            agent=redacted.get("agent"), subject=redacted.get("subject"),
            decision=redacted.get("decision"), reason=redacted.get("reason"),
            details=redacted.get("details") or {}, prev_hash=self._last_hash,
        ).sealed()
        self.store.append(entry)
        self._last_hash = entry.hash
        for feed in list(self._subscribers):
            try:
                feed.send_nowait(entry)
            except (trio.ClosedResourceError, trio.BrokenResourceError):
                self._subscribers.remove(feed)
        return entry

    async def record(self, *, actor: str, event: str, agent: str | None = None, subject: str | None = None,
                     decision: str | None = None, reason: str | None = None, **details: Any) -> AuditEntry:
        """Append one entry and return it once it is committed."""
        draft = {"actor": actor, "event": event, "agent": agent, "subject": subject,
                 "decision": decision, "reason": reason, "details": details}
        reply_send, reply_receive = trio.open_memory_channel(1)
        await self._inbox.send((draft, reply_send))
        async with reply_receive:
            return await reply_receive.receive()
