"""``trustbench check FILE``: run a world file's scenario and check its ``[[expectations]]``.

The scenario is the world's ``[scenario] name`` (or the one given); the run directory is written as
by ``trustbench run`` (reports included, so ``no_secrets`` covers them), then every expectation is
checked against it (``scenarios.expectation_checks``). The exit status makes it a CI gate: 0 when
every expectation is met, 1 when one is not (each unmet one is listed), 2 for a malformed world or
expectation (``WorldError``, with the file and line).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import attrs

from actors.runtime.network import Transport
from reports.run_reader import read_run
from scenarios.expectation_checks import Verdict, check_expectations
from scenarios.library import SCENARIOS, Scenario
from scenarios.runner import RunOptions, RunResult, run_scenario
from scenarios.world import World


@attrs.frozen(kw_only=True)
class CheckResult:
    world: World
    run: RunResult
    verdicts: tuple[Verdict, ...]

    @property
    def unmet(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if not v.met)

    @property
    def ok(self) -> bool:
        return not self.unmet


def scenario_for(world: World, name: str | None) -> Scenario:
    """The scenario named on the command line, else the world's own (``[scenario] name``)."""
    if name is not None:
        return SCENARIOS[name]
    if world.name not in SCENARIOS:
        raise world.error("scenario.name", f"no scenario {world.name!r} in the library (give --scenario, one of "
                                           f"{', '.join(sorted(SCENARIOS))})")
    return SCENARIOS[world.name]


def require_expectations(world: World) -> None:
    """A world to check must say what to expect (else ``check`` would pass vacuously)."""
    if not world.expectations:
        raise world.error("expectations", "the world file has no [[expectations]] to check")


def check_world(*, world: World, scenario: Scenario, transport: Transport, seed: int, out_dir: Path,
                progress: Callable | None = None) -> CheckResult:
    """Run ``scenario`` on ``world`` into ``out_dir`` and check every expectation of the world."""
    require_expectations(world)
    run = run_scenario(RunOptions(scenario=scenario, world=world, transport=transport, seed=seed, out_dir=out_dir,
                                  progress=progress))
    verdicts = check_expectations(world.expectations, record=read_run(out_dir), secrets=run.secrets)
    return CheckResult(world=world, run=run, verdicts=verdicts)


def verdict_line(verdict: Verdict, *, source: str) -> str:
    """``met    FILE:LINE  SENTENCE — OBSERVED`` (``UNMET`` when not met)."""
    x = verdict.expectation
    return f"{'met  ' if verdict.met else 'UNMET'}  {source}:{x.line}  {x.text} — {verdict.observed}"


def expectation_file(world: World, where: str) -> str:
    """The name of the file the expectation at ``where`` is written in (a base world's, if inherited)."""
    return Path(world.index.source_of(where) if world.index is not None else world.source).name


def report_lines(result: CheckResult) -> list[str]:
    """What ``trustbench check`` prints: the run, one line per expectation, the verdict."""
    source = Path(result.world.source).name
    passed = sum(1 for phase in result.run.phases if phase.ok)
    lines = [f"{source}: {result.world.name} run in {result.run.out_dir} ({passed}/{len(result.run.phases)} phases "
             f"passed)"]
    lines += [verdict_line(v, source=expectation_file(result.world, v.expectation.where)) for v in result.verdicts]
    met = len(result.verdicts) - len(result.unmet)
    if result.ok:
        lines.append(f"all {len(result.verdicts)} expectations met")
    else:
        lines.append(f"{len(result.unmet)} of {len(result.verdicts)} expectations UNMET ({met} met):")
        lines += [f"  {expectation_file(result.world, v.expectation.where)}:{v.expectation.line}: "
                  f"{v.expectation.where}: {v.expectation.text}" for v in result.unmet]
    return lines


def report_json(result: CheckResult) -> str:
    """``trustbench check --json``: one JSON object — ``ok``, the run, one entry per expectation."""
    return json.dumps({
        "ok": result.ok, "world_file": result.world.source, "scenario": result.world.name,
        "run_dir": str(result.run.out_dir), "phases_passed": sum(1 for p in result.run.phases if p.ok),
        "phases": len(result.run.phases),
        "expectations": [{"file": expectation_file(result.world, v.expectation.where), "line": v.expectation.line,
                          "where": v.expectation.where, "kind": v.expectation.kind,
                          "text": v.expectation.text, "met": v.met, "observed": v.observed} for v in result.verdicts],
    }, sort_keys=True, ensure_ascii=False)
