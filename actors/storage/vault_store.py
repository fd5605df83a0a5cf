"""Storage of the token vault (DESIGN.md §6): connections (a user's linked account at a provider,
with its encrypted refresh token) and cached provider access tokens (encrypted), in SQLite.

Only envelopes (``protocols.vault.Envelope``: KEK id, wrapped data key, nonce, ciphertext) are
stored for secrets; nothing here ever holds a plaintext token. Every write that matters is one
transaction: a refresh stores the rotated refresh token and the new access token together, so an
acknowledged refresh is never half-recorded. ``path=None`` keeps the database in memory (tests).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Protocol

import attrs

from protocols.vault import Envelope

SCHEMA = """
CREATE TABLE IF NOT EXISTS connections (
    connection_id TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    provider TEXT NOT NULL,
    scope TEXT NOT NULL,
    status TEXT NOT NULL,
    status_reason TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    kek_id TEXT NOT NULL,
    wrapped_key BLOB NOT NULL,
    nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    UNIQUE (subject, provider)
);
CREATE TABLE IF NOT EXISTS access_tokens (
    connection_id TEXT NOT NULL REFERENCES connections(connection_id),
    slot TEXT NOT NULL,
    integration TEXT NOT NULL,
    scope TEXT NOT NULL,
    jti TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    last_served_at INTEGER NOT NULL,
    kek_id TEXT NOT NULL,
    wrapped_key BLOB NOT NULL,
    nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    PRIMARY KEY (connection_id, slot)
);
"""

ACTIVE, RECONNECT, REVOKED = "active", "reconnect_required", "revoked"
_ENVELOPE = ("kek_id", "wrapped_key", "nonce", "ciphertext")


@attrs.frozen(kw_only=True)
class Connection:
    """A user's linked account at one provider; ``refresh`` is the encrypted refresh token."""

    connection_id: str
    subject: str
    provider: str
    scope: tuple[str, ...]
    status: str
    status_reason: str
    created_at: int
    updated_at: int
    refresh: Envelope


@attrs.frozen(kw_only=True)
class CachedToken:
    """A provider access token the vault obtained for one integration and scope set."""

    connection_id: str
    slot: str
    integration: str
    scope: tuple[str, ...]
    jti: str
    issued_at: int
    expires_at: int
    last_served_at: int
    token: Envelope


class VaultStore(Protocol):
    def connection(self, *, subject: str, provider: str) -> Connection | None: ...
    def connections(self) -> list[Connection]: ...
    def upsert_connection(self, connection: Connection) -> None: ...
    def set_status(self, connection_id: str, *, status: str, reason: str, now: int) -> None: ...
    def cached(self, connection_id: str, slot: str) -> CachedToken | None: ...
    def cached_tokens(self) -> list[CachedToken]: ...
    def record_refresh(self, connection: Connection, token: CachedToken) -> None: ...
    def touch(self, connection_id: str, slot: str, *, now: int) -> None: ...
    def drop_cached(self, connection_id: str, slot: str) -> None: ...
    def rewrap(self, *, connections: dict[str, Envelope], tokens: dict[tuple[str, str], Envelope]) -> None: ...
    def kek_usage(self) -> dict[str, int]: ...
    def close(self) -> None: ...


def _envelope(row: sqlite3.Row) -> Envelope:
    return Envelope(kek_id=row["kek_id"], wrapped_key=bytes(row["wrapped_key"]), nonce=bytes(row["nonce"]),
                    ciphertext=bytes(row["ciphertext"]))


def _env_values(envelope: Envelope) -> tuple[str, bytes, bytes, bytes]:
    return envelope.kek_id, envelope.wrapped_key, envelope.nonce, envelope.ciphertext


