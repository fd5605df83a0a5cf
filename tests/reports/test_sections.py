"""What the report shows: header, one section per phase with its narrative and sequence diagram,
the layers with every decision, lineage, certification, incidents only when risk was scored."""

from __future__ import annotations

import json
import re

from reports import render_run
from tests.reports.synthetic import write_run, event, DAY0


def sections(html: str) -> list[str]:
    return re.findall(r'<section(?: class="[^"]*")? id="([^"]+)"', html)


def test_the_synthetic_report_has_every_section_in_order(synthetic):
    html = synthetic.html.read_text()
    assert sections(html) == ["summary", "setup", "phase-1", "phase-3", "phase-4", "phase-5", "phase-6", "phase-7",
                              "phase-8", "timeline", "lineage", "layers", "certification", "incidents", "findings",
                              "integrity", "audit-trail"]
    header = html.split('<div class="page">', 2)[1]
    for fact in ("synthetic", "Seed</dt><dd>7", "channel", "synthetic.toml", "sha256 abababababab",
                 "2025-01-06 08:00:00 → 2025-02-20 03:09:00"):
        assert fact in header, fact


def test_each_phase_tells_what_happened_and_draws_its_sequence(synthetic):
    html = synthetic.html.read_text()
    phase_3 = html.split('id="phase-3"', 1)[1].split("</section>", 1)[0]
    assert "fga denies viewer on pricing://executive-discounts — denied: no viewer relation" in phase_3
    assert "the vault hands sales-agent-prod-001 a short-lived token for salesforce" in phase_3
    assert 'data-chart="phase-3-sequence"' in phase_3
    svg = (synthetic.run_dir / "report-phase-3-sequence.svg").read_text()
    assert "#dc2626" in svg  # the denial is drawn red
    failed = html.split('id="phase-6"', 1)[1].split("</h2>", 1)[0]
    assert "did not meet the scenario" in failed


def test_every_decision_of_the_four_layers_is_listed_with_its_reason(synthetic):
    html = synthetic.html.read_text()
    layers = html.split('<section id="layers">', 1)[1].split("</section>", 1)[0]
    document = json.loads(synthetic.json.read_text())
    defence = {row["layer"] for row in document["summary"]["layers"] if row["defence"]}
    for decision in document["decisions"]:
        if decision["layer"] in defence:
            assert f'<td class="num">{decision["seq"]}</td>' in layers
            if decision["reason"]:
                assert decision["reason"] in layers


def test_lineage_certification_and_incident_are_reported(synthetic):
    document = json.loads(synthetic.json.read_text())
    kinds = [node["kind"] for node in document["tokens"]["nodes"]]
    assert {"id_token", "id_jag", "access_token", "vault_token", "approval_token"} <= set(kinds)
    assert len(document["tokens"]["edges"]) == 4
    assert [row["verdict"] for row in document["certifications"]] == ["certified"] * 4 + ["revoked"]
    (incident,) = document["incidents"]
    assert (incident["seconds_to_contain"], incident["records_read"], incident["peak_score"]) == (180, 350, 88.5)
    html = synthetic.html.read_text()
    incidents = html.split('<section id="incidents">', 1)[1].split("</section>", 1)[0]
    assert 'data-chart="risk"' in incidents and "3 min" in incidents and ">350<" in incidents


def test_the_incident_section_appears_only_when_risk_was_scored(tmp_path):
    quiet = [event(DAY0 + "09:00:00.000Z", "fga", "authz.allowed", agent="a", decision="allow"),
             event(DAY0 + "09:01:00.000Z", "discovery", "shadow_ai.discovered", agent="x", decision="flag",
                   risk="HIGH", score=100)]
    rendered = render_run(write_run(tmp_path / "quiet", quiet, phases=[]))
    html = rendered.html.read_text()
    assert 'id="incidents"' not in html and not (tmp_path / "quiet" / "report-risk.svg").exists()
    assert "Unregistered agent found: x" in html
    assert json.loads(rendered.json.read_text())["summary"]["incidents"] == 0


def test_markdown_links_every_chart_and_escapes_table_cells(synthetic):
    markdown = synthetic.markdown.read_text()
    for chart in synthetic.charts:
        assert f"]({chart.name})" in markdown
    assert "google-oauth2\\|1001" in markdown
