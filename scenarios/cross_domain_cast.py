"""The cross-domain members of the cast (SPEC.md capability 3, phase 4), built from the world file.

- the IdP's RFC 8693 grant (``protocols.oidc.token_exchange_grant``) with the world's managed
  connections — the ID-JAG policy per (agent, target AS);
- the pricing authorization server (its own trust domain: issuer, keys, clients) trusting the
  enterprise IdP, and the pricing API that trusts only the pricing AS — registered there as a
  protected resource with its own ``private_key_jwt`` key, to introspect every token (RFC 7662);
- per managed connection, the agent's registration at the pricing AS — client id from the world
  file, and a **separate** ``private_key_jwt`` key (seeded per agent and target): the agent's IdP
  key never authenticates it in another trust domain — and its :class:`CrossDomainClient`.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from actors.agent import AgentActor
from actors.agent_cross_domain import CrossDomainClient, ResourceAsRegistration
from actors.oidc_provider import OidcProviderActor
from actors.pricing_api import PricingApiActor
from actors.pricing_as import ResourceAuthorizationServerActor, build_resource_as
from actors.runtime.actor import HttpActor
from actors.runtime.context import Runtime
from actors.token_introspection import TokenIntrospector
from protocols.jose.jwks import JwkSet
from protocols.managed_connections import ManagedConnection
from protocols.oauth.client_auth import ClientRegistration
from protocols.oauth.metadata import metadata_url
from protocols.oidc.token_exchange_grant import TokenExchangeGrant
from protocols.token_exchange import GRANT_TYPE_JWT_BEARER, GRANT_TYPE_TOKEN_EXCHANGE
from scenarios.world import World


@attrs.define(eq=False)
class CrossDomainCast:
    exchange: TokenExchangeGrant
    pricing_as: ResourceAuthorizationServerActor | None = None
    pricing_api: PricingApiActor | None = None
    clients: dict[tuple[str, str], CrossDomainClient] = attrs.field(factory=dict)

    def actors(self) -> list[HttpActor]:
        return [a for a in (self.pricing_as, self.pricing_api) if a is not None]

    def services(self) -> list[tuple[str, str, str]]:
        rows = []
        if self.pricing_as is not None:
            rows.append((self.pricing_as.name, self.pricing_as.base_url, metadata_url(self.pricing_as.base_url)))
        if self.pricing_api is not None:
            rows.append((self.pricing_api.name, self.pricing_api.base_url, ""))
        return rows

    def client(self, *, agent: str, target: str) -> CrossDomainClient:
        return self.clients[(agent, target)]


def build_cross_domain(*, world: World, runtime: Runtime, idp: OidcProviderActor,
                       agents: Mapping[str, AgentActor]) -> CrossDomainCast:
    assert idp.provider is not None
    exchange = TokenExchangeGrant.installed(idp.provider,
                                            entropy=runtime.entropy_for(idp.name).child("token-exchange"))
    for agent_id in agents:  # agents may exchange tokens at their IdP (policy decides what they get)
        registration = idp.provider.clients[agent_id]
        if GRANT_TYPE_TOKEN_EXCHANGE not in registration.grant_types:
            idp.provider.register_client(attrs.evolve(
                registration, grant_types=registration.grant_types | {GRANT_TYPE_TOKEN_EXCHANGE}))
    cast = CrossDomainCast(exchange=exchange)
    pricing = world.pricing
    if pricing is None:
        return cast
    idp_issuers = {world.idp.name: idp.base_url}
    pricing_as = build_resource_as(
        runtime=runtime, name=pricing.authorization_server, alg=pricing.signing_alg,
        resources={pricing.resource: frozenset(pricing.scopes)},
        trusted_issuers=tuple(idp_issuers[name] for name in pricing.trusted_idps if name in idp_issuers),
        access_token_lifetime=pricing.access_token_lifetime)
    assert pricing_as.server is not None
    agent_names: dict[str, str] = {}
    for spec in world.managed_connections:
        agent = agents[spec.agent]
        exchange.add_connection(ManagedConnection(
            name=spec.name, agent=spec.agent, target_issuer=pricing_as.base_url, target_client_id=spec.client_id,
            audience_aliases=spec.audience_aliases, resources=spec.resources, granted=spec.granted,
            needs_approval=spec.approval, refused=spec.refused, id_jag_lifetime=spec.id_jag_lifetime))
        key = runtime.new_signing_key(owner=spec.agent, purpose=f"client@{spec.target}",
                                      alg=world.agent(spec.agent).signing_alg)
        pricing_as.server.register_client(ClientRegistration(
            client_id=spec.client_id, name=agent.display_name, redirect_uris=(),
            jwks=JwkSet.from_json({"keys": [key.public_jwk()]}), grant_types=frozenset({GRANT_TYPE_JWT_BEARER}),
            scopes=frozenset(spec.granted + spec.approval)))
        agent_names[spec.client_id] = spec.agent
        cast.clients[(spec.agent, spec.target)] = CrossDomainClient(agent=agent, registration=ResourceAsRegistration(
            issuer=pricing_as.base_url, client_id=spec.client_id, signing_key=key))
    pricing_as.agent_names = agent_names
    pricing_as.introspection_cache = pricing.introspection_cache
    api_key = runtime.new_signing_key(owner=pricing.api, purpose=f"client@{pricing.authorization_server}",
                                      alg=pricing.signing_alg)
    pricing_as.server.register_resource_server(ClientRegistration(
        client_id=pricing.api, name="pricing API", redirect_uris=(), jwks=JwkSet.from_json(
            {"keys": [api_key.public_jwk()]})), resources=frozenset({pricing.resource}))
    cast.pricing_as = pricing_as
    cast.pricing_api = PricingApiActor(
        name=pricing.api, runtime=runtime, base_url=runtime.network.base_url_for(pricing.api),
        authorization_server=pricing_as.base_url, resource=pricing.resource, agent_names=agent_names,
        prices={tier: [entry.to_json() for entry in entries] for tier, entries in pricing.tiers().items()},
        introspector=TokenIntrospector(runtime=runtime, issuer=pricing_as.base_url, client_id=pricing.api,
                                       signing_key=api_key, cache_seconds=pricing.introspection_cache))
    return cast
