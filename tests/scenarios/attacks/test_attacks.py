"""The attack library (issue 11, "What must be shown" 2): every attack is refused under the unified
configuration with the layer that stopped it recorded and the refusal, with its reason, in the
hash-chained audit log; under the traditional configuration its measured effect is non-zero.

Unified runs open the attack's stage here so the audit log can be read after the adversary's steps;
controls show the refused thing works when it is legitimate (the refusal is the attack's doing).
"""

from __future__ import annotations


import pytest

from actors.adversary import mcp_contents
from actors.sales_workflow import send_email
from protocols.audit_chain import verify_chain
from reports.classification import counted_outcome, layer_of
from scenarios.attacks import ATTACKS
from scenarios.attacks.cast import AGENT, stage
from scenarios.attacks.common import mcp_token
from scenarios.phases.multi_system_execution import connect_accounts
from tests.actors.vault_helpers import fast_crypto  # noqa: F401  (memoized RSA keys and scrypt)

SEED = 1

REFUSALS: dict[str, tuple[tuple[str, str], ...]] = {
    # attack id → (audit event, text of its reason) of every refusal that must be on record
    "token-replay-after-logout": (("logout.universal", "lost laptop"), ("userinfo.denied", "invalid_token"),
                                  ("token.refused", "revoked_by_caep_session_revoked")),
    "refresh-token-reuse": (("refresh_token.reused", "invalid_grant"),),
    "token-passthrough": (("mcp.request_denied", "wrong_audience"),),
    "confused-deputy": (("authz.denied", "user:sarah is not viewer"),
                        ("mcp.resource_denied", "user:sarah is not viewer")),
    "scope-escalation": (("id_jag.denied", "always refuses pricing:write"),
                         ("id_jag.rejected", "exceeds the ID-JAG"),
                         ("pricing.denied", "insufficient_scope")),
    "id-jag-wrong-audience": (("id_jag.rejected", "wrong_audience"), ("id_jag.denied", "invalid_target")),
    "ciba-approval-replay": (("action.refused", "insufficient_scope"), ("action.refused", "invalid_token")),
    "prompt-injection-exfiltration": (("output_filter.egress_blocked", "outside the organisation"),),
    "shadow-agent-hardcoded-key": (("shadow_ai.discovered", "no owner"), ("token.denied", "invalid_client")),
    "forged-jwt": (("mcp.request_denied", "algorithm_not_allowed"), ("mcp.request_denied", "unknown_key_id")),
}


async def _control(attack_id: str, st) -> None:
    """The legitimate counterpart of the refused step succeeds in the same cast."""
    if attack_id in ("token-passthrough", "confused-deputy", "forged-jwt"):
        server, uri = {"token-passthrough": ("mcp-docs", "docs://pricing/price-list"),
                       "confused-deputy": ("mcp-crm", "crm://contacts/acme-corp"),
                       "forged-jwt": ("mcp-pricing", "pricing://enterprise-tier")}[attack_id]
        delegation = await st.sign_in()
        if server == "mcp-crm":  # the CRM server reads Salesforce through the vault: Sarah connects it first
            await connect_accounts(st.cast, user="sarah", agent=AGENT, providers=["crm"])
        token = await mcp_token(st, delegation, server)
        response = await st.adversary.mcp_read("control", url=st.cast.mcp_servers[server].resource, token=token,
                                               uri=uri)
        assert response.status == 200 and mcp_contents(response)
    elif attack_id == "ciba-approval-replay":
        executed = [e for e in st.runtime.audit.store.entries() if e.event == "action.executed"]
        assert len(executed) == 1  # the approved e-mail itself went out, once
    elif attack_id == "prompt-injection-exfiltration":
        gmail = st.cast.vault.providers[st.cast.vault.integrations["gmail"].provider]
        assert not gmail.outbound  # nothing left the domain
        # The same price list to a colleague inside the organisation goes out: the policy is about egress.
        module = ATTACKS[attack_id].steps
        item = st.cast.agents[AGENT].contexts[next(iter(st.cast.agents[AGENT].contexts))].item(module.PRICE_LIST)
        sarah, john = st.world.person("sarah"), st.world.person("john")
        await send_email(st.cast.vault.tools[AGENT], user=next(iter(st.cast.agents[AGENT].contexts)),
                         sender={"email": sarah.email, "name": sarah.name}, to=(john.email,), subject="Price list",
                         body=module.exfiltration_body(item.content))
        assert not gmail.outbound and any(e.event == "vault.token_served" for e in st.runtime.audit.store.entries())


@pytest.mark.parametrize("attack_id", sorted(REFUSALS))
async def test_unified_configuration_refuses_the_attack_and_records_why(attack_id, autojump_clock, fast_crypto):
    attack = ATTACKS[attack_id]
    module = attack.steps
    async with stage(seed=SEED, transport="channel", extra=attack.extra) as st:
        outcome = await module.unified(st)
        steps = list(st.adversary.steps)
        await _control(attack_id, st)
        entries = st.runtime.audit.store.entries()
        secrets = [s for s in st.runtime.secrets if len(s) >= 8]
        log = st.log.getvalue()
    assert (outcome.attack, outcome.configuration) == (attack_id, "unified")
    assert outcome.stopped and outcome.stopped_by == attack.expected_unified
    assert outcome.records_exposed == 0 and outcome.unauthorised_actions == 0
    assert outcome.time_to_containment is not None and outcome.time_to_containment >= 0
    assert outcome.audit_complete and verify_chain(entries).ok
    assert secrets and not [secret for secret in secrets if secret in "\n".join(outcome.evidence) or secret in log]
    assert steps and not any(step.ok for step in steps)
    layers = set()
    for event, reason in REFUSALS[attack_id]:
        found = [e for e in entries if e.event == event and reason in (e.reason or "")
                 and (counted_outcome(e) == "deny" or e.decision == "flag")]
        assert found, f"no {event} refusal mentioning {reason!r}"
        assert any(f"seq {e.seq} {e.event}" in line for e in found for line in outcome.evidence)
        layers |= {layer_of(e).key for e in found}
    assert attack.expected_unified in layers


