"""A resource authorization server in another trust domain — the "Resource AS" of the ID-JAG
draft (draft-ietf-oauth-identity-assertion-authz-grant §4.4, §7) — as a sans-IO core.

Endpoints below the issuer:

- ``GET /.well-known/oauth-authorization-server`` — RFC 8414 §3 metadata with the draft's §7
  members: ``authorization_grant_profiles_supported`` lists the ID-JAG profile, so
  ``grant_types_supported`` lists the jwt-bearer grant. It does not reveal which IdPs are trusted.
  There is no authorization endpoint (no interactive grant), so ``response_types_supported`` has
  no element and is omitted (RFC 8414 §2: zero-element members are omitted).
- ``GET /jwks`` — the keys that sign our access tokens (RFC 7517 §5).
- ``POST /token`` — only ``urn:ietf:params:oauth:grant-type:jwt-bearer`` (RFC 7523 §2.1) carrying
  an ID-JAG, with the client's **own** authentication at this AS (``protocols.oauth.client_auth``):
  1. client authentication (``invalid_client`` 401 / ``invalid_request``), the client may use the grant
     (``unauthorized_client``);
  2. the ID-JAG (``protocols.id_jag.validate_id_jag``): trusted issuer and its published keys,
     ``typ``, ``aud`` = our issuer (single), ``exp``/``iat``, lifetime cap, ``client_id`` = the
     authenticated client — every failure ``invalid_grant`` (draft §4.4.3);
  3. subject resolution: (``iss``, ``sub``) of a trusted IdP, provisioned just in time (§4.4 step 6);
  4. ``resource`` (RFC 8707): one resource we serve, within the ID-JAG's ``resource`` → else
     ``invalid_target``; ``scope``: a request may narrow the ID-JAG's scope (else ``invalid_scope``),
     and the grant is cut to what the resource accepts and the client is registered for; nothing
     left → ``invalid_scope``;
  5. an RFC 9068 ``at+jwt`` for that resource; **no refresh token** (draft §4.4.2).
  Re-presenting an unexpired ID-JAG yields a fresh access token (draft §4.4.4); ``jti`` is kept
  only to count presentations for the audit trail.
- ``POST /revoke`` — RFC 7009: a client revokes an access token issued to it (``token_type_hint``
  ``refresh_token`` is ``unsupported_token_type``: none are issued); ``200`` whatever the token.
- ``POST /introspect`` — RFC 7662 (``protocols.oauth.introspection_endpoint``, the handler the
  OpenID Provider serves too): only the protected resources registered here
  (:meth:`ResourceAuthorizationServer.register_resource_server`, authenticated like clients: else
  ``401 invalid_client``) learn whether a token for a resource they serve is still active — revoked,
  its client removed or its scope withdrawn (``protocols.resource_as_tokens``) ends it at once;
  every inactive, expired, unknown or foreign token is ``{"active": false}``.

Trusted IdP keys come from the IdP's published JWK Set, fetched over the network by the actor:
``handle`` returns :class:`KeysNeeded` (before authenticating the client, so no single-use client
assertion is consumed) when a trusted issuer's key set lacks the ID-JAG's ``kid`` and was not
refreshed within ``key_refresh_interval`` — which also follows the IdP's key rotation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

from protocols.access_token import access_token_claims, mint_access_token, verify_own_access_token
from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest, HttpResponse
from protocols.id_jag import GRANT_PROFILE_ID_JAG, MAX_ID_JAG_LIFETIME, validate_id_jag
from protocols.jose.jwks import JwkSet
from protocols.jose.keys import KeyRing
from protocols.jwt_bearer import JwtBearerRequest, assertion_key_need, peek
from protocols.oauth.client_auth import AssertionReplayCache, AuthenticatedClient, ClientRegistration
from protocols.oauth.errors import InvalidRequest, InvalidScope, InvalidTarget, MethodNotAllowed, NotFound, OAuthError
from protocols.oauth.introspection import INTROSPECTION_PATH
from protocols.oauth.introspection_endpoint import ProtectedResources, serve_introspection
from protocols.oauth.metadata import (
    SIGNING_ALGS, AuthorizationServerMetadata, MetadataRejected, flag, metadata_url, strings,
)
from protocols.oauth.outcome import Decision, Handled, Outcome, refused_explained
from protocols.oauth.revocation import ACCESS_TOKEN_HINT, RevocationRequest, revocation_response
from protocols.oauth.token_endpoint import ClientAuthenticator, read_token_form, serve_token_request
from protocols.oauth.token_response import TokenResponse
from protocols.resource_as_tokens import IssuedToken, IssuedTokens
from protocols.token_exchange import GRANT_TYPE_JWT_BEARER, scopes_outside

TOKEN_PATH = "/token"
JWKS_PATH = "/jwks"
REVOCATION_PATH = "/revoke"


@attrs.frozen(kw_only=True)
class ResourceAsMetadata(AuthorizationServerMetadata):
    """The RFC 8414 §2 document of a jwt-bearer-only AS (no authorization endpoint, so no response
    types or PKCE members) with its revocation (RFC 7009) and introspection (RFC 7662) endpoints,
    plus the ID-JAG draft §7 member."""

    response_types_supported: tuple[str, ...] = strings()
    response_modes_supported: tuple[str, ...] = strings()
    grant_types_supported: tuple[str, ...] = strings((GRANT_TYPE_JWT_BEARER,))
    authorization_grant_profiles_supported: tuple[str, ...] = strings((GRANT_PROFILE_ID_JAG,))
    token_endpoint_auth_methods_supported: tuple[str, ...] = strings(("private_key_jwt", "client_secret_basic"))
    revocation_endpoint_auth_methods_supported: tuple[str, ...] = strings(("private_key_jwt", "client_secret_basic"))
    introspection_endpoint_auth_methods_supported: tuple[str, ...] = strings(("private_key_jwt",
                                                                              "client_secret_basic"))
    introspection_endpoint_auth_signing_alg_values_supported: tuple[str, ...] = strings(SIGNING_ALGS)
    code_challenge_methods_supported: tuple[str, ...] = strings()
    authorization_response_iss_parameter_supported: bool | None = flag(None)

    @classmethod
    def for_issuer(cls, issuer: str, **overrides: Any) -> ResourceAsMetadata:
        base = issuer.rstrip("/")
        return cls(issuer=issuer, token_endpoint=base + TOKEN_PATH, jwks_uri=base + JWKS_PATH,
                   revocation_endpoint=base + REVOCATION_PATH, introspection_endpoint=base + INTROSPECTION_PATH,
                   **overrides)

    @classmethod
    def from_json(cls, document: Any, *, expected_issuer: str) -> ResourceAsMetadata:
        """Client check (RFC 8414 §3.3, draft §7): same issuer, the ID-JAG profile and grant."""
        document = cls.checked_document(document, expected_issuer=expected_issuer)
        values = cls.typed_members(document)
        for name in ("token_endpoint", "jwks_uri"):
            if name not in values:
                raise MetadataRejected(f"the metadata lacks {name}")
        metadata = cls(**values)
        if GRANT_PROFILE_ID_JAG not in metadata.authorization_grant_profiles_supported:
            raise MetadataRejected("the authorization server does not support the ID-JAG grant profile")
        if GRANT_TYPE_JWT_BEARER not in metadata.grant_types_supported:
            raise MetadataRejected("an ID-JAG server must list the jwt-bearer grant (draft sec. 7)")
        return metadata


@attrs.frozen(kw_only=True)
class ResourceAsConfig:
    """``resources``: RFC 8707 identifier → the scopes that resource accepts."""

    issuer: str
    resources: Mapping[str, frozenset[str]]
    trusted_issuers: tuple[str, ...] = attrs.field(converter=tuple)
    access_token_lifetime: int = 600
    max_assertion_lifetime: int = MAX_ID_JAG_LIFETIME
    key_refresh_interval: int = 60

    def metadata(self) -> ResourceAsMetadata:
        scopes = sorted({s for scopes in self.resources.values() for s in scopes})
        return ResourceAsMetadata.for_issuer(self.issuer, scopes_supported=scopes)


@attrs.frozen(kw_only=True)
class KeysNeeded:
    """The actor must (re)fetch ``issuer``'s published keys, call ``update_keys``, then ``handle``
    the same request again."""

    issuer: str


@attrs.frozen(kw_only=True)
class _TrustedKeys:
    keys: JwkSet
    fetched_at: int | None


@attrs.define
class ResourceAuthorizationServer:
    """State: our keys, clients, the protected resources that may introspect (and the resources
    each serves), the trusted IdPs' keys, the client-assertion replay cache, the ID-JAG presentation
    counts, the subjects provisioned just in time and the record of the tokens issued."""

    config: ResourceAsConfig
    keyring: KeyRing
    entropy: SeededEntropy = attrs.field(repr=False)
    clients: dict[str, ClientRegistration] = attrs.field(factory=dict)
    subjects: dict[tuple[str, str], str | None] = attrs.field(factory=dict)
    protected_resources: ProtectedResources = attrs.field(factory=ProtectedResources)
    tokens: IssuedTokens = attrs.field(factory=IssuedTokens, repr=False)
    _trusted: dict[str, _TrustedKeys] = attrs.field(factory=dict, init=False)
    _replay: AssertionReplayCache = attrs.field(factory=AssertionReplayCache, init=False, repr=False)
    _presentations: dict[str, tuple[int, int]] = attrs.field(factory=dict, init=False)

    def __attrs_post_init__(self) -> None:
        for issuer in self.config.trusted_issuers:
            self._trusted[issuer] = _TrustedKeys(keys=JwkSet.from_json({"keys": []}), fetched_at=None)

    @property
    def issuer(self) -> str:
        return self.config.issuer

    @property
    def metadata(self) -> ResourceAsMetadata:
        return self.config.metadata()

    @property
    def well_known_url(self) -> str:
        return metadata_url(self.issuer)

    def register_client(self, registration: ClientRegistration) -> None:
        self.clients[registration.client_id] = registration

    def register_resource_server(self, registration: ClientRegistration, *, resources: frozenset[str]) -> None:
        """A protected resource allowed to introspect tokens issued for ``resources`` (RFC 7662 §2.1,
        §4: it learns nothing about tokens for other resources). It cannot use the token endpoint."""
        unknown = sorted(set(resources) - set(self.config.resources))
        if unknown:
            raise ValueError(f"not a resource of this authorization server: {unknown[0]}")
        self.protected_resources.register(registration, resources=resources)

    def revoke_client(self, client_id: str, *, now: int) -> list[str]:
        """Revoke every live access token of ``client_id`` (an administrator removed it); their jtis."""
        return self.tokens.revoke_client(client_id, now=now)

    def trusted_keys(self) -> dict[str, JwkSet]:
        return {issuer: trusted.keys for issuer, trusted in self._trusted.items()}

    def update_keys(self, issuer: str, keys: JwkSet | None, *, now: int) -> None:
        """Record a fetch of ``issuer``'s keys (``None``: the fetch failed; keep the old set)."""
        previous = self._trusted[issuer]
        self._trusted[issuer] = _TrustedKeys(keys=keys if keys is not None else previous.keys, fetched_at=now)

    def public_keys(self, *, now: int) -> JwkSet:
        return JwkSet.from_ring(self.keyring, now=now)

    def purge(self, *, now: int) -> None:
        self._replay.purge(now=now)
        self.tokens.purge(now=now)
        for jti in [j for j, (_, exp) in self._presentations.items() if exp < now - 60]:
            del self._presentations[jti]

    # -- dispatch ------------------------------------------------------------------------------

    def handle(self, request: HttpRequest, *, now: int) -> Handled | KeysNeeded:
        self.purge(now=now)
        path = request.path
        base = urlsplit(self.issuer).path.rstrip("/")
        routes = {urlsplit(self.well_known_url).path: ("GET", self._metadata), base + JWKS_PATH: ("GET", self._jwks),
                  base + TOKEN_PATH: ("POST", self._token), base + REVOCATION_PATH: ("POST", self._revoke),
                  base + INTROSPECTION_PATH: ("POST", self._introspect)}
        route = routes.get(path)
        if route is None:
            return refused_explained(NotFound("no such endpoint"), event="http.refused")
        method, handler = route
        if request.method != method:
            return refused_explained(MethodNotAllowed(f"use {method}"), event="http.refused")
        return handler(request, now)

    def _metadata(self, request: HttpRequest, now: int) -> Handled:
        return Handled(response=self.metadata.to_response(),
                       outcome=Outcome(event="discovery.served", decision=Decision.ALLOW))

    def _jwks(self, request: HttpRequest, now: int) -> Handled:
        document = self.keyring.jwks(now=now)
        return Handled(response=HttpResponse.json_body(document, headers={"cache-control": "max-age=300"}),
                       outcome=Outcome(event="jwks.served", decision=Decision.ALLOW))

    # -- token endpoint ------------------------------------------------------------------------

    def _keys_needed(self, form: Mapping[str, str], now: int) -> KeysNeeded | None:
        assertion = form.get("assertion")
        if form.get("grant_type") != GRANT_TYPE_JWT_BEARER or not assertion:
            return None
        try:
            issuer = assertion_key_need(peek(assertion), trusted=self.trusted_keys())
        except OAuthError:
            return None
        if issuer is None:
            return None
        fetched_at = self._trusted[issuer].fetched_at
        if fetched_at is not None and now - fetched_at < self.config.key_refresh_interval:
            return None
        return KeysNeeded(issuer=issuer)

    def _token(self, request: HttpRequest, now: int) -> Handled | KeysNeeded:
        """Keys first (no client assertion is spent on a request that must wait for them), then the
        shared token-endpoint steps (``protocols.oauth.token_endpoint``) and the jwt-bearer grant."""
        try:
            need = self._keys_needed(read_token_form(request), now)
        except OAuthError:
            need = None  # a malformed body is refused by the shared steps
        if need is not None:
            return need

        def refuse(error: OAuthError, client_id: str | None) -> Handled:
            return refused_explained(error, event="id_jag.rejected", client_id=client_id)

        return serve_token_request(request, now=now, authenticate=self._authenticator(),
                                   grants={GRANT_TYPE_JWT_BEARER: self._redeem}, refuse=refuse,
                                   unsupported="this authorization server only redeems ID-JAGs (jwt-bearer)",
                                   unauthorized="client may not use the jwt-bearer grant")

    def _redeem(self, *, client: AuthenticatedClient, form: Mapping[str, str], now: int) -> Handled:
        """RFC 7523 §2.1 carrying an ID-JAG (draft §4.4): steps 2–5 of the module docstring."""
        subject: str | None = None
        try:
            grant = JwtBearerRequest.from_form(form)
            id_jag = validate_id_jag(grant.assertion, trusted=self.trusted_keys(), audience=self.issuer,
                                     client_id=client.client_id, now=now,
                                     max_lifetime=self.config.max_assertion_lifetime)
            subject = id_jag.subject
            resource = self._resource(form, id_jag.resource)
            scope = self._scope(requested=grant.scope, granted=id_jag.scope, resource=resource,
                                client=client.registration)
        except OAuthError as exc:
            return refused_explained(exc, event="id_jag.rejected", client_id=client.client_id, subject=subject)
        self.subjects.setdefault((id_jag.issuer, id_jag.subject), id_jag.email)
        count = self._presentations.get(id_jag.jti, (0, id_jag.expires_at))[0] + 1
        self._presentations[id_jag.jti] = (count, id_jag.expires_at)
        jti = self.entropy.token(16)
        expires_at = now + self.config.access_token_lifetime
        claims = access_token_claims(issuer=self.issuer, subject=id_jag.subject, audience=resource,
                                     client_id=client.client_id, scope=scope, issued_at=now, expires_at=expires_at,
                                     jti=jti, auth_time=id_jag.auth_time)
        key = self.keyring.active
        token = mint_access_token(claims=claims, key=key)
        self.tokens.record(IssuedToken(jti=jti, client_id=client.client_id, subject=id_jag.subject, scope=scope,
                                       audience=resource, expires_at=expires_at))
        body = TokenResponse(access_token=token, expires_in=self.config.access_token_lifetime, scope=scope)
        narrowed = tuple(s for s in id_jag.scope if s not in scope)
        return Handled(response=body.to_response(), outcome=Outcome(
            event="id_jag.redeemed", decision=Decision.ALLOW,
            reason="ID-JAG from a trusted IdP" + (" (re-presented)" if count > 1 else ""),
            subject=id_jag.subject, client_id=client.client_id,
            details={"idp": id_jag.issuer, "id_jag_jti": id_jag.jti, "presentation": count, "resource": resource,
                     "scope": " ".join(scope), "narrowed_out": " ".join(narrowed), "jti": jti, "kid": key.kid,
                     "refresh_token": False},
            secrets=(token, grant.assertion)))

    def _resource(self, form: Mapping[str, str], granted: tuple[str, ...]) -> str:
        """RFC 8707 §2: one resource we serve, within what the ID-JAG grants."""
        requested = form.get("resource")
        if requested is not None:
            if granted and requested not in granted:
                raise InvalidTarget("the resource is not one the ID-JAG grants")
            candidates: tuple[str, ...] = (requested,)
        else:
            candidates = granted or tuple(self.config.resources)
        served = [uri for uri in candidates if uri in self.config.resources]
        if not served:
            raise InvalidTarget("the ID-JAG's resource is not served by this authorization server")
        if len(served) > 1:
            raise InvalidTarget("name one resource: access tokens are issued per resource (RFC 9068 sec. 3)")
        return served[0]

    def _scope(self, *, requested: tuple[str, ...], granted: tuple[str, ...], resource: str,
               client: ClientRegistration) -> tuple[str, ...]:
        outside = scopes_outside(requested=requested, allowed=granted)
        if outside:
            raise InvalidScope(f"scope {' '.join(outside)} exceeds the ID-JAG")
        accepted = self.config.resources[resource] & client.scopes
        scope = tuple(s for s in (requested or granted) if s in accepted)
        if not scope:
            raise InvalidScope("no requested scope is permitted for this client at this resource")
        return scope

    # -- revocation (RFC 7009) and introspection (RFC 7662) ------------------------------------

    def _authenticator(self) -> ClientAuthenticator:
        """Client authentication here (RFC 6749 §2.3, RFC 7523 §3), one replay cache for every endpoint."""
        return ClientAuthenticator(issuer=self.issuer, token_endpoint=self.metadata.token_endpoint,
                                   lookup=self.clients.get, replay_cache=self._replay)

    def _revoke(self, request: HttpRequest, now: int) -> Handled:
        """RFC 7009 §2.1: the token's own client revokes it; §2.2: ``200`` also for an unknown token."""
        client_id: str | None = None
        try:
            form = read_token_form(request)
            client_id = self._authenticator()(request, form, now=now).client_id
            revocation = RevocationRequest.from_form(form, revocable=(ACCESS_TOKEN_HINT,))
            claims, _why = verify_own_access_token(revocation.token, issuer=self.issuer, keys=self.public_keys(now=now),
                                                   audiences=self.config.resources, now=now)
            if claims is not None and claims.get("client_id") != client_id:
                raise InvalidRequest("the token was not issued to this client")
        except OAuthError as exc:
            return refused_explained(exc, event="token.revocation_refused", client_id=client_id)
        if claims is None:
            return Handled(response=revocation_response(), outcome=Outcome(
                event="token.revocation_ignored", decision=Decision.ALLOW, client_id=client_id,
                reason="unknown or already invalid token (RFC 7009 sec. 2.2)", secrets=(revocation.token,)))
        self.tokens.revoke(str(claims["jti"]), expires_at=int(claims["exp"]))
        return Handled(response=revocation_response(), outcome=Outcome(
            event="token.revoked", decision=Decision.ALLOW, client_id=client_id, subject=str(claims["sub"]),
            reason="access token revoked by its client (RFC 7009)",
            details={"jti": claims["jti"], "kind": "access_token"}, secrets=(revocation.token,)))

    def _introspect(self, request: HttpRequest, now: int) -> Handled:
        """RFC 7662 §2 (``protocols.oauth.introspection_endpoint``); a token is active while the record
        of ``protocols.resource_as_tokens`` says so."""
        return serve_introspection(request, now=now, issuer=self.issuer, keys=self.public_keys(now=now),
                                   authenticator=self._authenticator(),
                                   resources=self.protected_resources,
                                   inactive_reason=lambda claims: self.tokens.inactive_reason(claims,
                                                                                             clients=self.clients))
