"""Phase 4 — Cross-domain access with an ID-JAG (SPEC.md; draft-ietf-oauth-identity-assertion-authz-grant).

At 09:20 the agent needs Acme's enterprise prices, which live behind the pricing system's own
authorization server. It exchanges Sarah's ID token (issued to the agent in phase 2) at the
enterprise IdP for an ID-JAG addressed to the pricing AS (``pricing:read``, the pricing API as
``resource``); the IdP's managed connection grants it. The agent redeems the ID-JAG at the pricing AS
with the jwt-bearer grant and its own client authentication there; the pricing AS checks signature
(the IdP's published keys), trust, audience, expiry, type, client and scope and issues an access
token for the pricing API; the API returns the enterprise prices. Asking for ``pricing:write`` is
refused by the managed connection, and a write with the read token is refused by the API.
"""

from __future__ import annotations

from actors.agent_cross_domain import CrossDomainFailed
from protocols.jwt_bearer import peek
from scenarios.phase_result import PhaseResult
from scenarios.sales_agent import SalesCast
from scenarios.world import PhaseSpec

TIER = "enterprise-tier"


def _euros(amount: int) -> str:
    return f"{amount:,} €".replace(",", "\u202f")  # narrow no-break space as thousands separator


async def phase_4_cross_domain(cast: SalesCast, phase: PhaseSpec) -> PhaseResult:
    person = cast.world.person(phase.user)
    agent = cast.agents[phase.agent]
    pricing, cross = cast.world.pricing, cast.cross_domain

    def failed(why: str, **facts: object) -> PhaseResult:
        return PhaseResult(number=phase.number, name=phase.name, ok=False, outcome=f"Cross-domain access failed: {why}.",
                           facts=dict(facts))

    delegation = next((d for d in agent.delegations.values() if d.email == person.email), None)
    if delegation is None:
        return failed(f"{agent.display_name} holds no ID token for {person.name} (phase 2 must run first)")
    if pricing is None or cross is None or cross.pricing_api is None:
        return failed("the world has no [pricing] system")
    if (agent.name, pricing.authorization_server) not in cross.clients:
        return failed(f"no managed connection for {agent.name} at {pricing.authorization_server}")
    client = cross.client(agent=agent.name, target=pricing.authorization_server)
    user, resource = delegation.subject, (pricing.resource,)
    prices_url = cross.pricing_api.url(f"/prices/{TIER}")
    try:
        grant = await client.obtain_id_jag(delegation, resource=resource, scope=("pricing:read",))
        tokens = await client.redeem(grant, user=user)
    except CrossDomainFailed as failure:
        return failed(f"{failure.step} refused ({failure.reason})")
    response = await client.call(prices_url, access_token=tokens.access_token, user=user)
    prices = response.json().get("prices", []) if response.status == 200 else []
    try:
        await client.obtain_id_jag(delegation, resource=resource, scope=("pricing:write",))
        write_refusal = "GRANTED (policy violated)"
    except CrossDomainFailed as failure:
        code = failure.error.error if failure.error is not None else "refused"
        write_refusal = f"{code}: {failure.reason}"
    write = await client.call(prices_url, access_token=tokens.access_token, user=user, method="PUT")
    id_jag, access = peek(grant.assertion), peek(tokens.access_token)  # display only: both were verified upstream
    ok = (response.status == 200 and bool(prices) and write_refusal.startswith("invalid_scope")
          and write.status == 403 and tokens.refresh_token is None and tokens.scope == ("pricing:read",))
    listing = "; ".join(f"{p['sku']} {p['product']}: {_euros(p['list_price_eur'])} / {p['unit']}" for p in prices)
    return PhaseResult(
        number=phase.number, name=phase.name, ok=ok,
        outcome=(f"{agent.display_name} exchanged {person.name}'s ID token for an ID-JAG (pricing:read), "
                 f"redeemed it at the pricing authorization server and read {len(prices)} {TIER} prices; "
                 f"pricing:write was refused by the managed connection."),
        facts={
            "user": user,
            "ID-JAG typ": id_jag.header.get("typ"),
            "ID-JAG aud (pricing AS issuer)": id_jag.claims.get("aud"),
            "ID-JAG client_id (agent at the pricing AS)": id_jag.claims.get("client_id"),
            "ID-JAG resource": id_jag.claims.get("resource"),
            "ID-JAG scope": id_jag.claims.get("scope"),
            "ID-JAG lifetime (s)": id_jag.claims["exp"] - id_jag.claims["iat"],
            "access token issuer": access.claims.get("iss"),
            "access token aud": access.claims.get("aud"),
            "access token scope": " ".join(tokens.scope),
            "access token lifetime (s)": tokens.expires_in,
            "refresh token issued": tokens.refresh_token is not None,
            f"{TIER} prices": listing,
            "pricing:write request": write_refusal,
            "PUT with the read token": f"HTTP {write.status} "
                                       f"({'insufficient_scope' if 'insufficient_scope' in (write.header('www-authenticate') or '') else 'unexpected'})",
        })
