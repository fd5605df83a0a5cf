"""Render a finished run directory into ``report.html``, ``report.md``, ``report.json`` and the
``report-*.svg`` charts beside them (the HTML inlines the same SVG and needs no other file).

The templates (``reports/templates/``, package data) are Jinja2 with strict undefined variables;
HTML is autoescaped, Markdown table cells go through the ``md`` filter. Nothing depends on the
wall clock or the machine: the same run renders to the same bytes.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import attrs
import jinja2

from protocols.audit_chain import AuditEntry
from reports.audit_fields import day_time_label, duration_label
from reports.charts import CHART_PREFIX, Chart, build_charts
from reports.classification import counted_outcome
from reports.comparison import table_from_entries, table_view
from reports.integrity import Integrity
from reports.lineage_graph import kind_name
from reports.report_json import dump_document, report_document
from reports.report_model import Report, build_report
from reports.run_reader import read_run

HTML_FILE, MARKDOWN_FILE, JSON_FILE = "report.html", "report.md", "report.json"
DETAILS_LIMIT = 400


@attrs.frozen(kw_only=True)
class RenderedReport:
    run_dir: Path
    html: Path
    markdown: Path
    json: Path
    charts: tuple[Path, ...]
    integrity: Integrity

    @property
    def ok(self) -> bool:
        return self.integrity.ok


def _md(value: Any) -> str:
    """Text safe inside a Markdown table cell or paragraph: no pipes, newlines or raw HTML."""
    text = "" if value is None else str(value)
    for char, escaped in (("\\", "\\\\"), ("|", "\\|"), ("<", "\\<"), (">", "\\>"), ("*", "\\*"), ("_", "\\_"),
                          ("`", "\\`")):
        text = text.replace(char, escaped)
    return " ".join(text.split())


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def _compact(details: dict[str, Any]) -> str:
    text = json.dumps(details, sort_keys=True, separators=(", ", ": "), ensure_ascii=False)
    return text if len(text) <= DETAILS_LIMIT else text[: DETAILS_LIMIT - 1] + "…"


def _outcome(entry: AuditEntry) -> str:
    return counted_outcome(entry) or ""


@functools.cache
def environment() -> jinja2.Environment:
    """The template environment, built once per process (compiled templates are cached in it)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("reports", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(md=_md, when=day_time_label, duration=duration_label, number=_number, compact=_compact,
                       outcome=_outcome, kind=kind_name)
    return env


def _context(report: Report, charts: dict[str, Chart], document: dict[str, Any]) -> dict[str, Any]:
    parents: dict[str, list[str]] = {node.key: [] for node in report.lineage.nodes}
    for edge in report.lineage.edges:
        parents[edge.child].append(f"#{edge.parent}")
    return {"report": report, "header": report.header, "integrity": report.integrity, "charts": charts,
            "summary": document["summary"], "parents": parents,
            "certification": {verdict: sum(1 for row in report.certifications if row.verdict == verdict)
                              for verdict in ("certified", "revoked")},
            "comparison": table_view(table_from_entries(report.entries))}


def _write(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write(text)


def render_report(report: Report, run_dir: Path) -> RenderedReport:
    charts = build_charts(report)
    wanted = {chart.file for chart in charts.values()}
    for stale in sorted(run_dir.glob(f"{CHART_PREFIX}*.svg")):
        if stale.name not in wanted:
            stale.unlink()
    for chart in charts.values():
        _write(run_dir / chart.file, chart.svg)
    document = report_document(report, charts)
    env, context = environment(), _context(report, charts, document)
    _write(run_dir / HTML_FILE, env.get_template("report.html.j2").render(context))
    _write(run_dir / MARKDOWN_FILE, env.get_template("report.md.j2").render(context))
    _write(run_dir / JSON_FILE, dump_document(document))
    return RenderedReport(run_dir=run_dir, html=run_dir / HTML_FILE, markdown=run_dir / MARKDOWN_FILE,
                          json=run_dir / JSON_FILE, charts=tuple(run_dir / chart.file for chart in charts.values()),
                          integrity=report.integrity)


def render_run(run_dir: Path | str) -> RenderedReport:
    """Read ``run_dir`` (``ReportInputError`` if it is not a finished run) and write its reports."""
    run_dir = Path(run_dir)
    return render_report(build_report(read_run(run_dir)), run_dir)
