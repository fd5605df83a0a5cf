"""The measuring helpers promised in ``/work/notes/traditional-interface.md`` for the attack library:
``measure_audit(sent, logs)`` — how much of an adversary's requests the best single legacy log
reconstructs (``audit_coverage.legacy_coverage``, in the shape the attack library reads)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from actors.traditional.client import SentRequest
from actors.traditional.legacy_app import LegacyLogLine
from scenarios.traditional.audit_coverage import legacy_coverage


@attrs.frozen(kw_only=True)
class AuditCoverage:
    steps: int
    """Adversary requests (the client's own record)."""
    best_log: str
    """The system whose own log reconstructs the most of them."""
    reconstructed: int

    @property
    def complete(self) -> bool:
        return self.steps > 0 and self.reconstructed == self.steps


def measure_audit(sent: Sequence[SentRequest], logs: Mapping[str, Sequence[LegacyLogLine]]) -> AuditCoverage:
    coverage = legacy_coverage(sent, logs)
    return AuditCoverage(steps=coverage.total, best_log=coverage.log, reconstructed=coverage.logged)
