"""The pricing authorization server: Acme's internal pricing system has its own trust domain (its
own issuer, signing keys and client registrations) and accepts the enterprise IdP's ID-JAGs
(draft-ietf-oauth-identity-assertion-authz-grant §4.4) through the RFC 7523 jwt-bearer grant.

A thin shell around ``protocols.resource_authorization_server``: receive, let the core answer;
when the core asks for a trusted IdP's keys (first use, or a ``kid`` it does not know after the
IdP rotated), read the IdP's discovery document and JWKS over the network (OIDC Discovery §4,
RFC 7517 §5), hand them to the core and answer the same request; audit the outcome. The audit
line names the platform's agent id: the client id at this AS differs (draft §3 ``client_id``).
An introspection that finds the token active (RFC 7662) is only logged — the pricing API audits
the call it allows; every inactive answer and every refused caller is audited.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from actors.oidc_provider import audited
from actors.runtime.actor import HttpActor
from actors.runtime.context import Runtime
from actors.runtime.network import Unreachable
from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.jose.jwks import InvalidJwkSet, JwkSet
from protocols.jose.keys import Algorithm, KeyRing
from protocols.oauth.errors import TemporarilyUnavailable
from protocols.oauth.outcome import Outcome
from protocols.oidc.discovery import DiscoveryRejected, ProviderMetadata, discovery_url
from protocols.resource_authorization_server import (
    KeysNeeded, ResourceAsConfig, ResourceAuthorizationServer,
)



@attrs.define(eq=False)
class ResourceAuthorizationServerActor(HttpActor):
    server: ResourceAuthorizationServer | None = None
    agent_names: Mapping[str, str] = attrs.field(factory=dict)
    """client id at this AS → the platform's agent id, for the unified audit log."""
    introspection_cache: int | None = None
    """How long (s) its resource servers may keep a positive introspection answer (0: they ask on
    every request); ``None``: they validate its JWTs alone, so revocations must be propagated."""

    def revoke_client_tokens(self, client_id: str) -> list[str]:
        """Revoke every live access token of ``client_id`` here: introspection reports them inactive."""
        assert self.server is not None
        return self.server.revoke_client(client_id, now=self.runtime.clock.now())

    async def handle(self, request: HttpRequest) -> HttpResponse:
        assert self.server is not None
        step = self.server.handle(request, now=self.runtime.clock.now())
        if isinstance(step, KeysNeeded):
            await self.refresh_keys(step.issuer)
            step = self.server.handle(request, now=self.runtime.clock.now())
            if isinstance(step, KeysNeeded):  # cannot happen: the fetch was just recorded
                raise TemporarilyUnavailable("the identity provider's keys are unavailable")
        await self.record(step.outcome)
        return step.response

    async def refresh_keys(self, issuer: str) -> None:
        """Fetch a trusted IdP's published keys via its discovery document."""
        assert self.server is not None
        network = self.runtime.network
        try:
            response = await network.send(HttpRequest.get(discovery_url(issuer)))
            if response.status != 200:
                raise DiscoveryRejected(f"discovery answered HTTP {response.status}")
            metadata = ProviderMetadata.from_json(response.json(), expected_issuer=issuer)
            response = await network.send(HttpRequest.get(metadata.jwks_uri))
            if response.status != 200:
                raise InvalidJwkSet(f"the JWKS answered HTTP {response.status}")
            keys = JwkSet.from_json(response.json())
        except (Unreachable, DiscoveryRejected, InvalidJwkSet, MalformedBody) as error:
            self.server.update_keys(issuer, None, now=self.runtime.clock.now())
            await self.audit("trust.keys_fetch_failed", decision="deny", reason=type(error).__name__, idp=issuer)
            return
        self.server.update_keys(issuer, keys, now=self.runtime.clock.now())
        await self.audit("trust.keys_fetched", decision="allow", reason="trusted IdP keys read from its JWKS",
                         idp=issuer, kids=sorted(keys.kids()))

    async def record(self, outcome: Outcome) -> None:
        self.runtime.secrets.add_all(outcome.secrets)
        if not audited(outcome):
            self.log.debug(outcome.event, jti=outcome.details.get("jti"), client=outcome.details.get("client"))
            return
        agent = self.agent_names.get(outcome.client_id or "", outcome.client_id)
        details = dict(outcome.details)
        if outcome.client_id is not None:
            details["client_id"] = outcome.client_id
        await self.audit(outcome.event, agent=agent, subject=outcome.subject, decision=outcome.decision.value,
                         reason=outcome.reason or None, **details)


def build_resource_as(*, runtime: Runtime, name: str, alg: Algorithm, resources: Mapping[str, frozenset[str]],
                      trusted_issuers: tuple[str, ...], access_token_lifetime: int) -> ResourceAuthorizationServerActor:
    """A resource AS named ``name`` with its own seeded keys and issuer (its base URL)."""
    issuer = runtime.network.base_url_for(name)
    keyring = KeyRing.start(runtime.new_signing_key(owner=name, purpose="keys", alg=alg))
    config = ResourceAsConfig(issuer=issuer, resources=dict(resources), trusted_issuers=trusted_issuers,
                              access_token_lifetime=access_token_lifetime)
    server = ResourceAuthorizationServer(config=config, keyring=keyring, entropy=runtime.entropy_for(name))
    return ResourceAuthorizationServerActor(name=name, runtime=runtime, base_url=issuer, server=server)
