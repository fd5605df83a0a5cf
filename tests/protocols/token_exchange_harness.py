"""A no-I/O cross-domain world: the enterprise IdP core with its RFC 8693 grant and managed
connections, a resource AS (the pricing AS) trusting it, and helpers to mint and present tokens."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import attrs

from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest
from protocols.id_jag import IdJagClaims, mint_id_jag
from protocols.jose.keys import Algorithm, KeyRing, SigningKey
from protocols.managed_connections import ManagedConnection
from protocols.oauth.client_auth import ClientRegistration, build_client_assertion, client_assertion_params
from protocols.oidc.id_token import mint_id_token
from protocols.oidc.provider import Handled, OpenIdProvider
from protocols.oidc.token_exchange_grant import DelegationTarget, TokenExchangeGrant
from protocols.resource_authorization_server import KeysNeeded, ResourceAsConfig, ResourceAuthorizationServer
from protocols.token_exchange import GRANT_TYPE_JWT_BEARER, GRANT_TYPE_TOKEN_EXCHANGE, TokenExchangeRequest
from tests.protocols.oidc.harness import ISSUER, NOW, jwks_of, key, make_provider, provider_keys

PRICING = "https://pricing.example"
PRICING_API = "https://pricing.example/api"
ALIAS = "https://pricing.acmecorp.internal"
CRM = "https://crm.example/mcp"
AGENT_AT_PRICING = "acme-sales-agent"
SARAH = "u-sarah"


def agent_key() -> SigningKey:
    return key("agent")


def pricing_key() -> SigningKey:
    """The agent's own key at the pricing AS (not its IdP key)."""
    return key("agent@pricing")


def make_idp(*, approval: tuple[str, ...] = ()) -> tuple[OpenIdProvider, TokenExchangeGrant]:
    provider = make_provider()
    for client_id in ("sales-agent", "other-app"):
        registration = provider.clients[client_id]
        provider.register_client(attrs.evolve(registration,
                                              grant_types=registration.grant_types | {GRANT_TYPE_TOKEN_EXCHANGE}))
    grant = TokenExchangeGrant(provider=provider, entropy=SeededEntropy.for_actor(run_seed=5, actor="exchange"))
    grant.install()
    grant.add_connection(ManagedConnection(
        name="sales-agent -> pricing-as", agent="sales-agent", target_issuer=PRICING,
        target_client_id=AGENT_AT_PRICING, audience_aliases=(ALIAS,), resources=(PRICING_API,),
        granted=("pricing:read",), needs_approval=approval, refused=("pricing:write", "pricing:admin")))
    grant.register_target(DelegationTarget(identifier=CRM, name="mcp-crm", scopes={"mcp:crm:read", "mcp:crm:write"}))
    grant.register_target(DelegationTarget(identifier="other-app", name="other-app", scopes={"mcp:crm:read"},
                                           agent=True))
    return provider, grant


def id_token(provider: OpenIdProvider, *, client_id: str = "sales-agent", subject: str = SARAH, now: int = NOW,
             lifetime: int = 3600, signing_key: SigningKey | None = None, issuer: str = ISSUER) -> str:
    return mint_id_token(key=signing_key or provider.keyring.active, issuer=issuer, client_id=client_id,
                         subject=subject, now=now, auth_time=now, amr=("fed", "mfa"), nonce="n-0S6_WzA2Mj",
                         sid="sid-1", jti=f"id-{subject}-{client_id}-{now}",
                         profile_claims={"email": "sarah@acme.test"}, lifetime=lifetime)


_counter = iter(range(10**6))


def entropy() -> SeededEntropy:
    return SeededEntropy.for_actor(run_seed=next(_counter), actor="client")


def auth_params(*, client_id: str = "sales-agent", signing_key: SigningKey | None = None, audience: str = ISSUER,
                now: int = NOW) -> list[tuple[str, str]]:
    return list(client_assertion_params(client_id=client_id, audience=audience, key=signing_key or agent_key(),
                                        now=now, entropy=entropy()).items())


def actor_token(*, client_id: str = "sales-agent", signing_key: SigningKey | None = None, now: int = NOW) -> str:
    return build_client_assertion(client_id=client_id, audience=ISSUER, key=signing_key or agent_key(), now=now,
                                  entropy=entropy())


