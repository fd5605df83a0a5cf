"""Helpers shared by the end-to-end scenario tests: run a library scenario on each transport, read its
audit log, scan its run directory for minted secrets."""

import json
from pathlib import Path

from actors.runtime.network import Transport
from scenarios.runner import RunOptions, RunResult, run_scenario


def run_on_each_transport(*, scenario, world, tmp_path_factory, label: str) -> dict[Transport, RunResult]:
    """One seed-1 run of ``scenario`` per transport, each in its own fresh directory."""
    return {t: run_scenario(RunOptions(scenario=scenario, world=world, transport=t, seed=1,
                                       out_dir=tmp_path_factory.mktemp(f"{label}-{t.value}")))
            for t in Transport}


def audit_entries(result: RunResult) -> list[dict]:
    """The run's audit log, one dict per ``audit.jsonl`` line."""
    return [json.loads(line) for line in (result.out_dir / "audit.jsonl").read_text().splitlines()]


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