@attrs.define(eq=False)
class SqliteVaultStore:
    path: Path | None
    _db: sqlite3.Connection = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._db = sqlite3.connect(str(self.path) if self.path else ":memory:")
        self._db.row_factory = sqlite3.Row
        self._db.executescript(SCHEMA)

    @staticmethod
    def _connection(row: sqlite3.Row) -> Connection:
        return Connection(connection_id=row["connection_id"], subject=row["subject"], provider=row["provider"],
                          scope=tuple(row["scope"].split()), status=row["status"], status_reason=row["status_reason"],
                          created_at=row["created_at"], updated_at=row["updated_at"], refresh=_envelope(row))

    @staticmethod
    def _cached(row: sqlite3.Row) -> CachedToken:
        return CachedToken(connection_id=row["connection_id"], slot=row["slot"], integration=row["integration"],
                           scope=tuple(row["scope"].split()), jti=row["jti"], issued_at=row["issued_at"],
                           expires_at=row["expires_at"], last_served_at=row["last_served_at"], token=_envelope(row))

    def connection(self, *, subject: str, provider: str) -> Connection | None:
        row = self._db.execute("SELECT * FROM connections WHERE subject = ? AND provider = ?",
                               (subject, provider)).fetchone()
        return self._connection(row) if row else None

    def connections(self) -> list[Connection]:
        return [self._connection(r) for r in self._db.execute("SELECT * FROM connections ORDER BY connection_id")]

    def upsert_connection(self, connection: Connection) -> None:
        """Store a (re)linked connection; a relink replaces the old grant and drops its cached tokens."""
        c = connection
        with self._db:
            old = self._db.execute("SELECT connection_id FROM connections WHERE subject = ? AND provider = ?",
                                   (c.subject, c.provider)).fetchone()
            if old is not None:
                self._db.execute("DELETE FROM access_tokens WHERE connection_id = ?", (old["connection_id"],))
                self._db.execute("DELETE FROM connections WHERE connection_id = ?", (old["connection_id"],))
            self._db.execute(
                "INSERT INTO connections VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (c.connection_id, c.subject, c.provider, " ".join(c.scope), c.status, c.status_reason, c.created_at,
                 c.updated_at, *_env_values(c.refresh)))

    def set_status(self, connection_id: str, *, status: str, reason: str, now: int) -> None:
        """Mark a connection unusable (or usable); its cached tokens are dropped when it is not active."""
        with self._db:
            self._db.execute("UPDATE connections SET status = ?, status_reason = ?, updated_at = ? "
                             "WHERE connection_id = ?", (status, reason, now, connection_id))
            if status != ACTIVE:
                self._db.execute("DELETE FROM access_tokens WHERE connection_id = ?", (connection_id,))

    def cached(self, connection_id: str, slot: str) -> CachedToken | None:
        row = self._db.execute("SELECT * FROM access_tokens WHERE connection_id = ? AND slot = ?",
                               (connection_id, slot)).fetchone()
        return self._cached(row) if row else None

    def cached_tokens(self) -> list[CachedToken]:
        return [self._cached(r) for r in self._db.execute("SELECT * FROM access_tokens ORDER BY connection_id, slot")]

    def record_refresh(self, connection: Connection, token: CachedToken) -> None:
        """One transaction: the rotated refresh token and the access token it produced."""
        t = token
        with self._db:
            self._db.execute("UPDATE connections SET kek_id = ?, wrapped_key = ?, nonce = ?, ciphertext = ?, "
                             "updated_at = ? WHERE connection_id = ?",
                             (*_env_values(connection.refresh), connection.updated_at, connection.connection_id))
            self._db.execute("INSERT OR REPLACE INTO access_tokens VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                             (t.connection_id, t.slot, t.integration, " ".join(t.scope), t.jti, t.issued_at,
                              t.expires_at, t.last_served_at, *_env_values(t.token)))

    def touch(self, connection_id: str, slot: str, *, now: int) -> None:
        with self._db:
            self._db.execute("UPDATE access_tokens SET last_served_at = ? WHERE connection_id = ? AND slot = ?",
                             (now, connection_id, slot))

    def drop_cached(self, connection_id: str, slot: str) -> None:
        with self._db:
            self._db.execute("DELETE FROM access_tokens WHERE connection_id = ? AND slot = ?", (connection_id, slot))

    def rewrap(self, *, connections: dict[str, Envelope], tokens: dict[tuple[str, str], Envelope]) -> None:
        """Replace wrapped keys (KEK rotation) for a batch of records, in one transaction. The
        ciphertext and nonce are written back unchanged."""
        with self._db:
            for connection_id, env in connections.items():
                self._db.execute("UPDATE connections SET kek_id = ?, wrapped_key = ? WHERE connection_id = ?",
                                 (env.kek_id, env.wrapped_key, connection_id))
            for (connection_id, slot), env in tokens.items():
                self._db.execute("UPDATE access_tokens SET kek_id = ?, wrapped_key = ? "
                                 "WHERE connection_id = ? AND slot = ?", (env.kek_id, env.wrapped_key,
                                                                          connection_id, slot))

    def kek_usage(self) -> dict[str, int]:
        """How many stored secrets each KEK wraps."""
        usage: dict[str, int] = {}
        for table in ("connections", "access_tokens"):
            for row in self._db.execute(f"SELECT kek_id, COUNT(*) AS n FROM {table} GROUP BY kek_id"):
                usage[row["kek_id"]] = usage.get(row["kek_id"], 0) + row["n"]
        return usage

    def close(self) -> None:
        self._db.close()
