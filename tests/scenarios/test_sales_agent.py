"""The sales-agent scenario over both transports: phase 2's sign-in, same decisions on both
transports, determinism, and no secret in any file of the run directory."""

import json

from protocols.audit_chain import AuditEntry
from tests.scenarios.conftest import run

RUN_FILES = ("audit.sqlite", "audit.jsonl", "run.json", "summary.md", "trustbench.log")


def audit_lines(result):
    return [json.loads(line) for line in (result.out_dir / "audit.jsonl").read_text().splitlines()]


def decisions(result):
    """What both transports must agree on: event names, actors, subjects, outcomes, reasons."""
    return [(e["event"], e["actor"], e["agent"], e["subject"], e["decision"], e["reason"]) for e in audit_lines(result)]


def test_phase_2_signs_sarah_in_through_google(channel_run):
    phase = next(p for p in channel_run.phases if p.number == 2)
    assert phase.ok and phase.number == 2
    facts = phase.facts
    assert facts["user"].startswith("google-oauth2|1")
    assert (facts["email"], facts["role"], facts["territory"]) == ("sarah.johnson@acmecorp.example", "sales_rep", "EMEA")
    assert set(facts["amr"].split()) == {"fed", "mfa"}
    events = [e["event"] for e in audit_lines(channel_run)]
    for expected in ("auth.login_succeeded", "federation.succeeded", "token.issued", "userinfo.served",
                     "agent.acting_for_user"):
        assert expected in events
    assert events.index("federation.succeeded") < events.index("agent.acting_for_user")


def test_both_transports_make_the_same_decisions(channel_run, http_run):
    assert http_run.ok and channel_run.ok
    assert decisions(http_run) == decisions(channel_run)


def test_same_seed_gives_byte_identical_audit(channel_run, tmp_path):
    again = run(tmp_path / "again")
    assert (again.out_dir / "audit.jsonl").read_bytes() == (channel_run.out_dir / "audit.jsonl").read_bytes()
    assert (again.out_dir / "summary.md").read_bytes() == (channel_run.out_dir / "summary.md").read_bytes()


def test_different_seed_gives_different_keys_and_ids(channel_run, tmp_path):
    other = run(tmp_path / "seed2", seed=2)
    mine, theirs = (next(p for p in r.phases if p.number == 2) for r in (channel_run, other))
    assert theirs.facts["ID token kid"] != mine.facts["ID token kid"]
    assert theirs.facts["user"] != mine.facts["user"]
    assert set(other.secrets).isdisjoint(channel_run.secrets)


def test_run_directory_holds_every_artefact(channel_run):
    for name in RUN_FILES:
        assert (channel_run.out_dir / name).stat().st_size > 0, name
    meta = json.loads((channel_run.out_dir / "run.json").read_text())
    assert (meta["scenario"], meta["seed"], meta["transport"]) == ("sales-agent", 1, "channel")
    assert all(AuditEntry.from_json(line).computed_hash() == line["hash"] for line in audit_lines(channel_run))


def test_no_minted_secret_reaches_any_file(channel_run, http_run):
    for result in (channel_run, http_run):
        secrets = list(result.secrets)
        kinds = len(secrets)
        assert kinds >= 10  # passwords, private keys, state, nonce, verifiers, codes, assertions, tokens
        for path in result.out_dir.iterdir():
            data = path.read_bytes()
            leaked = [s[:6] + "…" for s in secrets if s.encode() in data]
            assert leaked == [], f"{path.name} contains secrets {leaked}"
