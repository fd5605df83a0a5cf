"""Tamper-evident audit entries: each entry's hash covers its content and the previous hash.

The chain is a hash list in the manner of RFC 6962 §2.1's leaf hashing, simplified to a linear
chain: ``hash_n = SHA-256(prev_hash_n || canonical_json(entry_n without hash))``. Changing,
deleting or reordering any entry breaks every later link, and ``verify_chain`` names the first
entry that fails.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

import attrs

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    """Sorted keys, no insignificant whitespace, UTF-8 kept: the bytes hashed and exported."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@attrs.frozen(kw_only=True)
class AuditEntry:
    """One security-relevant event: who (actor, agent), for whom (subject), what, the decision and why."""

    seq: int
    time: str
    actor: str
    event: str
    agent: str | None = None
    subject: str | None = None
    decision: str | None = None
    reason: str | None = None
    details: dict[str, Any] = attrs.field(factory=dict)
    prev_hash: str = GENESIS_HASH
    hash: str = ""

    def content(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "time": self.time, "actor": self.actor, "event": self.event,
            "agent": self.agent, "subject": self.subject, "decision": self.decision,
            "reason": self.reason, "details": self.details, "prev_hash": self.prev_hash,
        }

    def computed_hash(self) -> str:
        return hashlib.sha256(canonical_json(self.content()).encode()).hexdigest()

    def sealed(self) -> AuditEntry:
        return attrs.evolve(self, hash=self.computed_hash())

    def to_json(self) -> dict[str, Any]:
        return {**self.content(), "hash": self.hash}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AuditEntry:
        return cls(**{field.name: data[field.name] for field in attrs.fields(cls) if field.name in data})


@attrs.frozen(kw_only=True)
class ChainReport:
    """Result of verifying a chain: ``ok``, how many entries, and the first broken entry if any."""

    ok: bool
    entries: int
    broken_seq: int | None = None
    problem: str = ""


def verify_chain(entries: Iterable[AuditEntry]) -> ChainReport:
    previous = GENESIS_HASH
    count = 0
    for expected_seq, entry in enumerate(entries, start=1):
        count = expected_seq
        if entry.seq != expected_seq:
            return ChainReport(ok=False, entries=count, broken_seq=entry.seq,
                               problem=f"entry {entry.seq} is out of sequence (expected {expected_seq})")
        if entry.prev_hash != previous:
            return ChainReport(ok=False, entries=count, broken_seq=entry.seq,
                               problem=f"entry {entry.seq} does not link to the previous entry")
        if entry.computed_hash() != entry.hash:
            return ChainReport(ok=False, entries=count, broken_seq=entry.seq,
                               problem=f"entry {entry.seq} ({entry.event}) was altered: its hash does not match its content")
        previous = entry.hash
    return ChainReport(ok=True, entries=count)
