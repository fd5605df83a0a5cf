"""Build audit entries in memory for the unit tests of reports/."""

from __future__ import annotations

from typing import Any

from protocols.audit_chain import AuditEntry


def entry(event: str, *, seq: int = 1, time: str = "2025-01-06T09:00:00.000Z", actor: str = "actor",
          agent: str | None = None, subject: str | None = None, decision: str | None = None,
          reason: str | None = None, **details: Any) -> AuditEntry:
    return AuditEntry(seq=seq, time=time, actor=actor, event=event, agent=agent, subject=subject, decision=decision,
                      reason=reason, details=details)


def numbered(*entries: AuditEntry) -> tuple[AuditEntry, ...]:
    """The same entries with seq 1, 2, 3... in order."""
    return tuple(AuditEntry(**{**e.to_json(), "seq": seq}) for seq, e in enumerate(entries, start=1))
