"""An ID-JAG sent to the wrong audience (draft-ietf-oauth-identity-assertion-authz-grant §4.4:
``aud`` must be exactly the receiving AS's issuer; RFC 7523 §3 item 3).

A second trust domain, the partner portal's authorization server (``partner-as``), also trusts
Acme's IdP, and the sales agent has a client registration there. The compromised agent (1)
presents the ID-JAG the IdP issued for the *pricing* AS at the partner AS — refused
``invalid_grant`` (audience) — and (2) asks the IdP for an ID-JAG addressed to the partner AS,
for which no managed connection exists — refused by the IdP.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from actors.agent_cross_domain import CrossDomainClient, CrossDomainFailed, ResourceAsRegistration
from actors.pricing_as import build_resource_as
from actors.runtime.actor import HttpActor
from actors.runtime.context import Runtime
from protocols.jose.jwks import JwkSet
from protocols.jose.keys import Algorithm
from protocols.oauth.client_auth import ClientRegistration
from protocols.token_exchange import GRANT_TYPE_JWT_BEARER
from scenarios.attacks.cast import AGENT, Stage
from scenarios.attacks.common import measured, refused_by
from scenarios.attacks.outcome import AttackOutcome
from scenarios.attacks.traditional_stage import TraditionalStage

ID = "id-jag-wrong-audience"
PARTNER = "partner-as"
PARTNER_RESOURCE = "https://partner.acmecorp.internal/api"


def partner_as(runtime: Runtime) -> Sequence[HttpActor]:
    """The other trust domain; it trusts the enterprise IdP (whose issuer is known by name)."""
    idp_issuer = runtime.network.base_url_for("acme-idp")
    return [build_resource_as(runtime=runtime, name=PARTNER, alg=Algorithm.ES256,
                              resources={PARTNER_RESOURCE: frozenset({"partner:read"})},
                              trusted_issuers=(idp_issuer,), access_token_lifetime=600)]


EXTRA = partner_as
"""Actors the unified stage of this attack needs beside the sales cast."""



async def unified(st: Stage) -> AttackOutcome:
    delegation = await st.sign_in()
    pricing, cross = st.world.pricing, st.cast.cross_domain
    assert pricing is not None and cross is not None
    pricing_client = cross.client(agent=AGENT, target=pricing.authorization_server)
    partner = st.runtime.network.actor_at(st.runtime.network.base_url_for(PARTNER))
    key = st.runtime.new_signing_key(owner=AGENT, purpose=f"client@{PARTNER}", alg=Algorithm.ES256)
    client_id = pricing_client.registration.client_id  # same client id in both domains
    partner.server.register_client(ClientRegistration(
        client_id=client_id, name="Sales agent", redirect_uris=(), jwks=JwkSet.from_json({"keys": [key.public_jwk()]}),
        grant_types=frozenset({GRANT_TYPE_JWT_BEARER}), scopes=frozenset({"partner:read"})))
    partner_client = CrossDomainClient(agent=st.cast.agents[AGENT], registration=ResourceAsRegistration(
        issuer=partner.base_url, client_id=client_id, signing_key=key))
    grant = await pricing_client.obtain_id_jag(delegation, resource=(pricing.resource,), scope=("pricing:read",))

    async def replay() -> tuple[int, str | None, Any]:
        try:
            tokens = await partner_client.redeem(grant, user=delegation.subject)
        except CrossDomainFailed as failure:
            return refused_by(failure)
        return 200, None, tokens

    async def ask_partner() -> tuple[int, str | None, Any]:
        try:
            issued = await partner_client.obtain_id_jag(delegation, resource=(PARTNER_RESOURCE,),
                                                        scope=("partner:read",), audience=partner.base_url)
        except CrossDomainFailed as failure:
            return refused_by(failure)
        return 200, None, issued

    adversary = st.adversary
    replayed = await adversary.attempt("present the pricing ID-JAG at the partner AS", target=partner.base_url,
                                       work=replay)
    issued = await adversary.attempt("ask the IdP for an ID-JAG for the partner AS", target=st.cast.idp.base_url,
                                     work=ask_partner)
    tokens = int(replayed is not None) + int(issued is not None)
    return measured(st, attack=ID, configuration="unified", records_exposed=0, unauthorised_actions=tokens)


async def traditional(ts: TraditionalStage) -> AttackOutcome:
    """No ID-JAG, no audience: the one login JWT is taken by every system that shares the secret
    (here the pricing system, a different trust domain in the unified world)."""
    tokens = await ts.sign_in()
    answer = await ts.adversary("pricing", bearer=tokens["access_token"]).get("/prices")
    return ts.measured(attack=ID, unauthorised_actions=int(answer.status == 200))
