"""What every actor of a run shares: clock, network, secret registry, audit log and seeded entropy."""

from __future__ import annotations

import attrs

from actors.audit_log import AuditLog
from actors.runtime.clock import ScenarioClock
from actors.runtime.network import Network
from actors.runtime.secrets import SecretRegistry
from protocols.entropy import SeededEntropy


@attrs.define(eq=False)
class Runtime:
    seed: int | bytes
    clock: ScenarioClock
    network: Network
    secrets: SecretRegistry
    audit: AuditLog

    def entropy_for(self, actor: str) -> SeededEntropy:
        """The actor's own deterministic stream, derived from (run seed, actor name) (DESIGN.md §2)."""
        return SeededEntropy.for_actor(run_seed=self.seed, actor=actor)
