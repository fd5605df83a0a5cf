"""Token lineage from audit details (reports/lineage.py)."""

from __future__ import annotations

import hashlib

from reports.lineage import build_lineage
from tests.reports.helpers import entry, numbered


def key(jti: str) -> str:
    return hashlib.sha256(jti.encode()).hexdigest()[:8]


def redacted(jti: str) -> str:
    return f"<redacted:sha256:{key(jti)}>"


def test_the_chain_id_token_to_id_jag_to_access_token_to_vault():
    lineage = build_lineage(numbered(
        entry("token.issued", actor="idp", agent="agent", grant_type="authorization_code", jti="at-1",
              id_token_jti=redacted("id-1")),
        entry("token.exchanged", actor="idp", agent="agent", jti="ex-1", parent_jti="id-1", audience="crm"),
        entry("id_jag.issued", actor="idp", agent="agent", jti="jag-1", subject_token_jti=redacted("id-1"),
              audience="https://pricing"),
        entry("token.issued", actor="pricing-as", agent="agent", jti="pat-1", parent_jti="jag-1",
              grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer"),
        entry("vault.token_served", actor="vault", agent="agent", jti="v-1", kind="vault_token"),
        entry("resource.read", actor="pricing-api", agent="agent", jti="pat-1"),
    ))
    kinds = {node.key: node.kind for node in lineage.nodes}
    assert kinds == {key("at-1"): "access_token", key("id-1"): "id_token", key("ex-1"): "exchanged_token",
                     key("jag-1"): "id_jag", key("pat-1"): "access_token", key("v-1"): "vault_token"}
    assert {(e.parent, e.child) for e in lineage.edges} == {
        (key("id-1"), key("ex-1")), (key("id-1"), key("jag-1")), (key("jag-1"), key("pat-1"))}
    depth = lineage.depth()
    assert (depth[key("id-1")], depth[key("jag-1")], depth[key("pat-1")]) == (0, 1, 2)
    access = next(node for node in lineage.nodes if node.key == key("pat-1"))
    assert (access.issuer, access.holder, access.uses, access.used_by) == ("pricing-as", "agent", 1, ("pricing-api",))
    jag = next(node for node in lineage.nodes if node.key == key("jag-1"))
    assert jag.audience == "https://pricing"


def test_federated_sessions_link_the_upstream_id_token():
    lineage = build_lineage(numbered(
        entry("token.issued", actor="google", agent="idp", jti="g-at", id_token_jti=redacted("g-id")),
        entry("federation.succeeded", actor="idp", agent="agent", upstream="google", upstream_jti="g-id", sid="s1"),
        entry("token.issued", actor="idp", agent="agent", jti="a-at", id_token_jti=redacted("a-id"), sid="s1"),
        entry("token.issued", actor="idp", agent="other", jti="b-at", sid="s2"),
    ))
    assert {(e.parent, e.child, e.relation) for e in lineage.edges} == {
        (key("g-id"), key("a-at"), "federated"), (key("g-id"), key("a-id"), "federated")}


def test_revocations_mark_tokens_and_create_nothing():
    lineage = build_lineage(numbered(
        entry("token.issued", actor="idp", agent="agent", jti="at-1"),
        entry("token.issued", actor="idp", agent="agent", jti="at-2"),
        entry("session.revoked", actor="idp", revoked=["at-1", "never-issued"]),
        entry("token.revoked", actor="idp", jti="at-2", time="2025-01-07T00:00:00.000Z"),
    ))
    revoked = {node.key: node.revoked_seq for node in lineage.nodes}
    assert revoked == {key("at-1"): 3, key("at-2"): 4}


def test_events_without_identifiers_or_with_odd_values_add_nothing():
    lineage = build_lineage(numbered(
        entry("authz.allowed"), entry("token.issued", jti=42), entry("token.issued", jti=""),
        entry("token.issued", parent_jti=["x"]), entry("token.issued", kind="<redacted:sha256:00000000>", jti="t"),
        entry("run.started", jti="runner-ids-are-ignored"),
    ))
    assert [(node.key, node.kind) for node in lineage.nodes] == [(key("t"), "access_token")]
    assert lineage.edges == ()


def test_rfc_8693_token_type_urns_name_the_kind():
    lineage = build_lineage(numbered(entry("token.exchanged", jti="t",
                                           kind="urn:ietf:params:oauth:token-type:id-jag")))
    assert lineage.nodes[0].kind == "id_jag"


def test_redemption_and_refresh_families_link_tokens_and_the_vault_hands_them_over():
    lineage = build_lineage(numbered(
        entry("id_jag.issued", actor="idp", agent="agent", jti="jag-1"),
        entry("id_jag.redeemed", actor="pricing-as", agent="agent", jti="pat-1", id_jag_jti="jag-1"),
        entry("token.issued", actor="crm", agent="vault", jti="crm-1", family="f1"),
        entry("token.refreshed", actor="crm", agent="vault", jti="crm-2", family="f1"),
        entry("vault.token_served", actor="vault", agent="agent", jti="crm-2", kind="vault_token"),
    ))
    assert {(e.parent, e.child, e.relation) for e in lineage.edges} == {
        (key("jag-1"), key("pat-1"), "derived"), (key("crm-1"), key("crm-2"), "refreshed")}
    served = next(node for node in lineage.nodes if node.key == key("crm-2"))
    assert (served.kind, served.issuer, served.holder) == ("vault_token", "crm", "agent")
    redeemed = next(node for node in lineage.nodes if node.key == key("pat-1"))
    assert (redeemed.issuer, redeemed.kind) == ("pricing-as", "access_token")


def test_a_delegated_exchange_hangs_below_the_token_it_exchanged():
    """``token.exchanged`` as the IdP audits it (protocols/oidc/token_exchange_grant.py): the subject
    token's jti in clear under ``subject_jti``; the ID token was issued with its jti fingerprinted."""
    lineage = build_lineage(numbered(
        entry("token.issued", actor="idp", agent="agent", grant_type="authorization_code", jti="at-1",
              id_token_jti=redacted("id-1")),
        entry("token.exchanged", actor="idp", agent="agent", jti="ex-1", subject_jti="id-1",
              subject_token_type=redacted("urn:ietf:params:oauth:token-type:id_token"), audience="mcp-crm"),
        entry("token.exchanged", actor="idp", agent="agent", jti="ex-2", subject_jti="ex-1", audience="agent-2"),
    ))
    assert {(e.parent, e.child, e.relation) for e in lineage.edges} == {
        (key("id-1"), key("ex-1"), "derived"), (key("ex-1"), key("ex-2"), "derived")}
    assert lineage.depth()[key("ex-2")] == 2


def test_a_pushed_approval_token_is_issued_by_the_idp_and_used_by_the_gate():
    """CIBA push: the IdP audits ``token.issued`` right after ``ciba.approved`` (no token request
    follows); the gate's ``action.executed`` names the same jti and counts as its use."""
    lineage = build_lineage(numbered(
        entry("ciba.requested", actor="acme-idp", agent="agent", txn="t1", mode="push"),
        entry("ciba.approved", actor="acme-idp", agent="agent", subject="u-sarah", txn="t1", scope="email:send"),
        entry("token.issued", actor="acme-idp", agent="agent", subject="u-sarah", grant_type="urn:openid:params:grant-type:ciba",
              mode="push", jti="ap-1", kind="approval_token", id_token_jti="ap-id-1", aud="https://gate", scope="email:send"),
        entry("ciba.pushed", actor="acme-idp", agent="agent", txn="t1", channel="push", status=204),
        entry("action.executed", actor="action-gateway", agent="agent", subject="u-sarah", jti="ap-1", action="send_email"),
        entry("action.executed", actor="action-gateway", agent="agent", subject="u-sarah", jti=redacted("ap-1"),
              action="update_crm"),
    ))
    (token,) = [node for node in lineage.nodes if node.key == key("ap-1")]
    assert (token.kind, token.issuer, token.holder, token.event) == ("approval_token", "acme-idp", "agent", "token.issued")
    assert (token.audience, token.scope, token.uses, token.used_by) == ("https://gate", "email:send", 2, ("action-gateway",))
    assert {node.key for node in lineage.nodes} == {key("ap-1"), key("ap-id-1")}      # ciba.* entries add no token
