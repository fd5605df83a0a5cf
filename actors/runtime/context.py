"""What every actor of a run shares: clock, network, secret registry, audit log and seeded entropy."""

from __future__ import annotations

from pathlib import Path

import attrs

from actors.audit_log import AuditLog
from actors.runtime.clock import ScenarioClock
from actors.runtime.network import Network
from actors.runtime.secrets import SecretRegistry, private_key_forms
from protocols.entropy import SeededEntropy
from protocols.jose.keys import Algorithm, SigningKey


@attrs.define(eq=False)
class Runtime:
    seed: int | bytes
    clock: ScenarioClock
    network: Network
    secrets: SecretRegistry
    audit: AuditLog
    data_dir: Path | None = None
    """Where actors keep their stores (the run directory); ``None``: in memory."""

    def new_signing_key(self, *, owner: str, purpose: str, alg: Algorithm) -> SigningKey:
        """A key seeded by (run seed, owner, purpose), its private forms registered for redaction."""
        key = SigningKey.generate(alg=alg, entropy=self.entropy_for(owner).child(purpose), created_at=self.clock.now())
        self.secrets.add_all(private_key_forms(key.private_key))
        return key

    def entropy_for(self, actor: str) -> SeededEntropy:
        """The actor's own deterministic stream, derived from (run seed, actor name) (DESIGN.md §2)."""
        return SeededEntropy.for_actor(run_seed=self.seed, actor=actor)
