"""``[[credential_rotation]]``: how often the privileged-credential vault rotates an agent's secret.

```toml
[[credential_rotation]]
agent = "pipeline-agent-001"   # whose vaulted credential (database password, API key) this governs
every_days = 30                # the vault replaces the secret at the system every 30 days
overlap_hours = 48             # the previous secret keeps working this long: no call fails mid-rotation
lease_hours = 24               # how long the agent may cache a leased secret before asking again
```

An agent without an entry keeps its scenario's default policy. The section's values go to the
vault's rotation policy (``actors.privileged_vault``); ``parse_rotations`` uses the world reader, so
errors are one-line ``WorldError``s with the file and line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

SECTION = "credential_rotation"


@attrs.frozen(kw_only=True)
class RotationSpec:
    agent: str
    every_days: int
    overlap_hours: int
    lease_hours: int

    def policy(self) -> dict[str, int]:
        """The vault's policy object (``every_days``, ``overlap_hours``, ``lease_hours``)."""
        return {"every_days": self.every_days, "overlap_hours": self.overlap_hours, "lease_hours": self.lease_hours}


def parse_rotations(data: Mapping[str, Any], *, read: Any, agent_ids: set[str]) -> tuple[RotationSpec, ...]:
    specs: list[RotationSpec] = []
    for i, raw in enumerate(read.tables(data, SECTION)):
        where = f"{SECTION}[{i}]"
        agent = read.string(raw, "agent", where)
        if agent not in agent_ids:
            raise read.fail(f"{where}.agent", f"unknown agent {agent!r}")
        if any(spec.agent == agent for spec in specs):
            raise read.fail(f"{where}.agent", f"a second rotation policy for {agent}")
        spec = RotationSpec(agent=agent, every_days=read.positive_int(raw, "every_days", where),
                            overlap_hours=read.positive_int(raw, "overlap_hours", where),
                            lease_hours=read.positive_int(raw, "lease_hours", where))
        if spec.overlap_hours >= spec.every_days * 24:
            raise read.fail(f"{where}.overlap_hours", f"must be shorter than the rotation period ({spec.every_days} days)")
        if spec.lease_hours > spec.overlap_hours:
            raise read.fail(f"{where}.lease_hours", "must not exceed overlap_hours (a cached secret would outlive "
                                                    "the overlap and fail)")
        specs.append(spec)
    return tuple(specs)


def rotation_policy(rotations: tuple[RotationSpec, ...], agent: str, *, default: dict[str, int]) -> dict[str, int]:
    """The policy the world gives ``agent``'s vaulted credential, else ``default``."""
    return next((spec.policy() for spec in rotations if spec.agent == agent), dict(default))
