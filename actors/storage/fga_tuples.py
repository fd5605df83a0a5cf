"""SQLite storage of FGA relationship tuples (the ``TupleStore`` of ``protocols.fga.tuples``).

One table holds the tuples of every store (``store`` column), so several FGA stores share one
database file. Indexes match the engine's reads:

- primary key ``(store, object_type, object_id, relation, user)`` (clustered, ``WITHOUT ROWID``):
  all users of ``object#relation`` and the point lookup ``object#relation@user`` (Check);
- ``fga_tuple_usersets`` (partial, usersets only): the userset expansion of direct assignments;
- ``fga_tuple_by_user (store, object_type, relation, user, object_id)``: reverse lookups
  (ListObjects), covering so no table access is needed for unconditioned tuples.

Writes are transactional (``BEGIN IMMEDIATE`` … ``COMMIT``): a Write either applies all its
deletes and writes or none, and an acknowledged Write survives a crash (``synchronous=FULL``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

from protocols.fga.tuples import TupleKey, TupleRecord, exists_error, missing_error, record_from_key

SCHEMA = """
CREATE TABLE IF NOT EXISTS fga_tuple (
    store TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    relation TEXT NOT NULL,
    user TEXT NOT NULL,
    user_type TEXT NOT NULL,
    user_id TEXT NOT NULL,
    user_relation TEXT NOT NULL DEFAULT '',
    condition_name TEXT NOT NULL DEFAULT '',
    condition_context TEXT,
    PRIMARY KEY (store, object_type, object_id, relation, user)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS fga_tuple_by_user
    ON fga_tuple (store, object_type, relation, user, object_id);
CREATE INDEX IF NOT EXISTS fga_tuple_usersets
    ON fga_tuple (store, object_type, object_id, relation) WHERE user_relation != '';
"""

_COLUMNS = "object_type, object_id, relation, user_type, user_id, user_relation, user, condition_name, condition_context"
_CHUNK = 500


def connect(path: str | Path = ":memory:") -> sqlite3.Connection:
    """A connection with the pragmas and schema this store needs (autocommit mode; the store
    opens its own transactions)."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    if str(path) != ":memory:":
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.executescript(SCHEMA)
    return conn


def _record(row: tuple) -> TupleRecord:
    ctx = row[8]
    return TupleRecord(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7],
                       json.loads(ctx) if ctx else None)


class SqliteTupleStore:
    """The tuples of one FGA store in a SQLite database (implements ``TupleStore``)."""

    def __init__(self, conn: sqlite3.Connection, store_id: str) -> None:
        self.conn = conn
        self.store_id = store_id
        conn.executescript(SCHEMA)

    @classmethod
    def open(cls, path: str | Path, store_id: str) -> SqliteTupleStore:
        return cls(connect(path), store_id)

    # -- reads ----------------------------------------------------------------------------------
    def read(self, object_type: str, object_id: str, relation: str) -> list[TupleRecord]:
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM fga_tuple WHERE store=? AND object_type=? AND object_id=? AND relation=?",
            (self.store_id, object_type, object_id, relation)).fetchall()
        return [_record(r) for r in rows]

    def read_user(self, object_type: str, object_id: str, relation: str, user: str) -> TupleRecord | None:
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM fga_tuple WHERE store=? AND object_type=? AND object_id=? AND relation=? "
            "AND user=?", (self.store_id, object_type, object_id, relation, user)).fetchone()
        return _record(row) if row is not None else None

    def read_usersets(self, object_type: str, object_id: str, relation: str) -> list[TupleRecord]:
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM fga_tuple INDEXED BY fga_tuple_usersets WHERE store=? AND object_type=? "
            "AND object_id=? AND relation=? AND user_relation != ''",
            (self.store_id, object_type, object_id, relation)).fetchall()
        return [_record(r) for r in rows]

    def read_by_user(self, object_type: str, relation: str, user: str) -> list[TupleRecord]:
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM fga_tuple INDEXED BY fga_tuple_by_user WHERE store=? AND object_type=? "
            "AND relation=? AND user=?", (self.store_id, object_type, relation, user)).fetchall()
        return [_record(r) for r in rows]

    def read_by_users(self, object_type: str, relation: str, users: Collection[str]) -> Iterable[TupleRecord]:
        users = list(users)
        for k in range(0, len(users), _CHUNK):
            chunk = users[k:k + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"SELECT {_COLUMNS} FROM fga_tuple INDEXED BY fga_tuple_by_user WHERE store=? AND object_type=? "
                f"AND relation=? AND user IN ({marks})", (self.store_id, object_type, relation, *chunk)).fetchall()
            for r in rows:
                yield _record(r)

    def read_matching(self, *, object_type: str = "", object_id: str = "", relation: str = "",
                      user: str = "") -> list[TupleRecord]:
        where, args = ["store=?"], [self.store_id]
        for column, value in (("object_type", object_type), ("object_id", object_id), ("relation", relation),
                              ("user", user)):
            if value:
                where.append(f"{column}=?")
                args.append(value)
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM fga_tuple WHERE {' AND '.join(where)} "
            "ORDER BY object_type, object_id, relation, user", args).fetchall()
        return [_record(r) for r in rows]

    def count(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM fga_tuple WHERE store=?", (self.store_id,)).fetchone()[0]

    # -- writes ---------------------------------------------------------------------------------
    def _exists(self, rec: TupleRecord) -> TupleRecord | None:
        return self.read_user(rec.object_type, rec.object_id, rec.relation, rec.user)

    def write(self, writes: Sequence[TupleKey] = (), deletes: Sequence[TupleKey] = (), *,
              on_duplicate: str = "error", on_missing: str = "error") -> None:
        """Apply ``deletes`` then ``writes`` in one transaction (same rules as ``MemoryTupleStore``)."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            deleted: set[tuple[str, str, str, str]] = set()
            for key in deletes:
                rec = record_from_key(key)
                ident = (rec.object_type, rec.object_id, rec.relation, rec.user)
                if self._exists(rec) is None or ident in deleted:
                    if on_missing != "ignore":
                        raise missing_error(key)
                    continue
                conn.execute("DELETE FROM fga_tuple WHERE store=? AND object_type=? AND object_id=? AND relation=? "
                             "AND user=?", (self.store_id, *ident))
                deleted.add(ident)
            inserting: set[tuple[str, str, str, str]] = set()
            rows = []
            for key in writes:
                rec = record_from_key(key)
                ident = (rec.object_type, rec.object_id, rec.relation, rec.user)
                existing = self._exists(rec) if ident not in deleted else None
                if existing is not None or ident in inserting:
                    if on_duplicate == "ignore" and (existing == rec or ident in inserting):
                        continue
                    raise exists_error(key)
                inserting.add(ident)
                rows.append((self.store_id, rec.object_type, rec.object_id, rec.relation, rec.user, rec.user_type,
                             rec.user_id, rec.user_relation, rec.condition,
                             json.dumps(rec.context, sort_keys=True) if rec.context else None))
            conn.executemany(
                "INSERT INTO fga_tuple (store, object_type, object_id, relation, user, user_type, user_id, "
                "user_relation, condition_name, condition_context) VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def delete_store(self) -> None:
        """Remove every tuple of this store."""
        with self.conn:
            self.conn.execute("DELETE FROM fga_tuple WHERE store=?", (self.store_id,))
