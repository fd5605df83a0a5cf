"""The scenario runner: builds a run's runtime and cast, plays the phases in simulated time and
writes the run directory (audit.sqlite, audit.jsonl, run.json, summary.md, trustbench.log).

Runs use trio's ``MockClock`` with autojump at threshold 0: the clock jumps as soon as every task
waits, so a run is deterministic and days pass in milliseconds. In HTTP runs the network holds the
clock back while a request or response is on the wire (``actors.runtime.network``, DESIGN.md §2, §3).
"""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import trio

from actors.audit_log import AuditLog, AuditStore, export_jsonl
from actors.runtime.clock import ScenarioClock
from actors.runtime.context import Runtime
from actors.runtime.logging import configure_logging
from actors.runtime.network import Network, Transport
from actors.runtime.scheduling import run_simulated
from actors.runtime.secrets import SecretRegistry
from scenarios.world import World
from scenarios.phase_result import PhaseResult
from scenarios.library import Scenario
from scenarios.summary import write_summary
from scenarios.progress import ProgressCallback, ProgressEvent
from reports import RenderedReport, render_run

RUN_FILES = ("audit.sqlite", "audit.sqlite-wal", "audit.sqlite-shm", "audit.jsonl", "run.json", "summary.md", "trustbench.log",
             "report.html", "report.md", "report.json", "vault.sqlite")


@attrs.frozen(kw_only=True)
class RunOptions:
    scenario: Scenario
    world: World
    transport: Transport
    seed: int
    out_dir: Path
    progress: ProgressCallback | None = None
    render: bool = True
    """Render the HTML/Markdown/JSON report after the run (tests that only read the run skip it)."""


@attrs.frozen(kw_only=True)
class RunResult:
    out_dir: Path
    phases: tuple[PhaseResult, ...]
    secrets: tuple[str, ...] = attrs.field(repr=False)
    report: RenderedReport | None = None

    @property
    def ok(self) -> bool:
        return all(phase.ok for phase in self.phases)


def run_scenario(options: RunOptions) -> RunResult:
    phases = options.scenario.phases
    missing = [phase for phase in options.world.phases if phase.number not in phases]
    if missing:
        raise options.world.error(f"{missing[0].where}.number", f"phase {missing[0].number} is not part of scenario "
                                  f"{options.scenario.name} (it has {', '.join(map(str, sorted(phases)))})")
    result = run_simulated(_run, options, seed=options.seed, autojump_threshold=0)
    return attrs.evolve(result, report=render_run(options.out_dir)) if options.render else result


def _prepare_out_dir(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in RUN_FILES:
        (out_dir / name).unlink(missing_ok=True)


async def _run(options: RunOptions) -> RunResult:
    world, out = options.world, options.out_dir
    _prepare_out_dir(out)
    clock = ScenarioClock.simulated(epoch=world.epoch)
    clock.start()
    secrets = SecretRegistry()
    store = AuditStore(path=out / "audit.sqlite")
    with (out / "trustbench.log").open("w", encoding="utf-8") as log_stream:
        configure_logging(clock=clock, secrets=secrets, stream=log_stream)
        audit = AuditLog(store=store, clock=clock, secrets=secrets)
        runtime = Runtime(seed=options.seed, clock=clock, network=Network(transport=options.transport),
                          secrets=secrets, audit=audit, data_dir=out)
        results: list[PhaseResult] = []
        async with trio.open_nursery() as nursery:
            await nursery.start(audit.run)
            cast = await options.scenario.start_cast(world=world, runtime=runtime, nursery=nursery)
            await audit.record(actor="runner", event="run.started", scenario=world.name, seed=options.seed,
                               transport=options.transport.value, world_sha256=world.sha256)
            for phase in world.phases:
                await clock.sleep_until(phase.at.timestamp())
                await audit.record(actor="runner", event="phase.started", phase=phase.number, name=phase.name)
                if options.progress:
                    options.progress(ProgressEvent(stage="phase.started", number=phase.number, name=phase.name,
                                                   at=clock.iso()))
                results.append(await options.scenario.phases[phase.number](cast, phase))
                await audit.record(actor="runner", event="phase.finished", decision="pass" if results[-1].ok else "fail",
                                   phase=phase.number)
                if options.progress:
                    options.progress(ProgressEvent(stage="phase.finished", number=phase.number, name=phase.name,
                                                   at=clock.iso(), ok=results[-1].ok, outcome=results[-1].outcome))
            await audit.record(actor="runner", event="run.finished",
                               decision="pass" if all(r.ok for r in results) else "fail",
                               phases=[r.number for r in results])
            nursery.cancel_scope.cancel()
    entries = store.entries()
    store.close()
    export_jsonl(entries, out / "audit.jsonl")
    metadata = {
        "scenario": world.name, "title": world.title, "seed": options.seed,
        "transport": options.transport.value, "world_file": Path(world.source).name,
        "world_sha256": world.sha256, "epoch": world.epoch.isoformat(),
        "started": entries[0].time, "finished": entries[-1].time, "audit_entries": len(entries),
        "phases": [attrs.asdict(r) for r in results],
    }
    (out / "run.json").write_text(secrets.redact_text(json.dumps(metadata, indent=2, sort_keys=True)) + "\n")
    write_summary(out / "summary.md", metadata=metadata, entries=entries, redact=secrets.redact_text)
    return RunResult(out_dir=out, phases=tuple(results), secrets=tuple(secrets))
