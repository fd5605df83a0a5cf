"""The pricing API: an OAuth 2.0 resource server that trusts only its own authorization server
(the pricing AS), serving Acme's price lists read-only.

- ``GET /prices/<tier>`` (e.g. ``/prices/enterprise-tier``) needs a bearer token (RFC 6750 §2.1,
  header only) that is an RFC 9068 ``at+jwt`` of the pricing AS, for this API's resource identifier,
  unexpired, signed with a key from the AS's JWKS (read from its RFC 8414 metadata, re-read when a
  ``kid`` is unknown), with scope ``pricing:read`` — and, these local checks passed, still active at
  the AS: RFC 7662 introspection (``actors.token_introspection``), so a token revoked there, or
  whose client was removed, is refused at once (``401 invalid_token``); the AS not answering is
  ``503 temporarily_unavailable`` (fail closed).
- No token → ``401`` challenge without ``error``; a bad, expired, foreign (an IdP token passed
  straight through) or wrong-audience token → ``401 invalid_token``; valid without the scope →
  ``403 insufficient_scope`` with ``scope="pricing:read"`` (RFC 6750 §3, §3.1).
- Writes (``POST``/``PUT``/``PATCH``/``DELETE``) are authenticated the same way: without
  ``pricing:write`` → ``403 insufficient_scope``; even with it → ``405``, the API is read-only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from actors.runtime.actor import HttpActor
from actors.runtime.network import Unreachable
from actors.token_introspection import TokenIntrospector
from protocols.access_token import challenge, require_scope
from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.jose.jwks import InvalidJwkSet, JwkSet
from protocols.jwt_bearer import assertion_key_need, peek
from protocols.oauth.errors import InvalidToken, MethodNotAllowed, NotFound, OAuthError, TemporarilyUnavailable
from protocols.oauth.metadata import metadata_url
from protocols.oidc.userinfo import AccessTokenClaims, MissingBearerToken, extract_bearer_token, validate_access_token
from protocols.resource_authorization_server import MetadataRejected, ResourceAsMetadata

PRICES_PREFIX = "/prices/"
READ_SCOPE = "pricing:read"
WRITE_SCOPE = "pricing:write"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
KEY_REFRESH_INTERVAL = 60


@attrs.define(eq=False)
class PricingApiActor(HttpActor):
    """``resource`` is this API's RFC 8707 identifier (the ``aud`` of its tokens); ``prices`` maps
    a tier to its price rows."""

    authorization_server: str = ""
    resource: str = ""
    prices: Mapping[str, list[dict[str, Any]]] = attrs.field(factory=dict)
    agent_names: Mapping[str, str] = attrs.field(factory=dict)
    introspector: TokenIntrospector | None = None
    """Asks the AS whether each token is still active (``None``: local validation only)."""
    _keys: JwkSet | None = attrs.field(default=None, init=False, repr=False)
    _introspection_endpoint: str | None = attrs.field(default=None, init=False)
    _fetched_at: int | None = attrs.field(default=None, init=False)

    async def handle(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(PRICES_PREFIX):
            raise NotFound(f"no endpoint at {request.path}")
        tier = request.path[len(PRICES_PREFIX):]
        write = request.method in WRITE_METHODS
        if request.method not in ("GET", *WRITE_METHODS):
            raise MethodNotAllowed(f"{request.method} is not allowed on {request.path}")
        realm = "pricing"
        try:
            token, confirmed = await self.authenticate(request)
        except MissingBearerToken:
            await self.audit("pricing.denied", decision="deny", reason="missing_token", method=request.method,
                             tier=tier)
            return challenge(realm=realm)
        except InactiveToken as inactive:
            error, token = inactive.error, inactive.claims
            await self.audit("pricing.denied", agent=self.agent_names.get(token.client_id, token.client_id),
                             subject=token.subject, decision="deny", reason=f"{error.error}: {error.description}",
                             method=request.method, tier=tier, jti=token.jti, check="introspection")
            return error.to_response() if isinstance(error, TemporarilyUnavailable) else challenge(realm=realm,
                                                                                                    error=error)
        except OAuthError as error:
            await self.audit("pricing.denied", decision="deny", reason=f"{error.error}: {error.description}",
                             method=request.method, tier=tier)
            return challenge(realm=realm, error=error)
        agent = self.agent_names.get(token.client_id, token.client_id)
        needed = WRITE_SCOPE if write else READ_SCOPE
        try:
            require_scope(token, needed)
        except OAuthError as error:
            await self.audit("pricing.denied", agent=agent, subject=token.subject, decision="deny",
                             reason=f"{error.error}: {error.description}", method=request.method, tier=tier,
                             scope=" ".join(token.scope), jti=token.jti)
            return challenge(realm=realm, error=error, scope=needed)
        if write:
            await self.audit("pricing.denied", agent=agent, subject=token.subject, decision="deny",
                             reason="method_not_allowed: the pricing API is read-only", method=request.method,
                             tier=tier, jti=token.jti)
            raise MethodNotAllowed("the pricing API is read-only")
        rows = self.prices.get(tier)
        if rows is None:
            await self.audit("pricing.denied", agent=agent, subject=token.subject, decision="deny",
                             reason="not_found: unknown tier", tier=tier, jti=token.jti)
            raise NotFound("no such price tier")
        await self.audit("pricing.served", agent=agent, subject=token.subject, decision="allow",
                         reason=f"token of the pricing AS with pricing:read, {confirmed}", tier=tier, items=len(rows),
                         jti=token.jti)
        return HttpResponse.json_body({"tier": tier, "currency": "EUR", "prices": rows},
                                      headers={"cache-control": "no-store"})

    async def authenticate(self, request: HttpRequest) -> tuple[AccessTokenClaims, str]:
        """RFC 6750 §2.1 extraction, RFC 9068 §4 validation with the AS's published keys, then RFC 7662
        introspection at the AS (``InactiveToken``); the claims and how the token was confirmed."""
        token = extract_bearer_token(request)
        keys = await self._keys_for(token)
        claims = validate_access_token(token, issuer=self.authorization_server, audience=self.resource, keys=keys,
                                       now=self.runtime.clock.now())
        if self.introspector is None:
            return claims, "validated locally"
        try:
            return claims, await self.introspector.confirm(token, claims, endpoint=self._introspection_endpoint)
        except OAuthError as error:
            raise InactiveToken(error=error, claims=claims) from None

    async def _keys_for(self, token: str) -> JwkSet:
        now = self.runtime.clock.now()
        keys = self._keys if self._keys is not None else JwkSet.from_json({"keys": []})
        try:
            stale = assertion_key_need(peek(token), trusted={self.authorization_server: keys}) is not None
        except OAuthError:
            raise InvalidToken("malformed access token") from None
        if (self._keys is None or stale) and (self._fetched_at is None or now - self._fetched_at >= KEY_REFRESH_INTERVAL):
            self._fetched_at = now
            try:
                self._keys = await self._fetch_keys()
            except (Unreachable, MetadataRejected, InvalidJwkSet, MalformedBody) as error:
                await self.audit("trust.keys_fetch_failed", decision="deny", reason=type(error).__name__)
            else:
                await self.audit("trust.keys_fetched", decision="allow",
                                 reason="authorization server keys read from its JWKS", kids=sorted(self._keys.kids()))
        return self._keys if self._keys is not None else keys

    async def _fetch_keys(self) -> JwkSet:
        network = self.runtime.network
        response = await network.send(HttpRequest.get(metadata_url(self.authorization_server)))
        if response.status != 200:
            raise MetadataRejected(f"metadata answered HTTP {response.status}")
        metadata = ResourceAsMetadata.from_json(response.json(), expected_issuer=self.authorization_server)
        self._introspection_endpoint = metadata.introspection_endpoint
        response = await network.send(HttpRequest.get(metadata.jwks_uri))
        if response.status != 200:
            raise InvalidJwkSet(f"the JWKS answered HTTP {response.status}")
        return JwkSet.from_json(response.json())


class InactiveToken(Exception):
    """A token valid by its signature, audience and expiry that the AS did not confirm active."""

    def __init__(self, *, error: OAuthError, claims: AccessTokenClaims) -> None:
        super().__init__(error.error)
        self.error, self.claims = error, claims
