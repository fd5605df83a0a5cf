"""The agent's client side of cross-domain access (ID-JAG draft §4.3–§4.4, RFC 7523, RFC 6750).

An agent that signed a user in (phase 2) holds the user's ID token, issued to the agent. To reach
a system in another trust domain it

1. asks its IdP for an ID-JAG (RFC 8693 token exchange, ``requested_token_type`` id-jag,
   ``audience`` = the target AS issuer, ``resource``, ``scope``), authenticating with its IdP key;
2. reads the target AS's RFC 8414 metadata (checks the ID-JAG profile is supported) and redeems the
   ID-JAG there with the jwt-bearer grant, authenticating with its **own registration at that AS**
   (a separate key and client id: the trust domains share nothing but the IdP's signature);
3. calls the API with the access token in the ``Authorization`` header.

:class:`CrossDomainClient` binds one agent to one target AS; every step is audited by the agent
with the user it acts for, and every token it handles is registered for redaction.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import attrs

from actors.agent import AgentActor, Delegation
from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.id_jag import id_jag_request
from protocols.jose.keys import SigningKey
from protocols.oauth.client_auth import client_assertion_params
from protocols.oauth.errors import OAuthError, TemporarilyUnavailable
from protocols.oauth.metadata import metadata_url
from protocols.oauth.token_response import TokenResponse, TokenResponseRejected
from protocols.resource_authorization_server import MetadataRejected, ResourceAsMetadata
from protocols.token_exchange import (
    GRANT_TYPE_JWT_BEARER, TOKEN_TYPE_ID_JAG, TokenExchangeResponse, TokenExchangeResponseRejected,
)


class CrossDomainFailed(Exception):
    """A step failed; ``error`` is the remote OAuth error when there was one."""

    def __init__(self, step: str, reason: str, *, error: OAuthError | None = None) -> None:
        super().__init__(f"{step}: {reason}")
        self.step, self.reason, self.error = step, reason, error


@attrs.frozen(kw_only=True)
class ResourceAsRegistration:
    """The agent's registration at a resource AS: that AS's issuer, the agent's client id there and
    the key it authenticates with (``private_key_jwt``)."""

    issuer: str
    client_id: str
    signing_key: SigningKey = attrs.field(repr=False)


@attrs.frozen(kw_only=True)
class IdJagGrant:
    """An ID-JAG the IdP issued, as the client sees it (the JWT is opaque to the client)."""

    assertion: str = attrs.field(repr=False)
    scope: tuple[str, ...]
    expires_in: int | None
    audience: str


@attrs.define(eq=False)
class CrossDomainClient:
    agent: AgentActor
    registration: ResourceAsRegistration
    _metadata: ResourceAsMetadata | None = attrs.field(default=None, init=False)
    _entropy: SeededEntropy = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self._entropy = self.agent.runtime.entropy_for(self.agent.name).child(f"cross-domain:{self.registration.client_id}")

    @property
    def runtime(self) -> Any:
        return self.agent.runtime

    async def _post_form(self, url: str, pairs: list[tuple[str, str]]) -> HttpResponse:
        request = HttpRequest(method="POST", url=url, body=urlencode(pairs).encode(),
                              headers={"content-type": "application/x-www-form-urlencoded",
                                       "accept": "application/json"})
        return await self.runtime.network.send(request)

    def _client_auth(self, *, client_id: str, audience: str, key: SigningKey) -> list[tuple[str, str]]:
        params = client_assertion_params(client_id=client_id, audience=audience, key=key,
                                         now=self.runtime.clock.now(), entropy=self._entropy)
        self.runtime.secrets.add(params["client_assertion"])
        return list(params.items())

    # -- step 1: token exchange at the IdP (draft §4.3) -------------------------------------------

    async def obtain_id_jag(self, delegation: Delegation, *, resource: tuple[str, ...] = (),
                            scope: tuple[str, ...] = (), audience: str | None = None) -> IdJagGrant:
        agent = self.agent
        rp = await agent.discover()
        target = audience or self.registration.issuer
        request = id_jag_request(id_token=delegation.id_token, audience=target, resource=resource, scope=scope)
        assert agent.signing_key is not None
        pairs = request.to_form() + self._client_auth(client_id=agent.client_id, audience=agent.idp_issuer,
                                                       key=agent.signing_key)
        response = await self._post_form(rp.metadata.token_endpoint, pairs)
        try:
            result = TokenExchangeResponse.from_response(response, expected_type=TOKEN_TYPE_ID_JAG)
        except OAuthError as error:
            await agent.audit("agent.id_jag_refused", agent=agent.name, subject=delegation.subject, decision="deny",
                              reason=f"{error.error}: {error.description}", scope=" ".join(scope))
            raise CrossDomainFailed("id-jag", error.description, error=error) from None
        except TokenExchangeResponseRejected as exc:
            await agent.audit("agent.id_jag_refused", agent=agent.name, subject=delegation.subject, decision="deny",
                              reason=f"unusable response: {exc}")
            raise CrossDomainFailed("id-jag", str(exc)) from None
        self.runtime.secrets.add(result.access_token)
        await agent.audit("agent.id_jag_obtained", agent=agent.name, subject=delegation.subject, decision="allow",
                          reason="IdP issued an ID-JAG for the target authorization server",
                          scope=" ".join(result.scope), expires_in=result.expires_in)
        return IdJagGrant(assertion=result.access_token, scope=result.scope, expires_in=result.expires_in,
                          audience=target)

    # -- step 2: redemption at the resource AS (draft §4.4, RFC 7523 §2.1) --------------------------

    async def metadata(self) -> ResourceAsMetadata:
        if self._metadata is None:
            issuer = self.registration.issuer
            response = await self.runtime.network.send(HttpRequest.get(metadata_url(issuer)))
            if response.status != 200:
                raise TemporarilyUnavailable(f"authorization server metadata answered HTTP {response.status}")
            try:
                self._metadata = ResourceAsMetadata.from_json(response.json(), expected_issuer=issuer)
            except (MetadataRejected, MalformedBody) as exc:
                raise CrossDomainFailed("metadata", str(exc)) from None
        return self._metadata

    async def redeem(self, grant: IdJagGrant, *, user: str, scope: tuple[str, ...] = (),
                     resource: str | None = None) -> TokenResponse:
        agent = self.agent
        metadata = await self.metadata()
        pairs = [("grant_type", GRANT_TYPE_JWT_BEARER), ("assertion", grant.assertion)]
        if scope:
            pairs.append(("scope", " ".join(scope)))
        if resource:
            pairs.append(("resource", resource))
        pairs += self._client_auth(client_id=self.registration.client_id, audience=self.registration.issuer,
                                   key=self.registration.signing_key)
        response = await self._post_form(metadata.token_endpoint, pairs)
        try:
            tokens = TokenResponse.from_response(response)
        except OAuthError as error:
            await agent.audit("agent.cross_domain_token_refused", agent=agent.name, subject=user, decision="deny",
                              reason=f"{error.error}: {error.description}")
            raise CrossDomainFailed("redeem", error.description, error=error) from None
        except TokenResponseRejected as exc:
            raise CrossDomainFailed("redeem", str(exc)) from None
        self.runtime.secrets.add(tokens.access_token)
        await agent.audit("agent.cross_domain_token_obtained", agent=agent.name, subject=user, decision="allow",
                          reason="resource AS redeemed the ID-JAG", scope=" ".join(tokens.scope),
                          expires_in=tokens.expires_in, refresh_token=tokens.refresh_token is not None)
        return tokens

    # -- step 3: the API call (RFC 6750 §2.1) ---------------------------------------------------

    async def call(self, url: str, *, access_token: str, user: str, method: str = "GET") -> HttpResponse:
        request = HttpRequest(method=method, url=url, headers={"authorization": f"Bearer {access_token}",
                                                               "accept": "application/json"})
        response = await self.runtime.network.send(request)
        agent = self.agent
        if response.status == 200:
            await agent.audit("agent.api_called", agent=agent.name, subject=user, decision="allow",
                              reason="resource served", method=method, status=response.status)
        else:
            challenge = response.header("www-authenticate") or ""
            await agent.audit("agent.api_refused", agent=agent.name, subject=user, decision="deny",
                              reason=f"HTTP {response.status}", method=method, status=response.status,
                              challenge=challenge)
        return response
