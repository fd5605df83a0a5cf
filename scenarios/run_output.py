"""What ``trustbench run`` prints once the run and its reports are written.

The default is a short verdict and the paths (the report's last); ``--json`` prints one JSON object
for CI instead: ``ok``, the run directory, each phase's outcome, the report files and the audit
verdict. Neither prints anything from the run that the report itself would not show.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape

from scenarios.runner import RunResult


def run_summary(result: RunResult) -> dict[str, Any]:
    report = result.report
    return {
        "ok": result.ok and report is not None and report.ok,
        "run_dir": str(result.out_dir),
        "phases": [{"number": p.number, "name": p.name, "ok": p.ok, "outcome": p.outcome} for p in result.phases],
        "audit_verified": report is not None and report.ok,
        "audit_problems": list(report.integrity.problems) if report else [],
        "report": {"html": str(report.html), "markdown": str(report.markdown), "json": str(report.json)}
        if report else None,
    }


def run_json(result: RunResult) -> str:
    return json.dumps(run_summary(result), sort_keys=True)


def print_run(result: RunResult, *, console: Console) -> None:
    passed = sum(1 for phase in result.phases if phase.ok)
    report = result.report
    verdict = "[bold green]✓[/bold green]" if result.ok else "[bold red]✗[/bold red]"
    console.print(f"{verdict} {passed}/{len(result.phases)} phases met the scenario")
    if report is not None:
        if report.ok:
            console.print(f"  audit chain intact: {report.integrity.entries} entries")
        else:
            console.print(f"[bold red]  audit evidence failed verification:[/bold red] "
                          f"{escape('; '.join(report.integrity.problems))}")
    console.print(f"run directory: {escape(str(result.out_dir))}", highlight=False, soft_wrap=True)
    if report is not None:
        console.print(f"markdown: {escape(str(report.markdown))} · json: {escape(str(report.json))}", highlight=False,
                      soft_wrap=True)
        console.print(f"report: [bold]{escape(str(report.html))}[/bold]", highlight=False, soft_wrap=True)
