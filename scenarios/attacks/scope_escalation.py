"""Scope escalation: ``pricing:write`` (draft-ietf-oauth-identity-assertion-authz-grant §4.3,
RFC 6749 §3.3, RFC 6750 §3.1 ``insufficient_scope``).

A compromised sales agent tries to change enterprise prices three ways, each through its real
client: (1) ask the IdP for an ID-JAG with ``pricing:write`` — the managed connection refuses the
scope (``invalid_scope``); (2) redeem a legitimately obtained ``pricing:read`` ID-JAG at the
pricing AS asking for ``pricing:write`` — more than the ID-JAG grants (``invalid_scope``); (3) send
a ``PUT`` to the pricing API with the read token — ``403 insufficient_scope``.
"""

from __future__ import annotations

from typing import Any

from actors.agent_cross_domain import CrossDomainFailed
from scenarios.attacks.cast import AGENT, Stage
from scenarios.attacks.common import measured, refused_by
from scenarios.attacks.outcome import AttackOutcome
from scenarios.attacks.traditional_stage import TraditionalStage

ID = "scope-escalation"
TIER = "enterprise-tier"



async def unified(st: Stage) -> AttackOutcome:
    delegation = await st.sign_in()
    pricing, cross = st.world.pricing, st.cast.cross_domain
    assert pricing is not None and cross is not None and cross.pricing_api is not None
    client = cross.client(agent=AGENT, target=pricing.authorization_server)
    user, resource = delegation.subject, (pricing.resource,)
    adversary = st.adversary

    async def write_id_jag() -> tuple[int, str | None, Any]:
        try:
            grant = await client.obtain_id_jag(delegation, resource=resource, scope=("pricing:write",))
        except CrossDomainFailed as failure:
            return refused_by(failure)
        return 200, None, grant

    escalated = await adversary.attempt("ID-JAG with pricing:write at the IdP", target=st.cast.idp.base_url,
                                        work=write_id_jag)
    read_grant = await client.obtain_id_jag(delegation, resource=resource, scope=("pricing:read",))

    async def widen() -> tuple[int, str | None, Any]:
        try:
            tokens = await client.redeem(read_grant, user=user, scope=("pricing:write",))
        except CrossDomainFailed as failure:
            return refused_by(failure)
        return 200, None, tokens

    widened = await adversary.attempt("redeem the read ID-JAG for pricing:write",
                                      target=cross.pricing_as.base_url if cross.pricing_as else "", work=widen)
    read = await client.redeem(read_grant, user=user)
    writes = 0
    tokens = [read.access_token]  # the read token it legitimately holds, and whatever the escalation gained
    if widened is not None:
        tokens.append(widened.access_token)
    if escalated is not None:
        tokens.append((await client.redeem(escalated, user=user)).access_token)
    for token in tokens:
        response = await adversary.bearer("PUT enterprise prices with the token it holds", method="PUT",
                                          url=cross.pricing_api.url(f"/prices/{TIER}"), token=token,
                                          payload={"prices": [{"sku": "AI-PLAT-ENT", "list_price_eur": 1}]})
        writes += 200 <= response.status < 300
    return measured(st, attack=ID, configuration="unified", records_exposed=0, unauthorised_actions=writes)


async def traditional(ts: TraditionalStage) -> AttackOutcome:
    """The agent's pricing key was meant for reading; the system has no scopes: the write lands."""
    before = dict(ts.cast.systems["pricing"].prices)
    await ts.adversary("pricing").put("/prices/AI-PLAT-ENT", json={"price_eur": 1})
    changed = sum(1 for sku, price in ts.cast.systems["pricing"].prices.items() if before.get(sku) != price)
    return ts.measured(attack=ID, unauthorised_actions=changed)