def form_request(url: str, pairs: list[tuple[str, str]], **headers: str) -> HttpRequest:
    return HttpRequest(method="POST", url=url, body=urlencode(pairs).encode(),
                       headers={"content-type": "application/x-www-form-urlencoded", **headers})


def post_exchange(provider: OpenIdProvider, request: TokenExchangeRequest | list[tuple[str, str]], *,
                  client_id: str = "sales-agent", signing_key: SigningKey | None = None, now: int = NOW,
                  auth: bool = True) -> Handled:
    pairs = request.to_form() if isinstance(request, TokenExchangeRequest) else list(request)
    if auth:
        pairs += auth_params(client_id=client_id, signing_key=signing_key, now=now)
    handled = provider.handle(form_request(ISSUER + "/token", pairs), now=now)
    assert isinstance(handled, Handled) and handled.response.status < 500, handled
    return handled


def make_pricing_as(*, issuer: str = PRICING, trusted: tuple[str, ...] = (ISSUER,)) -> ResourceAuthorizationServer:
    server = ResourceAuthorizationServer(
        config=ResourceAsConfig(issuer=issuer, resources={PRICING_API: frozenset({"pricing:read", "pricing:write",
                                                                                  "pricing:admin"})},
                                trusted_issuers=trusted),
        keyring=KeyRing.start(key(f"as:{issuer}")), entropy=SeededEntropy.for_actor(run_seed=9, actor=issuer))
    server.register_client(ClientRegistration(client_id=AGENT_AT_PRICING, name="Sales agent", redirect_uris=(),
                                              jwks=jwks_of(pricing_key()), grant_types={GRANT_TYPE_JWT_BEARER},
                                              scopes={"pricing:read"}))
    server.register_client(ClientRegistration(client_id="other-client", name="Other", redirect_uris=(),
                                              jwks=jwks_of(key("other@pricing")), grant_types={GRANT_TYPE_JWT_BEARER},
                                              scopes={"pricing:read"}))
    server.register_client(ClientRegistration(client_id="no-bearer", name="No bearer grant", redirect_uris=(),
                                              jwks=jwks_of(key("nobearer@pricing"))))
    return server


def redeem(server: ResourceAuthorizationServer, assertion: str, *, provider: OpenIdProvider | None = None,
           client_id: str = AGENT_AT_PRICING, signing_key: SigningKey | None = None, now: int = NOW,
           extra: list[tuple[str, str]] | None = None, auth: bool = True,
           headers: dict[str, str] | None = None) -> Handled:
    """POST the jwt-bearer grant; a ``KeysNeeded`` is answered with ``provider``'s published keys."""
    pairs = [("grant_type", GRANT_TYPE_JWT_BEARER), ("assertion", assertion), *(extra or [])]
    if auth:
        pairs += list(client_assertion_params(client_id=client_id, audience=server.issuer,
                                              key=signing_key or pricing_key(), now=now, entropy=entropy()).items())
    request = form_request(server.issuer + "/token", pairs, **(headers or {}))
    step = server.handle(request, now=now)
    if isinstance(step, KeysNeeded):
        server.update_keys(step.issuer, provider_keys(provider, now=now) if provider else None, now=now)
        step = server.handle(request, now=now)
    assert isinstance(step, Handled) and step.response.status < 500, step
    return step


def forged_id_jag(*, signing_key: SigningKey, issuer: str = ISSUER, audience: str = PRICING,
                  client_id: str = AGENT_AT_PRICING, scope: tuple[str, ...] = ("pricing:read",), now: int = NOW,
                  lifetime: int = 300, typ: str | None = "oauth-id-jag+jwt", **changes: Any) -> str:
    """An ID-JAG built by the test (signed with whatever key it is given)."""
    from protocols.jose.jwt import sign_jwt

    claims = IdJagClaims(issuer=issuer, subject=SARAH, audience=audience, client_id=client_id, jti=f"jag-{now}",
                         issued_at=now, expires_at=now + lifetime, resource=(PRICING_API,), scope=scope).to_claims()
    claims.update(changes)
    if typ == "oauth-id-jag+jwt" and not changes:
        return mint_id_jag(IdJagClaims.from_claims(claims), key=signing_key)
    return sign_jwt(claims=claims, key=signing_key, typ=typ)


def rsa_key(label: str) -> SigningKey:
    return key(label, Algorithm.RS256)
