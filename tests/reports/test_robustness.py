"""Events the report does not know, or with odd details, never break rendering."""

from __future__ import annotations

import json

import pytest

from reports import render_run
from tests.reports.synthetic import DAY0, event, write_run

ODD = [
    event(DAY0 + "09:00:00.000Z", "x", "unknown.thing", decision="maybe", jti=12, score="high", peer="http://a/b",
          details_are="fine"),
    event(DAY0 + "09:00:01.000Z", "x", "risk.scored", agent="a", score=5, threshold="70"),
    event(DAY0 + "09:00:02.000Z", "x", "token.issued", jti=["a"], parent_jti={"x": 1}, kind=7, family=3),
    event(DAY0 + "09:00:03.000Z", "x|y", "authz.denied", decision="deny", reason="a | b\nc <script>x</script>",
          object="o", relation="r"),
    event("not a time", "x", "phase.started", phase="2"),
    event(DAY0 + "09:00:05.000Z", "x", "certification.revoked", decision="revoke", entitlements=[1, None]),
    event(DAY0 + "09:00:06.000Z", "x", "agent.suspended", agent="a", records_read="many"),
]


def test_odd_events_render_and_html_is_escaped(tmp_path):
    rendered = render_run(write_run(tmp_path / "odd", ODD, phases=[(2, "Two", True)]))
    html = rendered.html.read_text()
    assert "<script>x</script>" not in html and "&lt;script&gt;" in html
    assert rendered.ok
    document = json.loads(rendered.json.read_text())
    assert document["summary"]["denied"] == 2  # authz.denied and certification.revoked (no decision: not counted)
    assert "a \\| b c \\<script\\>x\\</script\\>" in rendered.markdown.read_text()


def test_an_empty_log_renders(tmp_path):
    rendered = render_run(write_run(tmp_path / "empty", [], phases=[]))
    assert rendered.ok and "No finding" in rendered.html.read_text()
    assert [chart.name for chart in rendered.charts] == ["report-layers.svg"]


@pytest.mark.parametrize("metadata", [{"phases": "nope"}, {"phases": [1, {"number": "x"}]}, {}])
def test_odd_run_metadata_renders(tmp_path, metadata):
    run_dir = write_run(tmp_path / "meta", ODD[:2], phases=[])
    (run_dir / "run.json").write_text(json.dumps(metadata))
    rendered = render_run(run_dir)
    assert rendered.html.read_text().count("<section") >= 5
