"""The ``traditional-vs-unified`` scenario: the whitepaper's table filled from measurements over both
transports, recorded in the audit log and report.json, deterministic, without secrets — and a
protection switched on in the traditional configuration changes the measured numbers.

The channel runs play every phase with two attacks of the library (the library's own tests cover
each attack); the HTTP run plays phases 1-7 (the drill's 1 000 reads stay on the channel run).
"""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import jsonschema
import pytest

from actors.audit_log import load_entries
from actors.runtime.network import Transport
from reports.comparison import table_from_entries
from scenarios.library import SCENARIOS
from scenarios.runner import RunOptions, RunResult, run_scenario
from scenarios.traditional import Protections
from scenarios.traditional import finish, scenario
from scenarios.world import load_world

SCHEMA = Path(__file__).resolve().parents[3] / "reports" / "report.schema.json"
ATTACKS = ("confused-deputy", "forged-jwt")
REPORTS = ("report.html", "report.md", "report.json", "comparison.json")


def run(out: Path, *, transport: Transport = Transport.CHANNEL, seed: int = 1, phases: tuple[int, ...] | None = None,
        attacks: tuple[str, ...] = ATTACKS, protections: Protections = Protections()) -> RunResult:
    spec = SCENARIOS["traditional-vs-unified"]
    world = load_world(spec.world_file)
    if phases is not None:
        world = attrs.evolve(world, phases=tuple(p for p in world.phases if p.number in phases))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(finish, "ATTACK_IDS", attacks)
        patch.setattr(scenario, "PROTECTIONS", protections)
        return run_scenario(RunOptions(scenario=spec, world=world, transport=transport, seed=seed, out_dir=out))


def table(result: RunResult) -> dict[str, dict]:
    return {row["row"]: row for row in json.loads((result.out_dir / "report.json").read_text())["comparison"]}


@pytest.fixture(scope="module")
def channel(tmp_path_factory) -> RunResult:
    return run(tmp_path_factory.mktemp("tvu-channel"))


def test_every_row_the_steps_measure_has_both_columns(channel: RunResult) -> None:
    assert channel.ok, [(p.number, p.outcome) for p in channel.phases if not p.ok]
    rows = table(channel)
    assert len(rows) == 12
    for key in finish.STEP_ROWS + ("audit", "documents", "mcp"):
        assert rows[key]["traditional"] is not None and rows[key]["unified"] is not None, key
    assert rows["user_auth"]["steps"] == ["step:phished-password"]  # the two attacks measure other rows
    assert rows["user_auth"]["traditional"]["unauthorised_actions"] == 1  # a session from the password alone
    assert rows["user_auth"]["unified"]["unauthorised_actions"] == 0  # the IdP wants the second factor
    assert "attack:forged-jwt" in rows["mcp"]["steps"] and "attack:confused-deputy" in rows["documents"]["steps"]


def test_the_drill_numbers_are_measured_not_declared(channel: RunResult) -> None:
    rows = table(channel)
    attack = load_world(SCENARIOS["traditional-vs-unified"].world_file).security.attack
    traditional, unified = rows["threats"]["traditional"], rows["threats"]["unified"]
    assert traditional["records_exposed"] >= attack.records and not traditional["contained"]
    assert 0 < unified["records_exposed"] < attack.records and unified["contained"]
    assert rows["incidents"]["unified"]["unauthorised_actions"] == 0
    assert rows["incidents"]["traditional"]["unauthorised_actions"] > 0
    assert rows["approval"]["traditional"]["unauthorised_actions"] >= 2
    assert rows["approval"]["unified"]["unauthorised_actions"] == 0
    assert rows["discovery"]["traditional"]["records_exposed"] > rows["discovery"]["unified"]["records_exposed"]
    audit = rows["audit"]
    assert audit["traditional"]["steps_logged"] < audit["traditional"]["steps_total"]  # scattered logs
    assert audit["unified"]["steps_total"] > 0


