"""``trustbench check``: expectations checked against a finished run's evidence (issue 11).

Each kind is checked on a small hand-written audit log (met and unmet); then the shipped world
files pass end to end, and a deliberately changed copy fails naming the unmet expectation."""

import contextlib
import io
import json
import re
from pathlib import Path

import pytest

from actors.runtime.network import Transport
from protocols.audit_chain import AuditEntry
from reports.run_reader import RunRecord, read_run
from scenarios.check import check_world, report_lines
from scenarios.cli import main
from scenarios.expectation_checks import check_expectations
from scenarios.library import SCENARIOS
from scenarios.world import WORLDS_DIR, load_world, parse_world

PROCUREMENT = (WORLDS_DIR / "procurement.toml").read_text()
BASE = PROCUREMENT[:PROCUREMENT.index("# --- Expectations")]


def _entry(seq, event, *, actor="idp", agent="agent-1", subject=None, decision=None, reason=None, time=None,
           **details):
    return AuditEntry(seq=seq, time=time or f"2025-01-06T09:00:{seq:02d}.000Z", actor=actor, event=event,
                      agent=agent, subject=subject, decision=decision, reason=reason, details=details)


ENTRIES = (
    _entry(1, "authz.allowed", actor="fga", subject="user:tom", decision="allow",
           object="resource:crm/contacts/acme-corp", relation="viewer"),
    _entry(2, "authz.denied", actor="fga", subject="user:tom", decision="deny", reason="denied: not viewer",
           object="resource:finance/internal-costs", relation="viewer"),
    _entry(3, "id_jag.issued", decision="allow", scope="pricing:read"),
    _entry(4, "id_jag.denied", decision="deny", scope="pricing:write", reason="invalid_scope"),
    _entry(5, "ciba.requested", decision="allow", txn="t1",
           authorization_details=[{"type": "purchase_approval", "amount": "5000.00", "currency": "EUR"}]),
    _entry(6, "ciba.approved", decision="allow", txn="t1"),
    _entry(7, "ciba.requested", decision="allow", txn="t2",
           authorization_details=[{"type": "purchase_approval", "amount": "2400.00", "currency": "EUR"}]),
    _entry(8, "ciba.expired_token", decision="deny", reason="expired_token"),
    _entry(9, "risk.scored", actor="threat-detection", decision="HIGH", score=70, threshold=60),
    _entry(10, "incident.contained", actor="incident-response", decision="contained", records_read=17,
           reads_began_at="2025-01-06T08:59:30.000Z", containment=True, time="2025-01-06T09:02:09.000Z"),
)
METADATA = {"phases": [{"number": 1, "ok": True, "outcome": "done", "facts": {"failed": 0, "contained after": "22 s"}},
                       {"number": 2, "ok": False, "outcome": "broken", "facts": {}}]}


def _verdicts(block: str, *, entries=ENTRIES, tmp_path=None):
    world = parse_world(BASE + "\n" + block, source=str(WORLDS_DIR / "w.toml"))
    record = RunRecord(run_dir=tmp_path or Path("."), metadata=METADATA, entries=entries, jsonl_lines=None)
    return check_expectations(world.expectations, record=record)


def _x(kind: str, **fields) -> str:
    lines = [f'{k} = {v!r}'.replace("'", '"') for k, v in fields.items()]
    return "[[expectations]]\n" + f'kind = "{kind}"\n' + "\n".join(lines) + "\n"


