"""Audit completeness, measured the same way under both configurations: of the adversary's requests
(the ground truth its own client recorded), how many does **one** log attribute — who, what, when?

- Traditional: each system keeps its own log (``LegacyLogLine``). A request is reconstructed from a
  log if that log has a line of the same system, time, method, path and status naming a principal.
  The best single log is the measure (nobody correlates the others).
- Unified: a request is reconstructed if the platform's audit log holds an entry by the system that
  received it, committed between the audit sequence numbers before and after the request.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import attrs

from actors.traditional.client import SentRequest
from actors.traditional.legacy_app import LegacyLogLine
from protocols.audit_chain import AuditEntry


@attrs.frozen(kw_only=True)
class Coverage:
    logged: int
    total: int
    log: str
    """The single log that reconstructs the most (its system's actor name, or ``audit``)."""


@attrs.frozen(kw_only=True)
class UnifiedRequest:
    """An adversary request against the unified cast: the receiving actor and the audit window."""

    system: str
    seq_before: int
    seq_after: int
    status: int


def legacy_coverage(sent: Sequence[SentRequest], logs: Mapping[str, Sequence[LegacyLogLine]]) -> Coverage:
    """How many of ``sent`` the best single legacy log reconstructs."""
    best = Coverage(logged=0, total=len(sent), log="none")
    for name, lines in sorted(logs.items()):
        available = Counter((line.time, line.method, line.path, line.status) for line in lines if line.principal)
        logged = 0
        for request in sent:
            key = (request.time, request.method, request.path, request.status)
            if request.system == name and available[key] > 0:
                available[key] -= 1
                logged += 1
        if logged > best.logged:
            best = Coverage(logged=logged, total=len(sent), log=name)
    return best


def _attributed(entry: AuditEntry) -> bool:
    return bool(entry.agent or entry.subject or entry.decision)


def unified_coverage(requests: Iterable[UnifiedRequest], entries: Sequence[AuditEntry]) -> Coverage:
    """How many of ``requests`` the platform's single audit log reconstructs."""
    by_seq = {e.seq: e for e in entries}
    wanted = list(requests)
    logged = 0
    for request in wanted:
        window = (by_seq.get(seq) for seq in range(request.seq_before + 1, request.seq_after + 1))
        if any(e is not None and e.actor == request.system and _attributed(e) for e in window):
            logged += 1
    return Coverage(logged=logged, total=len(wanted), log="audit")
