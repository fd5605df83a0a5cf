"""The scenario library: each scenario's name, one-line summary, built-in world and phase table.

A scenario's phases are coroutines ``(cast, PhaseSpec) -> PhaseResult`` keyed by the phase number
used in the world file's ``[[phases]]``. ``trustbench scenarios`` lists this table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from scenarios.phase_result import PhaseResult
from scenarios.phases import PHASES as SALES_PHASES
from scenarios.phases.procurement import PROCUREMENT_PHASES
from scenarios.world import WORLDS_DIR, PhaseSpec

PhaseFn = Callable[[Any, PhaseSpec], Awaitable[PhaseResult]]


@attrs.frozen(kw_only=True)
class Scenario:
    name: str
    summary: str
    phases: Mapping[int, PhaseFn]

    @property
    def world_file(self) -> Path:
        return WORLDS_DIR / f"{self.name}.toml"


SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        Scenario(name="sales-agent",
                 summary="Eight-phase sales agent: shadow AI, SSO, MCP context, ID-JAG, CIBA, vault, governance, "
                         "threat response",
                 phases=SALES_PHASES),
        Scenario(name="procurement",
                 summary="Procurement agent: licence purchases above 1 000 EUR need the purchasing manager's "
                         "approval (CIBA ping, RAR); approved, refused, unanswered",
                 phases=PROCUREMENT_PHASES),
    )
}
