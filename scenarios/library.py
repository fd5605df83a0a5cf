"""The scenario library: each scenario's name, one-line summary, built-in world and phase table.

A scenario's phases are coroutines ``(cast, PhaseSpec) -> PhaseResult`` keyed by the phase number
used in the world file's ``[[phases]]``. ``trustbench scenarios`` lists this table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from scenarios import sales_agent
from scenarios.ablation import NO_DETECTION, Ablation
from scenarios.customer_service import start_support_cast
from scenarios.phase_result import PhaseResult
from scenarios.phases.customer_service import CUSTOMER_SERVICE_PHASES
from scenarios.phases import PHASES as SALES_PHASES
from scenarios.phases.procurement import PROCUREMENT_PHASES
from scenarios.phases.pipeline import PIPELINE_PHASES
from scenarios.pipeline_cast import start_pipeline_cast
from scenarios.marketing_cast import start_marketing_cast
from scenarios.phases.marketing import MARKETING_PHASES
from scenarios.financial_rag import FINANCIAL_RAG_PHASES, start_rag_cast
from scenarios.b2c_consent import start_consent_cast
from scenarios.phases.b2c_consent import B2C_CONSENT_PHASES
from scenarios.traditional.scenario import PHASES as COMPARISON_PHASES, start_cast as start_comparison_cast
from scenarios.world import WORLDS_DIR, PhaseSpec

PhaseFn = Callable[[Any, PhaseSpec], Awaitable[PhaseResult]]


@attrs.frozen(kw_only=True)
class Scenario:
    name: str
    summary: str
    phases: Mapping[int, PhaseFn]
    start_cast: Callable[..., Awaitable[Any]] = sales_agent.start_cast
    """``(world=, runtime=, nursery=) -> cast``: builds and starts the scenario's actors."""
    ablation: Ablation | None = None
    """A second run of the same world with one setting changed, compared in the summary."""

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
        Scenario(name="customer-service",
                 summary="Customer-service agent: 500 records in 10 minutes → detection and universal logout; "
                         "ablation without detection",
                 phases=CUSTOMER_SERVICE_PHASES, start_cast=start_support_cast, ablation=NO_DETECTION),
        Scenario(name="procurement",
                 summary="Procurement agent: licence purchases above 1 000 EUR need the purchasing manager's "
                         "approval (CIBA ping, RAR); approved, refused, unanswered",
                 phases=PROCUREMENT_PHASES),
        Scenario(name="data-pipeline",
                 summary="Data-pipeline agent: vaulted database password rotated every 30 days for 180 days "
                         "with zero failed calls; JIT backfill account",
                 phases=PIPELINE_PHASES, start_cast=start_pipeline_cast),
        Scenario(name="marketing",
                 summary="Marketing agent lifecycle: JIT elevation that lapses, quarterly review revokes the "
                         "customer database, deadline revocation, deprovisioning with the audit kept",
                 phases=MARKETING_PHASES, start_cast=start_marketing_cast),
        Scenario(name="financial-rag",
                 summary="Financial RAG agent: Alice asks about Q3 results; a sqlite-vec index of every "
                         "division's reports, FGA pre- and post-filters, only her division reaches the model",
                 phases=FINANCIAL_RAG_PHASES, start_cast=start_rag_cast),
        Scenario(name="b2c-consent",
                 summary="B2C consent vs B2B policy: TravelBot and a meal planner ask consumers on consent "
                         "screens (grant less, decline, revoke); an employee agent gets access by IT policy",
                 phases=B2C_CONSENT_PHASES, start_cast=start_consent_cast),
        Scenario(name="traditional-vs-unified",
                 summary="The whitepaper's comparison table measured: the sales story and the attack library "
                         "against a traditional stack and the unified platform",
                 phases=COMPARISON_PHASES, start_cast=start_comparison_cast),
    )
}
