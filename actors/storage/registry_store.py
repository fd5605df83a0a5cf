"""Storage of the agent registry (DESIGN.md §6): records and their change history, transactional.

``RegistryStore`` is the interface; ``SqliteRegistryStore`` the default (``path=None`` keeps the
database in memory for tests). A record and its history entry are written in one transaction, with
an optimistic version check, so an acknowledged change is never half-applied.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Protocol

import attrs

from protocols.agent_registry import Account, AgentRecord, AttributeChange, Change, Dependency, LifecycleStage, Owner

SCHEMA = """
CREATE TABLE IF NOT EXISTS agents (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS agent_history (
    agent_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    time INTEGER NOT NULL,
    actor TEXT NOT NULL,
    operation TEXT NOT NULL,
    changes TEXT NOT NULL,
    PRIMARY KEY (agent_id, version)
);
"""


class ConcurrentUpdate(Exception):
    """The record changed since it was read (its version moved on)."""


class RegistryStore(Protocol):
    def get(self, agent_id: str) -> AgentRecord | None: ...
    def all(self) -> list[AgentRecord]: ...
    def insert(self, record: AgentRecord, change: Change) -> None: ...
    def update(self, record: AgentRecord, change: Change, *, expected_version: int) -> None: ...
    def history(self, agent_id: str) -> list[Change]: ...


def record_to_json(record: AgentRecord) -> dict[str, Any]:
    return {"id": record.id, "display_name": record.display_name, "lifecycle": record.lifecycle.value,
            "owner": attrs.asdict(record.owner) if record.owner else None, "purpose": record.purpose,
            "external_id": record.external_id, "accounts": [attrs.asdict(a) for a in record.accounts],
            "metadata": dict(record.metadata), "dependencies": [attrs.asdict(d) for d in record.dependencies],
            "created": record.created, "last_modified": record.last_modified, "version": record.version}


def record_from_json(data: dict[str, Any]) -> AgentRecord:
    return AgentRecord(
        id=data["id"], display_name=data["display_name"], lifecycle=LifecycleStage(data["lifecycle"]),
        owner=Owner(**data["owner"]) if data["owner"] else None, purpose=data["purpose"],
        external_id=data["external_id"], accounts=tuple(Account(**a) for a in data["accounts"]),
        metadata=data["metadata"],
        dependencies=tuple(Dependency(system=d["system"], scopes=tuple(d["scopes"]), grant=d["grant"])
                           for d in data["dependencies"]),
        created=data["created"], last_modified=data["last_modified"], version=data["version"])


@attrs.define(eq=False)
class SqliteRegistryStore:
    path: Path | None = None
    _db: sqlite3.Connection = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._db = sqlite3.connect(str(self.path) if self.path else ":memory:")
        self._db.executescript(SCHEMA)

    def get(self, agent_id: str) -> AgentRecord | None:
        row = self._db.execute("SELECT record FROM agents WHERE id = ?", (agent_id,)).fetchone()
        return record_from_json(json.loads(row[0])) if row else None

    def all(self) -> list[AgentRecord]:
        rows = self._db.execute("SELECT record FROM agents ORDER BY id").fetchall()
        return [record_from_json(json.loads(r[0])) for r in rows]

    def _history_row(self, change: Change) -> None:
        self._db.execute(
            "INSERT INTO agent_history (agent_id, version, time, actor, operation, changes) VALUES (?,?,?,?,?,?)",
            (change.agent_id, change.version, change.time, change.actor, change.operation,
             json.dumps([attrs.asdict(c) for c in change.changes], sort_keys=True)))

    def insert(self, record: AgentRecord, change: Change) -> None:
        with self._db:
            self._db.execute("INSERT INTO agents (id, version, record) VALUES (?,?,?)",
                             (record.id, record.version, json.dumps(record_to_json(record), sort_keys=True)))
            self._history_row(change)

    def update(self, record: AgentRecord, change: Change, *, expected_version: int) -> None:
        with self._db:
            cursor = self._db.execute("UPDATE agents SET version = ?, record = ? WHERE id = ? AND version = ?",
                                      (record.version, json.dumps(record_to_json(record), sort_keys=True),
                                       record.id, expected_version))
            if cursor.rowcount != 1:
                raise ConcurrentUpdate(f"agent {record.id} changed since version {expected_version}")
            self._history_row(change)

    def history(self, agent_id: str) -> list[Change]:
        rows = self._db.execute("SELECT agent_id, version, time, actor, operation, changes FROM agent_history "
                                "WHERE agent_id = ? ORDER BY version", (agent_id,)).fetchall()
        return [Change(agent_id=r[0], version=r[1], time=r[2], actor=r[3], operation=r[4],
                       changes=tuple(AttributeChange(**c) for c in json.loads(r[5]))) for r in rows]

    def close(self) -> None:
        self._db.close()
