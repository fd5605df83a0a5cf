"""``report.json``: the machine-readable summary of a run, described by ``report.schema.json``.

Serialized with sorted keys and a fixed indent, so the same run gives the same bytes. Every count
in ``summary`` is derivable from the audit log alone (the tests recompute each one).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from reports.audit_fields import parse_time
from reports.charts import Chart
from reports.comparison import table_from_entries
from reports.lineage import TokenNode
from reports.report_model import PhaseSection, Report

SCHEMA_VERSION = 1


def _phase(phase: PhaseSection, charts: Mapping[str, Chart]) -> dict[str, Any]:
    chart = charts.get(phase.chart_key)
    return {
        "number": phase.number, "name": phase.name, "ok": phase.ok, "outcome": phase.outcome,
        "started_at": phase.started_at, "finished_at": phase.finished_at, "events": len(phase.entries),
        "allowed": phase.allowed, "denied": phase.denied,
        "actors": sorted({m.sender for m in phase.flow} | {m.receiver for m in phase.flow}),
        "narrative": phase.paragraph, "facts": dict(phase.facts), "chart": chart.file if chart else None,
    }


def _token(node: TokenNode) -> dict[str, Any]:
    return {"id": node.key, "kind": node.kind, "issuer": node.issuer, "holder": node.holder,
            "subject": node.subject, "seq": node.seq, "time": node.time, "event": node.event,
            "audience": node.audience, "scope": node.scope, "uses": node.uses, "revoked_seq": node.revoked_seq}


def report_document(report: Report, charts: Mapping[str, Chart]) -> dict[str, Any]:
    header, integrity = report.header, report.integrity
    by_severity = report.findings_by_severity()
    run_phases = report.run_phases
    period = (parse_time(header.finished) - parse_time(header.started)).total_seconds()
    comparison = table_from_entries(report.entries)
    document = {
        "schema_version": SCHEMA_VERSION,
        "run": {**attrs.asdict(header), "period_seconds": max(period, 0.0)},
        "integrity": {"ok": integrity.ok, "chain_ok": integrity.chain_ok, "entries": integrity.entries,
                      "broken_seq": integrity.broken_seq, "last_hash": integrity.last_hash,
                      "problems": list(integrity.problems)},
        "summary": {
            "events": report.events, "allowed": report.allowed, "denied": report.denied,
            "layers": [{"layer": layer.key, "label": layer.label, "defence": layer.defence, "counted": layer.counted,
                        "events": layer.events,
                        "allowed": layer.allowed, "denied": layer.denied} for layer in report.layers],
            "approvals": attrs.asdict(report.approvals),
            "incidents": len(report.incidents),
            "findings": {"total": len(report.findings), **by_severity},
            "phases": {"total": len(run_phases), "passed": sum(1 for p in run_phases if p.ok),
                       "failed": sum(1 for p in run_phases if not p.ok)},
            "tokens": len(report.lineage.nodes),
        },
        "phases": [_phase(phase, charts) for phase in report.phases],
        "decisions": sorted((attrs.asdict(row) for layer in report.layers for row in layer.decisions),
                           key=lambda row: row["seq"]),
        "tokens": {"nodes": [_token(node) for node in report.lineage.nodes],
                   "edges": [attrs.asdict(edge) for edge in report.lineage.edges]},
        "incidents": [{**attrs.asdict(i), "seconds_to_contain": i.seconds_to_contain,
                       "seconds_to_detect": i.seconds_to_detect, "seconds_from_first_read": i.seconds_from_first_read}
                      for i in report.incidents],
        "risk": [attrs.asdict(point) for point in report.risk],
        "certifications": [attrs.asdict(row) for row in report.certifications],
        "findings": [attrs.asdict(finding) for finding in report.findings],
        "charts": [{"file": chart.file, "title": chart.title} for chart in charts.values()],
    }
    if comparison is not None:
        document["comparison"] = comparison
    return document


def dump_document(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
