"""Helpers shared by the end-to-end scenario tests: run a library scenario on each transport, read its
audit log, scan its run directory for minted secrets, check its world's expectations."""

import json
from pathlib import Path

from actors.runtime.network import Transport
from reports.run_reader import read_run
from scenarios.check import CheckResult, check_world
from scenarios.expectation_checks import check_expectations
from scenarios.runner import RunOptions, RunResult, run_scenario
from scenarios.world import parse_world


def run_on_each_transport(*, scenario, world, tmp_path_factory, label: str) -> dict[Transport, RunResult]:
    """One seed-1 run of ``scenario`` per transport, each in its own fresh directory."""
    return {t: run_scenario(RunOptions(scenario=scenario, world=world, transport=t, seed=1,
                                       out_dir=tmp_path_factory.mktemp(f"{label}-{t.value}")))
            for t in Transport}


def audit_entries(result: RunResult) -> list[dict]:
    """The run's audit log, one dict per ``audit.jsonl`` line."""
    return [json.loads(line) for line in (result.out_dir / "audit.jsonl").read_text().splitlines()]



def decisions(result: RunResult, *, where=lambda entry: True) -> list[tuple]:
    """(event, actor, agent, subject, decision, reason) of every audit entry ``where`` keeps, in log
    order: what both transports must agree on."""
    return [(e["event"], e["actor"], e["agent"], e["subject"], e["decision"], e["reason"])
            for e in audit_entries(result) if where(e)]

def audit_bytes(result: RunResult) -> bytes:
    return (result.out_dir / "audit.jsonl").read_bytes()


def rerun_audit_bytes(*, scenario, world, out_dir: Path) -> bytes:
    """The ``audit.jsonl`` bytes of a fresh seed-1 channel run (no report rendered)."""
    return audit_bytes(run_scenario(RunOptions(scenario=scenario, world=world, transport=Transport.CHANNEL,
                                               seed=1, out_dir=out_dir, render=False)))


def secrets_in_run_files(result: RunResult) -> list[tuple[str, str]]:
    """(file name, first six characters) of every secret the run minted that some file of its directory holds."""
    return [(path.name, secret[:6])
            for path in sorted(result.out_dir.iterdir()) if path.is_file()
            for data in [path.read_bytes()]
            for secret in result.secrets if secret.encode() in data]



def unmet_expectations(result: RunResult, *, world) -> tuple[list[str], int]:
    """The ``[[expectations]]`` of ``world`` the finished run does not meet, and how many were checked."""
    verdicts = check_expectations(world.expectations, record=read_run(result.out_dir), secrets=result.secrets)
    return [v.expectation.text for v in verdicts if not v.met], len(verdicts)


def check_edited_world(*, scenario, text: str, out_dir: Path) -> CheckResult:
    """``trustbench check`` (seed 1, channel) of the scenario run with ``text`` as its world file."""
    world = parse_world(text, source=str(out_dir / "edited.toml"))
    return check_world(world=world, scenario=scenario, transport=Transport.CHANNEL, seed=1, out_dir=out_dir / "run")
