"""SQLite persistence of FGA stores, models and tuples (the ``StoreBackend`` of ``protocols.fga.stores``).

One database file holds every store: ``fga_store`` (metadata, soft deletion), ``fga_model``
(models as JSON, in write order), the tuples of ``actors.storage.fga_tuples`` (one
``SqliteTupleStore`` per store, sharing the connection) and ``fga_tuple_time`` (when each live tuple
was written, for the Read API's ``timestamp``). A Write commits the tuples in one transaction
(``SqliteTupleStore.write``) and then their timestamps in a second one; a tuple whose timestamp was
lost between the two (a crash in that window) reads with the store's ``updated_at``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from actors.storage.fga_tuples import SqliteTupleStore, connect
from protocols.fga.stores import ModelInfo, StoreInfo
from protocols.fga.tuples import TupleKey

SCHEMA = """
CREATE TABLE IF NOT EXISTS fga_store (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS fga_model (
    store TEXT NOT NULL,
    id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    model TEXT NOT NULL,
    UNIQUE (store, id)
);
CREATE TABLE IF NOT EXISTS fga_tuple_time (
    store TEXT NOT NULL,
    object TEXT NOT NULL,
    relation TEXT NOT NULL,
    user TEXT NOT NULL,
    written_at TEXT NOT NULL,
    PRIMARY KEY (store, object, relation, user)
) WITHOUT ROWID;
"""


def _store(row: tuple) -> StoreInfo:
    return StoreInfo(id=row[0], name=row[1], created_at=row[2], updated_at=row[3], deleted_at=row[4])


class SqliteStoreBackend:
    """Every FGA store of a service in one SQLite database (``path`` or ``":memory:"``)."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.conn: sqlite3.Connection = connect(path)
        self.conn.executescript(SCHEMA)
        self._tuple_stores: dict[str, SqliteTupleStore] = {}

    def close(self) -> None:
        self.conn.close()

    # -- stores ----------------------------------------------------------------------------------
    def create_store(self, info: StoreInfo) -> None:
        self.conn.execute("INSERT INTO fga_store (id, name, created_at, updated_at, deleted_at) VALUES (?,?,?,?,?)",
                          (info.id, info.name, info.created_at, info.updated_at, info.deleted_at))

    def store(self, store_id: str) -> StoreInfo | None:
        row = self.conn.execute("SELECT id, name, created_at, updated_at, deleted_at FROM fga_store "
                                "WHERE id=? AND deleted_at=''", (store_id,)).fetchone()
        return _store(row) if row is not None else None

    def stores(self) -> list[StoreInfo]:
        rows = self.conn.execute("SELECT id, name, created_at, updated_at, deleted_at FROM fga_store "
                                 "WHERE deleted_at='' ORDER BY rowid").fetchall()
        return [_store(r) for r in rows]

    def delete_store(self, store_id: str, *, at: str) -> None:
        self.conn.execute("UPDATE fga_store SET deleted_at=?, updated_at=? WHERE id=?", (at, at, store_id))

    # -- models ----------------------------------------------------------------------------------
    def add_model(self, store_id: str, info: ModelInfo) -> None:
        self.conn.execute("INSERT INTO fga_model (store, id, created_at, model) VALUES (?,?,?,?)",
                          (store_id, info.id, info.created_at, json.dumps(info.model, sort_keys=True)))

    def models(self, store_id: str) -> list[ModelInfo]:
        rows = self.conn.execute("SELECT id, created_at, model FROM fga_model WHERE store=? ORDER BY rowid DESC",
                                 (store_id,)).fetchall()
        return [ModelInfo(id=r[0], created_at=r[1], model=json.loads(r[2])) for r in rows]

    def model(self, store_id: str, model_id: str) -> ModelInfo | None:
        row = self.conn.execute("SELECT id, created_at, model FROM fga_model WHERE store=? AND id=?",
                                (store_id, model_id)).fetchone()
        return ModelInfo(id=row[0], created_at=row[1], model=json.loads(row[2])) if row is not None else None

    # -- tuples ----------------------------------------------------------------------------------
    def tuples(self, store_id: str) -> SqliteTupleStore:
        found = self._tuple_stores.get(store_id)
        if found is None:
            found = self._tuple_stores[store_id] = SqliteTupleStore(self.conn, store_id)
        return found

    def write_tuples(self, store_id: str, *, writes: Sequence[TupleKey], deletes: Sequence[TupleKey],
                     on_duplicate: str, on_missing: str, at: str) -> None:
        store = self.tuples(store_id)
        fresh = [k for k in writes if store.read_user(*_split(k)) is None]
        store.write(writes, deletes, on_duplicate=on_duplicate, on_missing=on_missing)
        deleted = {k.key for k in deletes}
        fresh_keys = {k.key for k in fresh}
        stamped = [k for k in writes if k.key in fresh_keys or k.key in deleted]
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("DELETE FROM fga_tuple_time WHERE store=? AND object=? AND relation=? AND user=?",
                             [(store_id, k.object, k.relation, k.user) for k in deletes])
            conn.executemany("INSERT OR REPLACE INTO fga_tuple_time (store, object, relation, user, written_at) "
                             "VALUES (?,?,?,?,?)", [(store_id, k.object, k.relation, k.user, at) for k in stamped])
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def written_at(self, store_id: str, key: TupleKey) -> str:
        row = self.conn.execute("SELECT written_at FROM fga_tuple_time WHERE store=? AND object=? AND relation=? "
                                "AND user=?", (store_id, key.object, key.relation, key.user)).fetchone()
        if row is not None:
            return row[0]
        info = self.conn.execute("SELECT updated_at FROM fga_store WHERE id=?", (store_id,)).fetchone()
        return info[0] if info is not None else ""


def _split(key: TupleKey) -> tuple[str, str, str, str]:
    otype, _, oid = key.object.partition(":")
    return otype, oid, key.relation, key.user