def test_the_table_comes_from_the_audit_log(channel: RunResult) -> None:
    entries = load_entries(channel.out_dir / "audit.sqlite")
    from_audit = table_from_entries(entries)
    assert from_audit == json.loads((channel.out_dir / "report.json").read_text())["comparison"]
    assert from_audit == json.loads((channel.out_dir / "comparison.json").read_text())["table"]
    document = json.loads((channel.out_dir / "report.json").read_text())
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(document)
    html = (channel.out_dir / "report.html").read_text()
    assert 'id="comparison-table"' in html and html.count('<tr id="comparison-') == 12


def test_each_traditional_system_kept_its_own_log(channel: RunResult) -> None:
    logs = sorted((channel.out_dir / "traditional").glob("legacy-*.log"))
    assert [p.name for p in logs] == [f"legacy-{n}.log" for n in ("crm", "docs", "login", "mail", "pricing")]
    crm = (channel.out_dir / "traditional" / "legacy-crm.log").read_text().splitlines()
    assert len(crm) > 500 and all("principal=" in line for line in crm)
    audit = (channel.out_dir / "audit.jsonl").read_text()
    assert '"actor":"legacy-crm"' not in audit  # nothing of the traditional stack is in the platform log


def test_no_secret_in_any_artefact(channel: RunResult) -> None:
    files = [channel.out_dir / name for name in REPORTS + ("audit.jsonl", "trustbench.log", "summary.md")]
    files += sorted((channel.out_dir / "traditional").glob("*.log"))
    texts = [path.read_text() for path in files]
    leaked = [(path.name, secret[:6]) for path, text in zip(files, texts) for secret in channel.secrets
              if len(secret) >= 8 and secret in text]
    assert not leaked


def test_same_seed_same_reports(channel: RunResult, tmp_path: Path) -> None:
    again = run(tmp_path / "again")
    for name in REPORTS:
        assert (again.out_dir / name).read_bytes() == (channel.out_dir / name).read_bytes(), name


def test_a_protection_switched_on_changes_the_measured_table(channel: RunResult, tmp_path: Path) -> None:
    protected = run(tmp_path / "protected", attacks=(), protections=Protections(
        crm_records_per_window=50, crm_approval_above_eur=100_000))
    before, after = table(channel), table(protected)
    assert after["threats"]["traditional"]["records_exposed"] < before["threats"]["traditional"]["records_exposed"]
    assert not after["threats"]["traditional"]["contained"]  # a rate limit slows the reading, contains nothing
    assert before["approval"]["steps"] == after["approval"]["steps"] == ["step:high-value-proposal"]
    assert (after["approval"]["traditional"]["unauthorised_actions"]
            == before["approval"]["traditional"]["unauthorised_actions"] - 1)  # the CRM refuses, the mail still goes
    assert after["threats"]["unified"] == before["threats"]["unified"]  # the unified side did not move


def test_http_transport_measures_the_same_steps(channel: RunResult, tmp_path: Path) -> None:
    http = run(tmp_path / "http", transport=Transport.HTTP, phases=(1, 2, 3, 4, 5, 6, 7))
    assert http.ok
    rows_http, rows_channel = table(http), table(channel)
    for key in ("discovery", "approval", "access_reviews"):
        for configuration in ("traditional", "unified"):
            assert rows_http[key][configuration] is not None, (key, configuration)
    for key, configuration in (("approval", "traditional"), ("approval", "unified"), ("access_reviews", "traditional"),
                               ("access_reviews", "unified"), ("discovery", "unified"), ("user_auth", "traditional"),
                               ("user_auth", "unified")):
        got, want = rows_http[key][configuration], rows_channel[key][configuration]
        assert (got["records_exposed"], got["unauthorised_actions"], got["steps_total"]) == (
            want["records_exposed"], want["unauthorised_actions"], want["steps_total"]), (key, configuration)
    assert rows_http["threats"]["traditional"] is None  # the drill is not part of this subset
    assert "not measured in this run" in (http.out_dir / "report.md").read_text()
