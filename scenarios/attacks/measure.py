"""Measuring an attack's outcome from the audit log and the adversary's steps (issue 11).

- ``stopped_by``: the layer (``reports.classification``) of the first counted *deny* entry recorded
  while a refused adversary step was being handled — the first layer that said no.
- ``audit_complete``: the hash chain verifies and every adversary step left at least one entry of a
  platform system (not the agent's own account) between its bracketing sequence numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from actors.adversary import Step
from protocols.audit_chain import AuditEntry, verify_chain
from reports.classification import counted_outcome, layer_of


def in_step(entries: Sequence[AuditEntry], step: Step) -> list[AuditEntry]:
    """The audit entries committed while ``step`` was handled."""
    return [e for e in entries if step.seq_before < e.seq <= step.seq_after]


def denials(entries: Iterable[AuditEntry]) -> list[AuditEntry]:
    return [e for e in entries if counted_outcome(e) == "deny"]


def first_refusal(entries: Sequence[AuditEntry], steps: Iterable[Step]) -> AuditEntry | None:
    """The first counted deny entry recorded during a refused step."""
    for step in steps:
        if step.ok:
            continue
        found = denials(in_step(entries, step))
        if found:
            return found[0]
    return None


def layer_key(entry: AuditEntry | None) -> str | None:
    return layer_of(entry).key if entry is not None else None


def platform_entries(entries: Iterable[AuditEntry]) -> list[AuditEntry]:
    """Entries of the platform's systems (not the runner, not the agent's own account of itself)."""
    return [e for e in entries if layer_of(e).counted and layer_of(e).key != "run"]


def audit_complete(entries: Sequence[AuditEntry], steps: Iterable[Step]) -> bool:
    if not verify_chain(entries).ok:
        return False
    return all(platform_entries(in_step(entries, step)) for step in steps)


def evidence_of(entry: AuditEntry) -> str:
    return f"seq {entry.seq} {entry.event} [{entry.decision}] {entry.reason or ''}".rstrip()


def step_evidence(step: Step) -> str:
    return f"{step.name}: HTTP {step.status}" + (f" {step.error}" if step.error else "")
