"""The financial RAG scenario end to end over both transports: Alice (retail) and Bob (energy) ask
the same question of the same agent; FGA, applied to each *user*, lets only their division's report
chunks reach the model; every allow/deny is audited with its reason; no other division's text or
figure is anywhere in the run directory; both transports decide the same."""

import json

import pytest

from actors.runtime.network import Transport
from scenarios.library import SCENARIOS
from scenarios.world import load_world
from tests.scenarios.run_helpers import (
    audit_bytes, audit_entries, check_edited_world, decisions, rerun_audit_bytes, run_on_each_transport, secrets_in_run_files,
    unmet_expectations,
)

SCENARIO = SCENARIOS["financial-rag"]
WORLD = load_world(SCENARIO.world_file)
DIVISION = {r.id: r.division for r in WORLD.rag.reports}
# Words and figures that occur in one division's reports only.
MARKERS = {"logistics": ("96.3 million", "Kestrel", "88.1 million", "fuel surcharges"),
           "energy": ("412.7 million", "Brennholz", "Tarvos", "Nordwind", "398.0 million"),
           "retail": ("184.2 million", "loyalty programme", "171.5 million", "Like-for-like")}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return run_on_each_transport(scenario=SCENARIO, world=WORLD, tmp_path_factory=tmp_path_factory,
                                 label="financial-rag")


def test_markers_are_real_report_text():
    for division, words in MARKERS.items():
        texts = " ".join(r.text for r in WORLD.rag.reports if r.division == division)
        others = " ".join(r.text for r in WORLD.rag.reports if r.division != division)
        assert all(w in texts and w not in others for w in words), division


@pytest.mark.parametrize("transport", list(Transport), ids=lambda t: t.value)
def test_each_user_gets_only_their_division(runs, transport):
    result = runs[transport]
    assert result.ok, [p.outcome for p in result.phases]
    _, alice, bob = result.phases
    for phase, division in ((alice, "retail"), (bob, "energy")):
        sources = phase.facts["context sources"].split(", ")
        assert sources and {DIVISION[s.partition("#")[0]] for s in sources} == {division}
        assert phase.facts["other divisions' chunks in context or answer"] == 0
        assert phase.facts["reports withheld by FGA"] == 4
        answer = phase.facts["answer"]
        assert any(m in answer for m in MARKERS[division])
        assert not any(m in answer for d, words in MARKERS.items() if d != division for m in words)


@pytest.mark.parametrize("transport", list(Transport), ids=lambda t: t.value)
def test_no_other_division_text_in_any_file(runs, transport):
    result = runs[transport]
    files = {p.name: p.read_bytes().decode("utf-8", "replace") for p in result.out_dir.iterdir() if p.is_file()}
    assert {"audit.jsonl", "run.json", "summary.md", "report.html", "report.md", "report.json"} <= set(files)
    for name, text in files.items():
        assert not [m for m in MARKERS["logistics"] if m in text], name   # nobody in the run may read logistics
    # Alice's phase (its facts, as recorded) holds nothing of energy or logistics.
    alice = json.loads(files["run.json"])["phases"][1]
    assert not [m for d in ("energy", "logistics") for m in MARKERS[d] if m in json.dumps(alice)]


@pytest.mark.parametrize("transport", list(Transport), ids=lambda t: t.value)
def test_every_fga_decision_is_audited_with_its_reason(runs, transport):
    lines = audit_entries(runs[transport])
    for user, division in (("user:alice", "retail"), ("user:bob", "energy")):
        decided = {e["details"]["object"]: e for e in lines
                   if e["event"] in ("rag.report_allowed", "rag.report_denied") and e["details"]["user"] == user}
        assert set(decided) == {f"report:{r}" for r in DIVISION}          # every report decided once
        for obj, entry in decided.items():
            expected = "allow" if DIVISION[obj.partition(":")[2]] == division else "deny"
            assert entry["decision"] == expected and entry["reason"].startswith("pre-filter")
            assert entry["agent"] == "finance-rag-agent"                  # the agent is recorded, not checked
        checks = [e for e in lines if e["actor"] == "fga" and e["event"].startswith("authz.") and e["subject"] == user]
        assert checks and all(e["reason"] for e in checks)
        assert {e["details"].get("query") for e in checks} == {"list_objects", "check"}
        assert all(e["decision"] == "allow" for e in checks if e["details"].get("query") == "check")
    report = json.loads((runs[transport].out_dir / "report.json").read_text())
    fga = [d for d in report["decisions"] if d["event"].startswith("rag.report_denied")]
    assert len(fga) == 8 and all(d["reason"] for d in fga)


def test_both_transports_make_the_same_decisions(runs):
    def made(result):
        return decisions(result, where=lambda e: e["event"].startswith(("rag.", "authz.", "agent.rag")))
    assert made(runs[Transport.CHANNEL]) == made(runs[Transport.HTTP])


def test_no_minted_secret_reaches_any_file(runs):
    for result in runs.values():
        assert secrets_in_run_files(result) == []


def test_same_seed_same_audit_bytes(runs, tmp_path):
    again = rerun_audit_bytes(scenario=SCENARIO, world=WORLD, out_dir=tmp_path)
    assert again == audit_bytes(runs[Transport.CHANNEL])


def test_the_shipped_expectations_hold_and_a_leaky_world_fails_them(runs, tmp_path):
    unmet, checked = unmet_expectations(runs[Transport.CHANNEL], world=WORLD)
    assert unmet == [] and checked >= 8
    # Alice wrongly made a member of the energy division: energy chunks reach her context, and it shows.
    text = SCENARIO.world_file.read_text()
    leaky = text.replace('  { user = "user:bob", relation = "member", object = "division:energy" },\n',
                         '  { user = "user:bob", relation = "member", object = "division:energy" },\n'
                         '  { user = "user:alice", relation = "member", object = "division:energy" },\n')
    assert leaky != text
    result = check_edited_world(scenario=SCENARIO, text=leaky, out_dir=tmp_path)
    assert not result.ok
    unmet = {v.expectation.text for v in result.verdicts if not v.met}
    assert "no chunk of another division reaches the model for Alice" in unmet
    assert "the energy division's Q3 report is withheld from Alice before the search" in unmet
