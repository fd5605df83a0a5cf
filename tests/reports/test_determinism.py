"""Same seed ⇒ byte-identical report files (HTML, Markdown, JSON, every SVG); re-rendering a run
changes nothing; charts carry no timestamp."""

from __future__ import annotations

from pathlib import Path

from reports import render_run
from tests.reports.synthetic import write_run


def report_files(run_dir: Path) -> list[str]:
    return sorted(path.name for path in run_dir.iterdir() if path.name.startswith("report"))


def test_two_runs_with_the_same_seed_give_byte_identical_reports(sales, sales_again):
    assert (sales.out_dir / "audit.jsonl").read_bytes() == (sales_again.out_dir / "audit.jsonl").read_bytes(), \
        "the run itself differs between two runs with the same seed (audit.jsonl), before any report"
    names = report_files(sales.out_dir)
    assert {"report.html", "report.md", "report.json"} <= set(names)
    assert sum(name.endswith(".svg") for name in names) >= 3
    assert report_files(sales_again.out_dir) == names
    differing = [name for name in names
                 if (sales.out_dir / name).read_bytes() != (sales_again.out_dir / name).read_bytes()]
    assert differing == []


def test_re_rendering_a_run_gives_the_same_bytes(synthetic, copy_of):
    again = copy_of(synthetic.run_dir)
    before = {name: (again / name).read_bytes() for name in report_files(again)}
    render_run(again)
    assert {name: (again / name).read_bytes() for name in report_files(again)} == before


def test_svg_charts_carry_no_date_and_salted_ids(synthetic):
    for chart in synthetic.charts:
        svg = chart.read_text()
        assert svg.startswith("<?xml") and "<dc:date>" not in svg, chart.name
        assert "Date" not in svg.split("</metadata>")[0].split("<metadata>")[-1], chart.name


def test_a_chart_no_longer_drawn_is_removed(synthetic, copy_of):
    again = copy_of(synthetic.run_dir)
    (again / "report-phase-99-sequence.svg").write_text("<svg/>")
    rendered = render_run(again)
    assert not (again / "report-phase-99-sequence.svg").exists()
    assert sorted(p.name for p in again.glob("report-*.svg")) == sorted(p.name for p in rendered.charts)


def test_the_same_evidence_written_twice_renders_byte_identically(synthetic, tmp_path):
    again = render_run(write_run(tmp_path / "again"))
    names = report_files(synthetic.run_dir)
    assert report_files(again.run_dir) == names and len(names) >= 10
    assert [n for n in names if (synthetic.run_dir / n).read_bytes() != (again.run_dir / n).read_bytes()] == []
