"""A report re-rendered from tampered evidence says so at the top, and ``trustbench report`` exits 1;
a directory that is not a finished run gives one line and exit 2."""

from __future__ import annotations

import json
import sqlite3

import pytest

from reports.integrity import run_started_details
from scenarios.cli import main
from tests.reports.helpers import entry


def report_cli(capsys, run_dir):
    code = main(["report", str(run_dir)])
    out, err = capsys.readouterr()
    return code, out, err


def test_an_intact_run_reports_cleanly(capsys, sales, copy_of):
    run_dir = copy_of(sales.out_dir)
    code, out, err = report_cli(capsys, run_dir)
    assert code == 0 and err == ""
    assert f"report: {run_dir / 'report.html'}" in out
    html = (run_dir / "report.html").read_text()
    assert 'id="integrity-alert"' not in html and "TAMPERED" not in html
    assert json.loads((run_dir / "report.json").read_text())["integrity"]["ok"] is True


def tamper_decision(run_dir):
    with sqlite3.connect(run_dir / "audit.sqlite") as db:
        db.execute("UPDATE audit_entries SET decision = 'deny' WHERE seq = 3")


def delete_last_entry(run_dir):
    with sqlite3.connect(run_dir / "audit.sqlite") as db:
        db.execute("DELETE FROM audit_entries WHERE seq = (SELECT MAX(seq) FROM audit_entries)")


def change_run_json_seed(run_dir):
    meta = json.loads((run_dir / "run.json").read_text())
    meta["seed"] = 99
    (run_dir / "run.json").write_text(json.dumps(meta))


def edit_jsonl(run_dir):
    lines = (run_dir / "audit.jsonl").read_text().splitlines()
    lines[1] = lines[1].replace('"runner"', '"someone"')
    (run_dir / "audit.jsonl").write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("tamper,fragment", [
    (tamper_decision, "entry 3"),
    (delete_last_entry, "run.json recorded"),
    (change_run_json_seed, "run.json seed 99"),
])
def test_tampered_evidence_is_flagged_at_the_top_and_exits_1(capsys, sales, copy_of, tamper, fragment):
    run_dir = copy_of(sales.out_dir)
    tamper(run_dir)
    code, _, err = report_cli(capsys, run_dir)
    assert code == 1
    assert err.startswith("AUDIT LOG TAMPERED") and fragment in err and len(err.strip().splitlines()) == 1
    html = (run_dir / "report.html").read_text()
    body = html.split("<body>", 1)[1].lstrip()
    assert body.startswith('<div class="tamper" role="alert" id="integrity-alert">')
    assert "AUDIT LOG TAMPERED" in body[:300] and fragment in body[:1500]
    assert (run_dir / "report.md").read_text().startswith("> **⚠ AUDIT LOG TAMPERED")
    integrity = json.loads((run_dir / "report.json").read_text())["integrity"]
    assert integrity["ok"] is False and any(fragment in problem for problem in integrity["problems"])


def test_a_jsonl_export_that_disagrees_with_the_database_is_flagged(synthetic, copy_of, capsys):
    run_dir = copy_of(synthetic.run_dir)
    edit_jsonl(run_dir)
    code, _, err = report_cli(capsys, run_dir)
    assert code == 1 and "audit.jsonl line 2 differs" in err


def garbage_database(run_dir):
    (run_dir / "audit.sqlite").write_bytes(b"definitely not sqlite" * 100)
    (run_dir / "run.json").write_text("{}")
    return run_dir


def database_without_run_json(run_dir):
    sqlite3.connect(run_dir / "audit.sqlite").close()
    return run_dir


def unreadable_run_json(run_dir):
    (run_dir / "audit.sqlite").write_bytes(b"")
    (run_dir / "run.json").write_text("{not json")
    return run_dir


@pytest.mark.parametrize("prepare,fragment", [
    (lambda d: d / "missing", "no such run directory"),
    (lambda d: d, "not a run directory (no audit.sqlite)"),
    (garbage_database, "unreadable audit database"),
    (database_without_run_json, "not a finished run (no run.json)"),
    (unreadable_run_json, "unreadable run metadata"),
])
def test_a_bad_run_dir_gives_one_line_and_exit_2(capsys, tmp_path, prepare, fragment):
    run_dir = prepare(tmp_path)
    code, out, err = report_cli(capsys, run_dir)
    assert code == 2 and out == ""
    assert fragment in err and len(err.strip().splitlines()) == 1


def test_run_started_details_are_read_flat_and_from_older_nested_runs():
    header = {"scenario": "sales-agent", "seed": 1, "transport": "channel", "world_sha256": "ab" * 32}
    flat = entry("run.started", actor="runner", **header)
    nested = entry("run.started", actor="runner", details=header)  # run directories written before the flattening
    assert run_started_details((flat,)) == run_started_details((nested,)) == header