@pytest.mark.parametrize(("kind", "fields", "met"), [
    ("access", {"user": "tom", "resource": "crm://contacts/acme-corp", "decision": "allow"}, True),
    ("access", {"user": "tom", "resource": "crm://contacts/acme-corp", "decision": "deny"}, False),
    ("access", {"user": "tom", "object": "resource:finance/internal-costs", "decision": "deny"}, True),
    ("access", {"user": "maria", "resource": "crm://contacts/acme-corp", "decision": "allow"}, False),  # never checked
    ("scope", {"scope": "pricing:write", "decision": "refused"}, True),
    ("scope", {"scope": "pricing:read", "decision": "refused"}, False),
    ("scope", {"scope": "pricing:read", "decision": "granted"}, True),
    ("scope", {"scope": "pricing:admin", "decision": "refused"}, False),  # never asked for: not shown refused
    ("approval", {"amount": "5000.00", "outcome": "approved"}, True),
    ("approval", {"amount": 5000, "outcome": "denied"}, False),
    ("approval", {"amount": "2400", "outcome": "expired"}, True),
    ("approval", {"amount": "2400", "outcome": "requested"}, True),
    ("approval", {"amount": "999", "outcome": "not_requested"}, True),
    ("approval", {"amount": "5000", "outcome": "not_requested"}, False),
    ("approval", {"amount": "5000", "outcome": "approved", "currency": "USD"}, False),
    ("containment", {"within": 300}, True),
    ("containment", {"within": 60}, False),  # detected 09:00:09, contained 09:02:09: 120 s
    ("containment", {"within": 150}, True),
    ("containment", {"within": 150, "measured_from": "first_read"}, False),  # reads began 08:59:30: 159 s
    ("containment", {"within": 160, "measured_from": "first_read"}, True),
    ("containment", {"within": 300, "max_records": 10}, False),
    ("phase", {"phase": 1}, True),
    ("phase", {"phase": 2}, False),
    ("phase", {"phase": 2, "outcome": "fail"}, True),
    ("phase", {"phase": 3}, False),  # did not run
    ("fact", {"phase": 1, "fact": "failed", "equals": 0}, True),
    ("fact", {"phase": 1, "fact": "failed", "equals": 1}, False),
    ("fact", {"phase": 1, "fact": "contained after", "at_most": 30}, True),
    ("fact", {"phase": 1, "fact": "contained after", "at_most": 20}, False),
    ("fact", {"phase": 1, "fact": "absent", "equals": "x"}, False),
    ("event", {"event": "ciba.*"}, True),
    ("event", {"event": "ciba.requested", "at_least": 3}, False),
    ("event", {"event": "action.executed", "at_most": 0}, True),
    ("event", {"event": "id_jag.denied", "reason_contains": "invalid_scope", "at_most": 0}, False),
])
def test_each_kind_is_met_or_not_by_the_evidence(kind, fields, met):
    (verdict,) = _verdicts(_x(kind, **fields))
    assert verdict.met is met, verdict.observed
    assert verdict.observed and "\n" not in verdict.observed


def test_an_unmet_expectation_says_what_was_observed():
    (verdict,) = _verdicts(_x("scope", scope="pricing:read", decision="refused"))
    assert verdict.observed == "granted 1 time, refused 0 times (e.g. id_jag.issued seq 3 by idp)"
    (verdict,) = _verdicts(_x("approval", amount="450000", outcome="approved"))
    assert verdict.observed == "no CIBA request for 450 000.00 EUR (requests seen: 2 400.00, 5 000.00 EUR)"


def test_no_secrets_scans_every_file_of_the_run_directory(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.txt").write_text("nothing here")
    (tmp_path / "sub" / "b.bin").write_bytes(b"\x00\x01 token=s3cr3t-t0ken-value-123 \xff")
    world = parse_world(BASE + "\n" + _x("no_secrets"), source=str(WORLDS_DIR / "w.toml"))
    record = RunRecord(run_dir=tmp_path, metadata={}, entries=(), jsonl_lines=None)
    (leaked,) = check_expectations(world.expectations, record=record, secrets=["s3cr3t-t0ken-value-123"])
    assert not leaked.met and leaked.observed == "minted secrets found in sub/b.bin (1)"
    assert "s3cr3t" not in leaked.observed
    (clean,) = check_expectations(world.expectations, record=record, secrets=["another-secret-value-456"])
    assert clean.met


# --- end to end: the shipped world files ---------------------------------------------------------

@pytest.fixture(scope="module")
def procurement_check(tmp_path_factory):
    out = tmp_path_factory.mktemp("procurement-check")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["check", str(WORLDS_DIR / "procurement.toml"), "--json", "--out", str(out)])
    return code, json.loads(printed.getvalue())


def test_check_passes_on_the_shipped_procurement_world(procurement_check):
    code, summary = procurement_check
    assert code == 0 and summary["ok"] is True and summary["phases_passed"] == summary["phases"] == 3
    world = load_world(WORLDS_DIR / "procurement.toml")
    assert [(x["line"], x["kind"], x["met"]) for x in summary["expectations"]] == [
        (x.line, x.kind, True) for x in world.expectations]
    assert read_run(Path(summary["run_dir"])).metadata["world_sha256"] == world.sha256


