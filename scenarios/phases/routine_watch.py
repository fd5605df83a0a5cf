"""The weeks before the drill: the agent's routine and what the detector learned from it.

The phase reads the run's own records: how many days and calls the routine made (and whether any
failed), the baseline the detector now holds for the agent, and every daily risk point it
recorded — the "no false alarm" check: over the whole period the level never left NORMAL.
"""

from __future__ import annotations

from typing import Any

from actors.threat_detection import Baselines
from scenarios.phase_result import PhaseResult
from scenarios.security_cast import SecurityOps
from scenarios.world import PhaseSpec


async def routine_summary(security: SecurityOps, phase: PhaseSpec) -> PhaseResult:
    routine = security.routine
    if routine is None:
        return PhaseResult(number=phase.number, name=phase.name, ok=False,
                           outcome="The agent's routine never started (no CRM client for it).")
    stats = routine.stats
    facts: dict[str, Any] = {"routine days": stats.days, "CRM reads": stats.calls, "failed reads": stats.failed}
    if stats.first_failure:
        facts["first failure"] = stats.first_failure
    if not security.enabled:
        return PhaseResult(number=phase.number, name=phase.name, ok=stats.failed == 0, facts=facts,
                           outcome=f"{phase.agent} read {stats.calls} customer records over {stats.days} days; "
                                   "detection is switched off, so no baseline was learned.")
    assert security.detector is not None
    baseline = (await security.detector.ask(Baselines())).get(phase.agent)
    points = [e for e in security.runtime.audit.store.entries()
              if e.event == "risk.scored" and e.agent == phase.agent]
    levels = sorted({e.decision for e in points})
    peak = max((e.details.get("score", 0) for e in points), default=0)
    facts.update({"risk points recorded": len(points), "levels seen": ", ".join(levels) or "none",
                  "peak daily score": peak})
    if baseline is not None:
        described = baseline.describe()
        facts.update({"baseline days": described["days"], "median records a day": described["daily_median"],
                      "usual burst (records per busy window)": described["burst_records_per_window"],
                      "usual hours (UTC)": f"{min(baseline.usual_hours, default=0):02d}:00–"
                                           f"{max(baseline.usual_hours, default=-1) + 1:02d}:00"})
    ok = stats.failed == 0 and baseline is not None and not baseline.learning and levels in ([], ["NORMAL"])
    return PhaseResult(number=phase.number, name=phase.name, ok=ok, facts=facts, outcome=(
        f"{phase.agent} read {stats.calls} customer records over {stats.days} days; the detector learned its baseline "
        f"(median {facts.get('median records a day')} a day) and its risk never left NORMAL (peak {peak})."
        if ok else f"Routine or baseline problem: levels {levels}, {stats.failed} failed reads."))
