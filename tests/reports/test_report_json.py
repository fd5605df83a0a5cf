"""report.json validates against reports/report.schema.json, and every number of its summary is
recomputed here from the audit log alone (audit.jsonl read as plain JSON, run.json for the phases),
with this file's own restatement of the documented rules — not with the reports package."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import jsonschema
import pytest

SCHEMA = Path(__file__).resolve().parents[2] / "reports" / "report.schema.json"

# The classification documented in reports/classification.py, restated as longest-prefix matching.
LAYER_PREFIXES = {
    "authz.": "fga", "fga.": "fga", "rag.": "fga",
    "vault.": "vault", "credential.": "vault", "secret.": "vault", "output.": "vault", "output_filter.": "vault",
    "access.": "access", "policy.": "access", "jit.": "access", "entitlement.": "access", "certification.": "access",
    "review.": "access", "lifecycle.": "access", "agent.deprovisioned": "access", "mcp.": "access",
    "resource.": "access", "api.": "access", "pricing.": "access", "trust.": "cross_domain",
    "consent.": "authentication",
    "token_exchange.": "cross_domain", "id_jag.": "cross_domain", "jwt_bearer.": "cross_domain",
    "managed_connection.": "cross_domain", "token.": "cross_domain",
    "auth.": "authentication", "federation.": "authentication", "userinfo.": "authentication",
    "session.": "authentication", "code.": "authentication", "key.": "authentication",
    "agent.login": "authentication", "agent.acting_for_user": "authentication",
    "ciba.": "approval", "approval.": "approval",
    "risk.": "threat", "threat.": "threat", "anomaly.": "threat", "incident.": "threat", "logout.": "threat",
    "caep.": "threat", "set.": "threat", "agent.suspended": "threat", "response.": "threat",
    "ssf.": "threat",
    "discovery.": "governance", "shadow_ai.": "governance", "registry.": "governance", "governance.": "governance",
    "agent.registered": "governance", "agent.": "agent",
}
NOT_COUNTED = {"agent"}
ALLOW = {"allow", "allowed", "permit", "permitted", "grant", "granted", "approve", "approved", "certify", "certified"}
DENY = {"deny", "denied", "refuse", "refused", "reject", "rejected", "block", "blocked", "revoke", "revoked", "expire",
        "expired", "forbid", "forbidden"}



def load(run_dir: Path) -> tuple[list[dict], dict, dict]:
    entries = [json.loads(line) for line in (run_dir / "audit.jsonl").read_text().splitlines()]
    return entries, json.loads((run_dir / "run.json").read_text()), json.loads((run_dir / "report.json").read_text())


def is_runner(entry: dict) -> bool:
    return entry["event"].startswith(("run.", "phase."))


def layer(entry: dict) -> str:
    if entry["event"].startswith("token.") and entry["details"].get("grant_type") in ("authorization_code",
                                                                                       "refresh_token"):
        return "authentication"
    matches = [prefix for prefix in LAYER_PREFIXES if entry["event"].startswith(prefix)]
    return LAYER_PREFIXES[max(matches, key=len)] if matches else "other"


def outcome(entry: dict) -> str | None:
    if is_runner(entry) or layer(entry) in NOT_COUNTED or entry["event"].endswith((".pending", ".slow_down")):
        return None
    word = (entry["decision"] or "").lower()
    return "allow" if word in ALLOW else "deny" if word in DENY else None


def chain_is_intact(entries: list[dict]) -> bool:
    previous = "0" * 64
    for entry in entries:
        content = {k: v for k, v in entry.items() if k != "hash"}
        digest = hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":"),
                                           ensure_ascii=False).encode()).hexdigest()
        if entry["prev_hash"] != previous or digest != entry["hash"]:
            return False
        previous = entry["hash"]
    return True


def approval_kind(entry: dict) -> str | None:
    if layer(entry) != "approval":
        return None
    suffix = entry["event"].rsplit(".", 1)[-1]
    table = {"requested": "requested", "started": "requested", "initiated": "requested", "approved": "approved",
             "granted": "approved", "denied": "denied", "rejected": "denied", "expired": "expired",
             "timed_out": "expired"}
    if suffix in table:
        return table[suffix]
    if suffix in ("decided", "answered", "completed"):
        return {"allow": "approved", "deny": "denied"}.get(outcome(entry))
    return None


def incidents(entries: list[dict]) -> int:
    opened: set[str] = set()
    count = 0
    for entry in entries:
        agent = entry["agent"] or entry["details"].get("agent_id") or entry["actor"]
        details = entry["details"]
        if agent in opened:
            if entry["event"] in ("agent.suspended", "incident.contained", "threat.contained", "logout.universal") \
                    or details.get("containment") is True:
                opened.discard(agent)
            continue
        score, threshold = details.get("score"), details.get("threshold")
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (score, threshold))
        if (numeric and score >= threshold) or entry["event"] in ("incident.opened", "threat.detected",
                                                                  "anomaly.detected"):
            opened.add(agent)
            count += 1
    return count


def token_ids(entries: list[dict]) -> set[str]:
    ids = set()
    for entry in entries:
        if entry["event"].endswith(".revoked") or entry["event"].startswith(("set.", "caep.", "ssf.")):
            continue
        for key, value in entry["details"].items():
            if not key.endswith("jti") or key == "revoked_jtis":
                continue
            if isinstance(value, str) and value:
                match = re.fullmatch(r"<redacted:sha256:([0-9a-f]{8})>", value)
                ids.add(match.group(1) if match else hashlib.sha256(value.encode()).hexdigest()[:8])
    return ids


def expected_summary(entries: list[dict], run: dict) -> dict:
    events = [e for e in entries if not is_runner(e)]
    by_layer = {key: Counter() for key in ("fga", "vault", "access", "cross_domain", "authentication", "approval",
                                           "threat", "governance", "agent", "other")}
    for entry in events:
        by_layer[layer(entry)]["events"] += 1
        if outcome(entry):
            by_layer[layer(entry)][outcome(entry)] += 1
    ciba = [e for e in events if e["event"].startswith("ciba.")]
    approvals = Counter(approval_kind(e) for e in (ciba or events))
    incident_count = incidents(events)
    failed_phases = [p for p in run["phases"] if not p["ok"]]
    high = len(failed_phases) + incident_count + sum(
        1 for e in events if e["event"].startswith(("discovery.", "shadow_ai."))
        and str(e["details"].get("level") or e["details"].get("risk") or "").upper() in ("HIGH", "CRITICAL"))
    medium = approvals["denied"] + approvals["expired"] + sum(
        1 for e in events if e["event"].startswith(("output.", "output_filter.")) and outcome(e) == "deny")
    info = len({(layer(e), e["event"], e["reason"] or "") for e in events if outcome(e) == "deny"})
    critical = 0 if chain_is_intact(entries) and run["audit_entries"] == len(entries) else 1
    return {
        "events": len(events),
        "allowed": sum(c["allow"] for c in by_layer.values()),
        "denied": sum(c["deny"] for c in by_layer.values()),
        "layers": {key: (c["events"], c["allow"], c["deny"]) for key, c in by_layer.items()},
        "approvals": {kind: approvals[kind] for kind in ("requested", "approved", "denied", "expired")},
        "incidents": incident_count,
        "findings": {"total": critical + high + medium + info, "critical": critical, "high": high,
                     "medium": medium, "info": info},
        "phases": {"total": len(run["phases"]), "passed": len(run["phases"]) - len(failed_phases),
                   "failed": len(failed_phases)},
        "tokens": len(token_ids(events)),
    }


def expected_phase_counts(entries: list[dict]) -> dict[int, tuple[int, int, int]]:
    counts: dict[int, list[int]] = {}
    current = None
    for entry in entries:
        if entry["event"] == "phase.started":
            current = entry["details"]["phase"]
            counts[current] = [0, 0, 0]
        elif entry["event"] == "phase.finished":
            current = None
        elif current is not None and not is_runner(entry):
            counts[current][0] += 1
            counts[current][1] += outcome(entry) == "allow"
            counts[current][2] += outcome(entry) == "deny"
    return {number: tuple(values) for number, values in counts.items()}


@pytest.fixture(params=["sales", "synthetic"])
def run_dir(request) -> Path:
    fixture = request.getfixturevalue(request.param)
    return fixture.out_dir if request.param == "sales" else fixture.run_dir


def test_the_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA.read_text()))


def test_report_json_validates_against_its_schema(run_dir):
    document = json.loads((run_dir / "report.json").read_text())
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    errors = [f"{error.json_path}: {error.message}" for error in validator.iter_errors(document)]
    assert errors == []


def test_the_schema_rejects_a_malformed_summary(synthetic):
    document = json.loads(synthetic.json.read_text())
    document["summary"]["denied"] = -1
    del document["integrity"]["ok"]
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    paths = {error.json_path for error in validator.iter_errors(document)}
    assert paths == {"$.summary.denied", "$.integrity"}


def test_every_summary_number_is_recomputed_from_the_audit_log(run_dir):
    entries, run, report = load(run_dir)
    expected = expected_summary(entries, run)
    summary = report["summary"]
    assert {k: summary[k] for k in ("events", "allowed", "denied", "approvals", "incidents", "findings", "phases",
                                    "tokens")} == {k: v for k, v in expected.items() if k != "layers"}
    assert {row["layer"]: (row["events"], row["allowed"], row["denied"]) for row in summary["layers"]} \
        == expected["layers"]


def test_every_phase_count_is_recomputed_from_the_markers(run_dir):
    entries, run, report = load(run_dir)
    expected = expected_phase_counts(entries)
    reported = {p["number"]: (p["events"], p["allowed"], p["denied"]) for p in report["phases"] if p["number"]}
    assert reported == expected
    assert [p["number"] for p in report["phases"] if p["number"]] == [p["number"] for p in run["phases"]]


def test_every_decision_is_listed_with_its_reason(run_dir):
    entries, _, report = load(run_dir)
    expected = [(e["seq"], layer(e), outcome(e), e["reason"]) for e in entries if not is_runner(e) and outcome(e)]
    assert [(d["seq"], d["layer"], d["outcome"], d["reason"]) for d in report["decisions"]] == expected


def test_the_synthetic_run_exercises_every_number(synthetic):
    """Guard for the test above: the synthetic run must make each count non-zero."""
    summary = json.loads(synthetic.json.read_text())["summary"]
    assert all(summary[key] for key in ("events", "allowed", "denied", "incidents", "tokens"))
    assert all(summary["approvals"][k] for k in ("requested", "approved", "expired"))
    assert all(summary["findings"][k] for k in ("high", "medium", "info")) and summary["phases"]["failed"]
    assert all(row["allowed"] and row["denied"] for row in summary["layers"] if row["defence"])