SHIPPED = sorted(p.stem for p in WORLDS_DIR.glob("*.toml") if not p.name.endswith(".mcp.toml"))
# sales-agent: checked on the run the scenario tests share; procurement: through the command line above
OTHERS = [name for name in SHIPPED if name not in ("sales-agent", "procurement")]


def test_every_shipped_world_has_expectations():
    assert {"sales-agent", "procurement", "customer-service", "data-pipeline"} <= set(SHIPPED)
    assert all(len(load_world(WORLDS_DIR / f"{name}.toml").expectations) >= 5 for name in SHIPPED)


@pytest.mark.parametrize("name", OTHERS)
def test_check_passes_on_the_shipped_world(tmp_path, name):
    world = load_world(WORLDS_DIR / f"{name}.toml")
    result = check_world(world=world, scenario=SCENARIOS[world.name], transport=Transport.CHANNEL, seed=1,
                         out_dir=tmp_path)
    assert result.ok, "\n".join(report_lines(result))
    assert len(result.verdicts) == len(world.expectations)


def test_the_shipped_sales_agent_expectations_hold_on_its_run(channel_run):
    world = load_world(SCENARIOS["sales-agent"].world_file)
    verdicts = check_expectations(world.expectations, record=read_run(channel_run.out_dir),
                                  secrets=channel_run.secrets)
    assert [v.expectation.text for v in verdicts if not v.met] == []
    assert {v.expectation.kind for v in verdicts} >= {"access", "scope", "approval", "containment", "no_secrets"}


def test_check_fails_naming_the_expectation_a_changed_world_breaks(tmp_path, capsys):
    # the purchasing policy changes: up to 6 000 EUR needs no approval, so no CIBA request is made for the
    # 5 000 EUR (and 2 400 EUR) purchases
    changed = PROCUREMENT.replace('above = "1000.00"', 'above = "6000.00"')
    assert changed != PROCUREMENT
    world = tmp_path / "procurement-changed.toml"
    world.write_text(changed)
    code = main(["check", str(world), "--out", str(tmp_path / "run")])
    out, err = capsys.readouterr()
    assert code == 1, err
    line = changed[:changed.index('[[expectations]]\nkind = "approval"\ntype')].count("\n") + 1
    unmet = [row for row in out.splitlines() if row.startswith("UNMET")]
    assert unmet[0] == (f"UNMET  procurement-changed.toml:{line}  a 5 000 EUR licence purchase needs Maria's "
                        "approval, and gets it — no CIBA request for 5 000.00 EUR (requests seen: 12 500.00 EUR)")
    assert f"procurement-changed.toml:{line}: expectations[0]: a 5 000 EUR licence purchase" in out
    assert "expectations UNMET" in out


def test_check_fails_when_an_fga_tuple_of_the_sales_world_is_removed(tmp_path, capsys):
    # without the "blocked" tuple the sales team (Sarah) can read the credit-risk file again
    text = (WORLDS_DIR / "sales-agent.toml").read_text()
    tuple_line = '  { user = "team:sales#member", relation = "blocked", object = "resource:crm/accounts/acme-corp/credit-risk" },\n'
    assert tuple_line in text
    changed = text.replace(tuple_line, "")
    (tmp_path / "sales-agent.mcp.toml").write_text((WORLDS_DIR / "sales-agent.mcp.toml").read_text())
    world = tmp_path / "sales-changed.toml"
    world.write_text(changed)
    code = main(["check", str(world), "--quiet", "--out", str(tmp_path / "run")])
    out, err = capsys.readouterr()
    assert code == 1, err
    line = changed[:changed.index('[[expectations]]\nkind = "access"\nuser = "sarah"\nresource = "crm://accounts/acme-corp/'
                                  'credit-risk"')].count("\n") + 1
    (unmet,) = out.splitlines()
    assert re.match(rf"UNMET  sales-changed\.toml:{line}  the credit-risk file stays blocked for the sales team — "
                    r"allowed \d+ times?, denied 0 times \(e\.g\. seq \d+: allowed\)$", unmet), unmet
