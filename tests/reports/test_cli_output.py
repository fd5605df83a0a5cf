"""``trustbench run`` output modes (progress, --quiet, --json) and ``trustbench report`` help; the
scenario itself is replaced by a finished synthetic run so these tests stay fast."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

import scenarios.runner
from scenarios.cli import main
from scenarios.phase_result import PhaseResult
from scenarios.progress import ConsoleProgress, ProgressEvent
from scenarios.runner import RunResult


@pytest.fixture
def fake_run(monkeypatch, synthetic):
    """``run_scenario`` that reports two phases through the progress callback and returns the synthetic run."""
    def run_scenario(options):
        phases = (PhaseResult(number=3, name="Context", ok=True, outcome="context assembled"),
                  PhaseResult(number=4, name="Cross-domain", ok=False, outcome="pricing refused"))
        for phase in phases:
            if options.progress:
                options.progress(ProgressEvent(stage="phase.started", number=phase.number, name=phase.name,
                                               at="2025-01-06T09:00:00.000Z"))
                options.progress(ProgressEvent(stage="phase.finished", number=phase.number, name=phase.name,
                                               at="2025-01-06T09:05:00.000Z", ok=phase.ok, outcome=phase.outcome))
        return RunResult(out_dir=synthetic.run_dir, phases=phases, secrets=(), report=synthetic)
    monkeypatch.setattr(scenarios.runner, "run_scenario", run_scenario)


def test_run_shows_each_phase_and_ends_with_the_report_path(capsys, fake_run, synthetic):
    code = main(["run", "sales-agent"])
    out = capsys.readouterr().out
    assert code == 1  # a phase failed
    lines = out.strip().splitlines()
    assert "✓ Phase 3 · Context" in out and "✗ Phase 4 · Cross-domain" in out and "pricing refused" in out
    assert "1/2 phases met the scenario" in out and "audit chain intact: 50 entries" in out
    assert lines[-1] == f"report: {synthetic.html}"


def test_run_quiet_prints_nothing(capsys, fake_run):
    assert main(["run", "sales-agent", "--quiet"]) == 1
    assert capsys.readouterr() == ("", "")


def test_run_json_prints_one_object(capsys, fake_run, synthetic):
    assert main(["run", "sales-agent", "--json"]) == 1
    out = capsys.readouterr().out
    assert len(out.strip().splitlines()) == 1
    summary = json.loads(out)
    assert summary["ok"] is False and summary["audit_verified"] is True
    assert [(p["number"], p["ok"]) for p in summary["phases"]] == [(3, True), (4, False)]
    assert summary["report"]["html"] == str(synthetic.html)


def test_quiet_and_json_exclude_each_other(capsys):
    assert main(["run", "sales-agent", "--quiet", "--json"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_report_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--help"])
    assert exit_info.value.code == 0
    assert "RUN_DIR" in capsys.readouterr().out


def test_console_progress_prints_plain_lines_without_a_terminal():
    stream = io.StringIO()
    progress = ConsoleProgress(console=Console(file=stream, width=100))
    progress(ProgressEvent(stage="phase.started", number=2, name="Sign-in", at="09:00"))
    progress(ProgressEvent(stage="phase.finished", number=2, name="Sign-in", at="09:01", ok=True, outcome="done [ok]"))
    progress.close()
    assert stream.getvalue().splitlines() == ["✓ Phase 2 · Sign-in 09:01", "  done [ok]"]