async def test_logout_is_what_kills_the_stolen_tokens(autojump_clock, fast_crypto):
    """The replayed tokens were unexpired: only the universal logout made them worthless."""
    module = ATTACKS["token-replay-after-logout"].steps
    async with stage(seed=SEED, transport="channel") as st:
        outcome = await module.unified(st)
        entries = st.runtime.audit.store.entries()
    logout = next(e for e in entries if e.event == "logout.universal")
    replays = [e for e in entries if e.event in ("userinfo.denied", "token.refused")]
    assert replays and all(e.seq > logout.seq for e in replays)
    assert any(e.event == "response.tokens_revoked" and e.decision == "allow" for e in entries)
    assert outcome.stopped_by == "threat"
    left = next(line for line in outcome.evidence if line.startswith("seconds left before expiry at replay"))
    assert all(int(part.rsplit(" ", 1)[1]) > 0 for part in left.split(": ", 1)[1].split(", "))


@pytest.mark.parametrize("attack_id", sorted(REFUSALS))
async def test_traditional_configuration_lets_the_attack_through(attack_id, autojump_clock):
    outcome = await ATTACKS[attack_id].run(configuration="traditional", seed=SEED, transport="channel")
    assert (outcome.attack, outcome.configuration) == (attack_id, "traditional")
    assert not outcome.stopped and outcome.stopped_by is None and outcome.time_to_containment is None
    assert outcome.records_exposed + outcome.unauthorised_actions > 0
    assert any(": HTTP 2" in line for line in outcome.evidence)


TRADITIONAL_EFFECTS = {  # attack id → (records exposed, unauthorised actions), measured by the legacy answers
    "token-replay-after-logout": (6, 0), "refresh-token-reuse": (5, 0), "token-passthrough": (5, 0),
    "confused-deputy": (1, 0), "scope-escalation": (0, 1), "id-jag-wrong-audience": (5, 1),
    "ciba-approval-replay": (0, 2), "prompt-injection-exfiltration": (5, 1), "shadow-agent-hardcoded-key": (100, 0),
    "forged-jwt": (1, 0),
}


async def test_traditional_effects_and_scattered_logs(autojump_clock):
    outcomes = {a: await ATTACKS[a].run(configuration="traditional", seed=SEED, transport="channel")
                for a in sorted(TRADITIONAL_EFFECTS)}
    assert {a: (o.records_exposed, o.unauthorised_actions) for a, o in outcomes.items()} == TRADITIONAL_EFFECTS
    # Attacks spanning several systems are never reconstructed by one log.
    assert {a for a, o in outcomes.items() if not o.audit_complete} == {
        "token-replay-after-logout", "refresh-token-reuse", "ciba-approval-replay"}
    again = await ATTACKS["scope-escalation"].run(configuration="traditional", seed=SEED, transport="channel")
    assert again == outcomes["scope-escalation"]  # same seed, same run


@pytest.mark.parametrize("attack_id", ["token-passthrough", "forged-jwt", "token-replay-after-logout"])
async def test_unified_refusals_hold_over_http(attack_id, autojump_clock, fast_crypto):
    outcome = await ATTACKS[attack_id].run(configuration="unified", seed=SEED, transport="http")
    assert outcome.stopped and outcome.stopped_by == ATTACKS[attack_id].expected_unified
    assert outcome.records_exposed == 0 and outcome.audit_complete
    assert all(f"{event}" in " ".join(outcome.evidence) for event, _ in REFUSALS[attack_id])


async def test_same_seed_same_outcome(autojump_clock, fast_crypto):
    first = await ATTACKS["confused-deputy"].run(configuration="unified", seed=SEED, transport="channel")
    again = await ATTACKS["confused-deputy"].run(configuration="unified", seed=SEED, transport="channel")
    assert first == again and first.stopped_by == "fga"


async def test_unknown_configuration_is_refused():
    with pytest.raises(ValueError, match="unknown configuration"):
        await ATTACKS["forged-jwt"].run(configuration="hybrid", seed=SEED, transport="channel")


def test_registry_names_rows_and_layers():
    assert len(ATTACKS) == 10 and set(ATTACKS) == set(REFUSALS)
    rows = {"discovery", "credentials", "user_auth", "api_access", "cross_domain", "approval", "documents",
            "access_reviews", "threats", "audit", "incidents", "mcp"}
    for attack in ATTACKS.values():
        assert attack.row == attack.rows[0] and set(attack.rows) <= rows
        assert attack.expected_unified in {"fga", "vault", "access", "cross_domain", "authentication", "approval",
                                           "threat", "governance"}

