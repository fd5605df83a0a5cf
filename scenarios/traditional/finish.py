"""The end of the ``traditional-vs-unified`` run: the attack library under both configurations, the
audit-trail row over the whole run, ``comparison.json``, the traditional systems' own logs
(``traditional/legacy-*.log``) and the phase's summary.

Each attack of ``scenarios.attacks.ATTACKS`` starts its own cast in a fresh runtime inside this run's
trio loop (its ``AttackOutcome`` is measured there); its outcome becomes one measurement per
comparison row it illustrates. The attacks configure structlog for their own runtime; the run's
configuration is restored after each one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog

from reports.comparison import ROW_KEYS, comparison_table
from scenarios.phase_result import PhaseResult
from scenarios.traditional.audit_coverage import legacy_coverage
from scenarios.traditional.comparison import CONFIGURATIONS, Measurement, write_comparison
from scenarios.world import PhaseSpec

ATTACK_IDS: tuple[str, ...] | None = None
"""The attacks phase 8 runs (``None``: every attack of the library; tests narrow it to stay cheap)."""
STEP_ROWS = ("discovery", "credentials", "user_auth", "api_access", "approval", "access_reviews", "threats",
             "incidents")
"""The rows the scenario's own steps measure under both configurations."""


def _rows(attack: Any) -> tuple[str, ...]:
    rows = getattr(attack, "rows", None) or (getattr(attack, "row", ""),)
    return tuple(r for r in rows if r in ROW_KEYS)


def from_outcome(outcome: Any, *, row: str) -> Measurement:
    """An attack library ``AttackOutcome`` as a comparison measurement (its audit verdict is one step)."""
    return Measurement(row=row, configuration=outcome.configuration, step=f"attack:{outcome.attack}",
                       records_exposed=outcome.records_exposed, unauthorised_actions=outcome.unauthorised_actions,
                       time_to_containment=outcome.time_to_containment, observed=None,
                       steps_logged=1 if outcome.audit_complete else 0, steps_total=1,
                       evidence=(f"stopped by: {outcome.stopped_by or 'nothing'}", *map(str, outcome.evidence)))


async def run_attacks(*, seed: int, transport: str) -> tuple[list[Measurement], list[str]]:
    """Every attack under both configurations; problems (an attack that could not run) are listed."""
    try:
        from scenarios.attacks import ATTACKS
    except ImportError as error:
        return [], [f"attack library not available ({type(error).__name__})"]
    found, problems = [], []
    for attack_id in sorted(ATTACKS if ATTACK_IDS is None else set(ATTACK_IDS) & set(ATTACKS)):
        attack = ATTACKS[attack_id]
        for configuration in CONFIGURATIONS:
            saved = structlog.get_config()
            try:
                outcome = await attack.run(configuration=configuration, seed=seed, transport=transport)
            except Exception as error:  # noqa: BLE001 - one attack's failure is reported, the table goes on
                problems.append(f"{attack_id} ({configuration}): {type(error).__name__}")
                continue
            finally:
                structlog.configure(**saved)
            found += [from_outcome(outcome, row=row) for row in _rows(attack)]
    return found, problems


def audit_rows(cast: Any, measurements: Sequence[Measurement]) -> list[Measurement]:
    """The audit-trail row: every adversary request of the run's steps against one log — the best
    single legacy log (traditional) or the platform's audit log (unified)."""
    steps = [m for m in measurements if m.step.startswith("step:")]
    rows = []
    for configuration in CONFIGURATIONS:
        mine = [m for m in steps if m.configuration == configuration]
        if not mine:
            continue
        if configuration == "traditional":
            coverage = legacy_coverage([r for c in cast.traditional.clients for r in c.sent], cast.traditional.logs())
            logged, total, where = coverage.logged, coverage.total, f"best single log: {coverage.log}"
        else:
            logged, total = sum(m.steps_logged for m in mine), sum(m.steps_total for m in mine)
            where = "the platform audit log"
        times = [m.time_to_containment for m in mine]
        rows.append(Measurement(
            row="audit", configuration=configuration, step="step:whole-run", records_exposed=sum(
                m.records_exposed for m in mine), unauthorised_actions=sum(m.unauthorised_actions for m in mine),
            time_to_containment=None if None in times else max(t for t in times if t is not None),
            observed=max((m.observed or 0.0) for m in mine), steps_logged=logged, steps_total=total,
            evidence=(f"{len(mine)} steps, {total} adversary requests; {where} reconstructs {logged}",)))
    return rows


def _line(cell: dict | None) -> str:
    if cell is None:
        return "not measured"
    contained = ("not contained" if not cell["contained"] else f"contained in {cell['time_to_containment']:g} s")
    return (f"{cell['records_exposed']} records, {cell['unauthorised_actions']} unauthorised actions, {contained}, "
            f"audit {cell['steps_logged']}/{cell['steps_total']}")


def _ok(table: list[dict]) -> bool:
    """Every row the steps measure has both columns and the unified one is no worse."""
    by_row = {row["row"]: row for row in table}
    for key in STEP_ROWS:
        trad, uni = by_row[key]["traditional"], by_row[key]["unified"]
        if trad is None or uni is None:
            return False
        if uni["records_exposed"] > trad["records_exposed"] or uni["unauthorised_actions"] > trad["unauthorised_actions"]:
            return False
    return True


async def finish_comparison(cast: Any, spec: PhaseSpec, found: list[Measurement]) -> PhaseResult:
    runtime = cast.runtime
    attacks, problems = await run_attacks(seed=int(runtime.seed) if isinstance(runtime.seed, int) else 0,
                                          transport=runtime.network.transport.value)
    for m in attacks:
        await cast.add(m, spec)
    audit = audit_rows(cast, cast.measurements)
    for m in audit:
        await cast.add(m, spec)
    table = comparison_table(m.to_json() for m in cast.measurements)
    if runtime.data_dir is not None:
        write_comparison(runtime.data_dir / "comparison.json", cast.measurements)
        cast.traditional.write_logs(runtime.data_dir / "traditional")
    measured = sum(1 for row in table if row["traditional"] or row["unified"])
    facts: dict[str, Any] = {f"{row['feature']} — traditional": _line(row["traditional"]) for row in table}
    facts.update({f"{row['feature']} — unified": _line(row["unified"]) for row in table})
    facts["attack measurements"] = len(attacks)
    if problems:
        facts["attacks not measured"] = "; ".join(problems)
    ok = _ok(table)
    return PhaseResult(number=spec.number, name=spec.name, ok=ok,
                       outcome=(f"{len(cast.measurements)} measurements fill {measured} of the whitepaper's "
                                f"{len(table)} rows, traditional against unified"
                                + (f"; {len(problems)} attack run(s) failed" if problems else "") + "."),
                       facts=facts)
