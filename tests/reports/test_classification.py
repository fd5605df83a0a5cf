"""The layer table and the decision words (reports/classification.py)."""

from __future__ import annotations

import pytest

from reports.classification import (
    DEFENCE_LAYERS, LAYERS, RULES, counted_outcome, decision_outcome, layer_of, shown_outcome,
)
from reports.findings import find_findings
from reports.integrity import Integrity
from tests.reports.helpers import entry


@pytest.mark.parametrize("event,details,layer", [
    ("authz.denied", {}, "fga"),
    ("fga.tuples_written", {}, "fga"),
    ("vault.token_served", {}, "vault"),
    ("output_filter.blocked", {}, "vault"),
    ("output.blocked", {}, "vault"),       # what actors/output_guard.py emits
    ("output.redacted", {}, "vault"),
    ("certification.revoked", {}, "access"),
    ("mcp.request_denied", {}, "access"),
    ("id_jag.issued", {}, "cross_domain"),
    ("token_exchange.refused", {}, "cross_domain"),
    ("token.issued", {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer"}, "cross_domain"),
    ("token.exchanged", {}, "cross_domain"),
    ("token.issued", {"grant_type": "authorization_code"}, "authentication"),
    ("token.issued", {"grant_type": "refresh_token"}, "authentication"),
    ("federation.succeeded", {}, "authentication"),
    ("agent.acting_for_user", {}, "authentication"),
    ("ciba.approved", {}, "approval"),
    ("risk.scored", {}, "threat"),
    ("agent.suspended", {}, "threat"),
    ("discovery.account_flagged", {}, "governance"),
    ("agent.registered", {}, "governance"),
    ("agent.mcp_connected", {}, "agent"),
    ("agent.id_jag_refused", {}, "agent"),
    ("consent.granted", {}, "authentication"),
    ("trust.keys_fetched", {}, "cross_domain"),
    ("weather.reported", {}, "other"),
    ("run.started", {}, "run"),
    ("phase.finished", {}, "run"),
])
def test_events_are_classified_by_the_table(event, details, layer):
    assert layer_of(entry(event, **details)).key == layer


def test_the_defence_in_depth_has_four_layers_and_every_rule_names_a_known_layer():
    assert [layer.key for layer in DEFENCE_LAYERS] == ["fga", "vault", "access", "cross_domain"]
    known = {layer.key for layer in LAYERS} | {"run"}
    assert {rule.layer.key for rule in RULES} <= known


def test_a_specific_rule_comes_before_the_generic_rule_it_refines():
    prefixes = [rule.prefix for rule in RULES]
    for index, prefix in enumerate(prefixes):
        for later in prefixes[index + 1:]:
            assert not (later.startswith(prefix) and later != prefix), f"{later} is shadowed by {prefix}"


@pytest.mark.parametrize("word,outcome", [
    ("allow", "allow"), ("Approved", "allow"), ("certify", "allow"), ("deny", "deny"), ("refused", "deny"),
    ("block", "deny"), ("expired", "deny"), ("revoke", "deny"), ("pass", None), ("flag", None), (None, None), (3, None),
])
def test_decision_words(word, outcome):
    assert decision_outcome(word) == outcome


def test_runner_and_agent_side_decisions_are_not_counted_but_agent_refusals_are_shown():
    assert counted_outcome(entry("run.finished", decision="fail")) is None
    assert counted_outcome(entry("authz.denied", decision="deny")) == "deny"
    refusal = entry("agent.id_jag_refused", decision="deny")
    assert counted_outcome(refusal) is None and shown_outcome(refusal) == "deny"
    assert counted_outcome(entry("agent.login_failed", decision="deny")) == "deny"
    assert counted_outcome(entry("ciba.pending", decision="deny")) is None


def test_what_the_output_guard_emits_is_a_vault_decision_and_a_block_is_a_finding():
    """actors/output_guard.py audits ``output.blocked`` (deny) and ``output.redacted`` (allow)."""
    blocked = entry("output.blocked", seq=1, actor="sales-agent", agent="sales-agent", decision="deny",
                    reason="credential in agent output", channel="email", kinds=["known_prefix"])
    redacted = entry("output.redacted", seq=2, actor="sales-agent", agent="sales-agent", decision="allow",
                     reason="secret-like text redacted from agent output", channel="slack", kinds=["entropy"])
    assert layer_of(blocked).key == layer_of(redacted).key == "vault"
    assert (counted_outcome(blocked), counted_outcome(redacted)) == ("deny", "allow")
    intact = Integrity(chain_ok=True, entries=2, broken_seq=None, last_hash="", problems=())
    findings = find_findings(integrity=intact, phases=[], entries=[blocked, redacted], incidents=[])
    assert [(f.severity, f.title) for f in findings if f.severity == "medium"] == [
        ("medium", "Credential caught in agent output")]


def test_an_egress_block_is_a_finding_about_internal_data_not_a_credential():
    blocked = entry("output_filter.egress_blocked", seq=1, actor="sales-agent", agent="sales-agent", decision="block",
                    reason="internal content addressed to recipients outside the organisation", channel="email")
    assert layer_of(blocked).key == "vault" and counted_outcome(blocked) == "deny"
    intact = Integrity(chain_ok=True, entries=1, broken_seq=None, last_hash="", problems=())
    (finding,) = [f for f in find_findings(integrity=intact, phases=[], entries=[blocked], incidents=[])
                  if f.severity == "medium"]
    assert finding.title == "Internal data stopped on its way out" and finding.detail == blocked.reason
