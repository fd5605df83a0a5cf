"""Vault-side storage of privileged credentials (DESIGN.md §6): the credential records in clear
(no secret in them), each secret version sealed with the vault's envelope encryption
(``protocols.vault.seal``: AES-256-GCM under a per-secret data key wrapped by the KEK, with the
record id and version as additional authenticated data), and JIT grants. SQLite, transactional.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Protocol

import attrs

from protocols.privileged_credentials import (
    CredentialKind, CredentialVersion, JitGrant, PrivilegedCredential, RotationPolicy, VersionState,
)
from protocols.vault import Envelope

SCHEMA = """
CREATE TABLE IF NOT EXISTS privileged_credentials (id TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS privileged_secrets (
    credential_id TEXT NOT NULL, version INTEGER NOT NULL, kek_id TEXT NOT NULL,
    wrapped_key BLOB NOT NULL, nonce BLOB NOT NULL, ciphertext BLOB NOT NULL,
    PRIMARY KEY (credential_id, version)
);
CREATE TABLE IF NOT EXISTS jit_grants (id TEXT PRIMARY KEY, record TEXT NOT NULL, active INTEGER NOT NULL);
"""


class PrivilegedStore(Protocol):
    def get(self, credential_id: str) -> PrivilegedCredential | None: ...
    def all(self) -> list[PrivilegedCredential]: ...
    def save(self, credential: PrivilegedCredential, *, new_secret: tuple[int, Envelope] | None = None) -> None: ...
    def secret(self, credential_id: str, version: int) -> Envelope | None: ...
    def save_jit(self, grant: JitGrant, *, active: bool) -> None: ...
    def active_jit(self) -> list[JitGrant]: ...


def credential_to_json(credential: PrivilegedCredential) -> dict[str, Any]:
    return {"id": credential.id, "agent": credential.agent, "system": credential.system,
            "account": credential.account, "kind": credential.kind.value, "policy": attrs.asdict(credential.policy),
            "versions": [{**attrs.asdict(v), "state": v.state.value} for v in credential.versions],
            "next_rotation_at": credential.next_rotation_at, "revoked_at": credential.revoked_at}


def credential_from_json(data: dict[str, Any]) -> PrivilegedCredential:
    return PrivilegedCredential(
        id=data["id"], agent=data["agent"], system=data["system"], account=data["account"],
        kind=CredentialKind(data["kind"]), policy=RotationPolicy(**data["policy"]),
        versions=tuple(CredentialVersion(**{**v, "state": VersionState(v["state"])}) for v in data["versions"]),
        next_rotation_at=data["next_rotation_at"], revoked_at=data["revoked_at"])


@attrs.define(eq=False)
class SqlitePrivilegedStore:
    path: Path | None = None
    _db: sqlite3.Connection = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._db = sqlite3.connect(str(self.path) if self.path else ":memory:")
        self._db.executescript(SCHEMA)

    def get(self, credential_id: str) -> PrivilegedCredential | None:
        row = self._db.execute("SELECT record FROM privileged_credentials WHERE id = ?", (credential_id,)).fetchone()
        return credential_from_json(json.loads(row[0])) if row else None

    def all(self) -> list[PrivilegedCredential]:
        rows = self._db.execute("SELECT record FROM privileged_credentials ORDER BY id").fetchall()
        return [credential_from_json(json.loads(r[0])) for r in rows]

    def save(self, credential: PrivilegedCredential, *, new_secret: tuple[int, Envelope] | None = None) -> None:
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO privileged_credentials (id, record) VALUES (?, ?)",
                             (credential.id, json.dumps(credential_to_json(credential), sort_keys=True)))
            if new_secret is not None:
                version, envelope = new_secret
                self._db.execute(
                    "INSERT INTO privileged_secrets (credential_id, version, kek_id, wrapped_key, nonce, ciphertext) "
                    "VALUES (?,?,?,?,?,?)", (credential.id, version, envelope.kek_id, envelope.wrapped_key,
                                             envelope.nonce, envelope.ciphertext))
            retired = [v.version for v in credential.versions if v.state is VersionState.RETIRED]
            if retired or credential.revoked_at is not None:  # a retired secret is destroyed, not kept
                keep = () if credential.revoked_at is not None else tuple(v.version for v in credential.accepted())
                self._db.execute(
                    f"DELETE FROM privileged_secrets WHERE credential_id = ? AND version NOT IN "
                    f"({','.join('?' * len(keep)) or 'NULL'})", (credential.id, *keep))

    def secret(self, credential_id: str, version: int) -> Envelope | None:
        row = self._db.execute("SELECT kek_id, wrapped_key, nonce, ciphertext FROM privileged_secrets "
                               "WHERE credential_id = ? AND version = ?", (credential_id, version)).fetchone()
        return Envelope(kek_id=row[0], wrapped_key=row[1], nonce=row[2], ciphertext=row[3]) if row else None

    def save_jit(self, grant: JitGrant, *, active: bool) -> None:
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO jit_grants (id, record, active) VALUES (?,?,?)",
                             (grant.id, json.dumps(grant.to_json(), sort_keys=True), int(active)))

    def active_jit(self) -> list[JitGrant]:
        rows = self._db.execute("SELECT record FROM jit_grants WHERE active = 1 ORDER BY id").fetchall()
        grants = []
        for (raw,) in rows:
            data = json.loads(raw)
            grants.append(JitGrant(**{**data, "privileges": tuple(data["privileges"])}))
        return grants

    def close(self) -> None:
        self._db.close()
