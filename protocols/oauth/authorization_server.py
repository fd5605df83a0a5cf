"""A plain OAuth 2.0 authorization server core (no OpenID Connect) for API providers — the SaaS
systems (CRM, Google Workspace, Slack) whose tokens the vault keeps.

Endpoints below the issuer:

- ``GET /.well-known/oauth-authorization-server`` (RFC 8414, ``server_config``) and ``GET /jwks``
  (RFC 7517 §5);
- ``GET /authorize``, ``POST /login``, ``POST /consent`` — RFC 6749 §4.1.1–§4.1.2 with PKCE, the
  sign-in form and the consent screen (``authorization_endpoint``);
- ``POST /token`` — the shared token-endpoint steps (``token_endpoint``: RFC 6749 §3.2, §2.3) then
  ``authorization_code``, ``refresh_token`` with rotation and reuse detection, ``client_credentials``
  (``token_grants``); a replayed code (RFC 6749 §4.1.2) or refresh token (RFC 9700 §4.14.2) revokes
  what was issued from it;
- ``POST /revoke`` — RFC 7009 (``revocation.py``): revoking a refresh token revokes its whole grant.

Resource servers of the same provider call ``authenticate_api`` (RFC 6750 §2.1, RFC 9068 §4) and
``protocols.access_token.require_any_scope`` (RFC 6750 §3.1 ``insufficient_scope``). Every call
returns a ``Handled`` whose ``Outcome`` names the event, decision, reason and the secrets minted (for
redaction). Administration: users, clients, global token revocation for a client
(draft-parecki-oauth-global-token-revocation §3.1) and the user removing an app's access.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest, HttpResponse
from protocols.jose.errors import JwtRejected, WrongAudience
from protocols.jose.jwks import JwkSet
from protocols.jose.jwt import verify_jwt
from protocols.jose.keys import KeyRing
from protocols.jose.profiles import TokenProfile
from protocols.oauth.authorization_code import AUTHORIZATION_CODE, CodeLedger, CodeReuseDetected
from protocols.oauth.authorization_endpoint import AuthorizationEndpoint, Transaction
from protocols.oauth.client_auth import AssertionReplayCache, ClientRegistration
from protocols.oauth.errors import InvalidRequest, InvalidToken, MethodNotAllowed, NotFound, OAuthError
from protocols.oauth.metadata import WELL_KNOWN_SUFFIX, AuthorizationServerMetadata
from protocols.oauth.outcome import Decision, Handled, Outcome, refused
from protocols.oauth.refresh import REFRESH_TOKEN, RefreshLedger, RefreshTokenReused
from protocols.oauth.revocation import ACCESS_TOKEN_HINT, RevocationRequest, purge_revocations, revocation_response
from protocols.oauth.server_config import (
    AUTHORIZE_PATH, CLIENT_CREDENTIALS, CONSENT_PATH, JWKS_PATH, LOGIN_PATH, REVOKE_PATH, TOKEN_PATH, ApiResource,
    OAuthClient, ServerConfig,
)
from protocols.oauth.token_endpoint import ClientAuthenticator, read_token_form, serve_token_request
from protocols.oauth.token_grants import IssuedToken, TokenGrants
from protocols.oidc.authentication import Session, UserAccount
from protocols.oidc.userinfo import AccessTokenClaims, extract_bearer_token, validate_access_token

__all__ = ["CLIENT_CREDENTIALS", "ApiResource", "AuthorizationServer", "OAuthClient", "ServerConfig"]
"""The configuration types live in ``server_config``; importing them from here keeps working."""


@attrs.define
class AuthorizationServer(AuthorizationEndpoint, TokenGrants):
    """The protocol state and handlers of one provider's authorization server."""

    config: ServerConfig
    keyring: KeyRing
    entropy: SeededEntropy = attrs.field(repr=False)
    clients: dict[str, OAuthClient] = attrs.field(factory=dict)
    metadata: AuthorizationServerMetadata = attrs.field(init=False)
    refresh: RefreshLedger = attrs.field(init=False)
    _users: dict[str, UserAccount] = attrs.field(factory=dict, init=False)
    _usernames: dict[str, str] = attrs.field(factory=dict, init=False)
    _sessions: dict[str, Session] = attrs.field(factory=dict, init=False, repr=False)
    _transactions: dict[str, Transaction] = attrs.field(factory=dict, init=False, repr=False)
    _consents: dict[tuple[str, str], frozenset[str]] = attrs.field(factory=dict, init=False)
    _codes: CodeLedger = attrs.field(factory=CodeLedger, init=False)
    _replay: AssertionReplayCache = attrs.field(factory=AssertionReplayCache, init=False)
    _issued: dict[str, IssuedToken] = attrs.field(factory=dict, init=False)
    _revoked: dict[str, int] = attrs.field(factory=dict, init=False)
    _totp_steps: dict[str, int] = attrs.field(factory=dict, init=False)
    _own_keys: tuple[frozenset[str], JwkSet] | None = attrs.field(default=None, init=False, repr=False)
    _authenticate: ClientAuthenticator = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self.metadata = self.config.metadata()
        self.refresh = RefreshLedger(idle_lifetime=self.config.refresh_idle_lifetime,
                                     absolute_lifetime=self.config.refresh_absolute_lifetime)
        self._authenticate = ClientAuthenticator(issuer=self.issuer, token_endpoint=self.metadata.token_endpoint,
                                                 lookup=self._registration, replay_cache=self._replay)

    # ------------------------------------------------------------------ administration

    @property
    def issuer(self) -> str:
        return self.config.issuer

    def register_client(self, client: OAuthClient) -> None:
        self.clients[client.client_id] = client

    def _registration(self, client_id: str) -> ClientRegistration | None:
        client = self.clients.get(client_id)
        return client.registration if client else None

    def public_keys(self, *, now: int) -> JwkSet:
        kids = self.keyring.kids(now=now)
        if self._own_keys is None or self._own_keys[0] != kids:
            self._own_keys = (kids, JwkSet.from_ring(self.keyring, now=now))
        return self._own_keys[1]

    def is_revoked(self, jti: str) -> bool:
        return jti in self._revoked

    def revoke_client(self, client_id: str, *, now: int) -> Outcome:
        """Global token revocation for a client (draft-parecki-oauth-global-token-revocation §3.1):
        every refresh-token family of ``client_id`` and every unexpired access token issued to it
        (``client_credentials`` ones included) is revoked."""
        families = self.refresh.families_of(client_id=client_id)
        revoked: list[str] = []
        for grant in families:
            revoked += self._revoke_family(grant.family_id, reason="client_revoked", now=now)
        for jti, issued in self._issued.items():
            if issued.client_id == client_id and issued.expires_at > now and jti not in self._revoked:
                self._revoked[jti] = issued.expires_at
                revoked.append(jti)
        return Outcome(event="token.revoked", decision=Decision.ALLOW, client_id=client_id,
                       reason="every token issued to the client revoked",
                       details={"families": [g.family_id for g in families], "revoked": sorted(revoked)})

    def revoke_grants(self, *, subject: str, client_id: str | None = None, now: int) -> Outcome:
        """The user removes an app's access ("third-party access" settings): every refresh-token
        family of ``subject`` (for ``client_id``, or all) is revoked with its access tokens, and
        the remembered consent is forgotten."""
        families = self.refresh.families_of(subject=subject, client_id=client_id)
        revoked: list[str] = []
        for grant in families:
            revoked += self._revoke_family(grant.family_id, reason="access_removed", now=now)
        for key in [k for k in self._consents if k[0] == subject and (client_id is None or k[1] == client_id)]:
            del self._consents[key]
        return Outcome(event="grant.revoked", decision=Decision.ALLOW, subject=subject, client_id=client_id,
                       reason="access removed by the user or an administrator",
                       details={"families": [g.family_id for g in families], "revoked": revoked})

    def _revoke_family(self, family_id: str, *, reason: str, now: int) -> list[str]:
        jtis = list(self.refresh.revoke_family(family_id, reason=reason, now=now))
        for jti in jtis:
            self._revoked[jti] = self._issued[jti].expires_at if jti in self._issued else now + 3600
        return jtis

    def purge(self, *, now: int) -> None:
        self._purge_sign_in(now=now)
        purge_revocations(self._issued, self._revoked, now=now)
        self._codes.purge(now=now)
        self._replay.purge(now=now)
        self.refresh.purge(now=now)

    # ------------------------------------------------------------------ dispatch

    def handles(self, path: str) -> bool:
        return path in _ROUTES or path == self._well_known_path()

    def _well_known_path(self) -> str:
        return WELL_KNOWN_SUFFIX + urlsplit(self.issuer).path.rstrip("/")

    def handle(self, request: HttpRequest, *, now: int) -> Handled:
        self.purge(now=now)
        if request.path == self._well_known_path():
            route: tuple[tuple[str, ...], str] | None = (("GET",), "_metadata")
        else:
            route = _ROUTES.get(request.path)
        if route is None:
            return refused(NotFound("no such endpoint"), event="http.refused")
        methods, name = route
        if request.method not in methods:
            return refused(MethodNotAllowed(f"use {' or '.join(methods)}"), event="http.refused")
        return getattr(self, name)(request, now)

    def _metadata(self, request: HttpRequest, now: int) -> Handled:
        return Handled(response=self.metadata.to_response(), outcome=Outcome(event="metadata.served",
                                                                             decision=Decision.ALLOW))

    def _jwks(self, request: HttpRequest, now: int) -> Handled:
        return Handled(response=HttpResponse.json_body(self.keyring.jwks(now=now)),
                       outcome=Outcome(event="jwks.served", decision=Decision.ALLOW))

    # ------------------------------------------------------------------ token endpoint

    def _token(self, request: HttpRequest, now: int) -> Handled:
        grants = {AUTHORIZATION_CODE: self._code_grant, REFRESH_TOKEN: self._refresh_grant,
                  CLIENT_CREDENTIALS: self._client_credentials_grant}
        return serve_token_request(request, now=now, authenticate=self._authenticate, grants=grants,
                                   refuse=lambda error, client_id: self._token_refused(error, client_id, now=now))

    def _token_refused(self, error: OAuthError, client_id: str | None, *, now: int) -> Handled:
        """A refused token request; a replayed code or refresh token first revokes what came from it."""
        if isinstance(error, CodeReuseDetected):
            revoked: list[str] = []
            for token_id in error.reuse.revoked:
                if token_id.startswith("rtf_"):
                    revoked += self._revoke_family(token_id, reason="code_reused", now=now)
                else:
                    self._revoked[token_id] = now + self.config.access_token_lifetime
                    revoked.append(token_id)
            return refused(error, event="code.reused", client_id=client_id, subject=error.reuse.grant.subject,
                           details={"revoked": revoked})
        if isinstance(error, RefreshTokenReused):
            for jti in error.revoked_access_tokens:
                self._revoked[jti] = self._issued[jti].expires_at if jti in self._issued else now + 3600
            return refused(error, event="refresh_token.reused", client_id=client_id, subject=error.grant.subject,
                           details={"family": error.grant.family_id, "revoked": list(error.revoked_access_tokens)})
        return refused(error, event="token.denied", client_id=client_id)

    # ------------------------------------------------------------------ revocation endpoint

    def _revoke(self, request: HttpRequest, now: int) -> Handled:
        client_id: str | None = None
        try:
            form = read_token_form(request)
            client_id = self._authenticate(request, form, now=now).client_id
            revocation = RevocationRequest.from_form(form)
            for kind in revocation.search_order():
                found = self._revoke_refresh(revocation.token, client_id, now) if kind != ACCESS_TOKEN_HINT \
                    else self._revoke_access(revocation.token, client_id, now)
                if found is not None:
                    return Handled(response=revocation_response(), outcome=Outcome(
                        event="token.revoked", decision=Decision.ALLOW, client_id=client_id, subject=found[0],
                        reason=f"{kind} revoked by its client", details={"kind": kind, "revoked": found[1]},
                        secrets=(revocation.token,)))
            return Handled(response=revocation_response(), outcome=Outcome(
                event="token.revoked", decision=Decision.ALLOW, client_id=client_id,
                reason="unknown or already invalid token (RFC 7009 §2.2)", secrets=(revocation.token,)))
        except OAuthError as exc:
            return refused(exc, event="revocation.denied", client_id=client_id)

    def _revoke_refresh(self, token: str, client_id: str, now: int) -> tuple[str, list[str]] | None:
        grant = self.refresh.lookup(token)
        if grant is None:
            return None
        if grant.client_id != client_id:
            raise InvalidRequest("the token was not issued to this client")
        return grant.subject, [grant.family_id] + self._revoke_family(grant.family_id, reason="revoked", now=now)

    def _revoke_access(self, token: str, client_id: str, now: int) -> tuple[str, list[str]] | None:
        claims = self._own_access_token_claims(token, now=now)
        if claims is None:
            return None
        if claims.get("client_id") != client_id:
            raise InvalidRequest("the token was not issued to this client")
        self._revoked[claims["jti"]] = claims["exp"]
        return str(claims["sub"]), [claims["jti"]]

    def _own_access_token_claims(self, token: str, *, now: int) -> Mapping[str, Any] | None:
        """The claims of an access token we issued (whichever of our APIs it is for), else ``None``."""
        for api in self.config.resources:
            try:
                return verify_jwt(token, keys=self.public_keys(now=now), now=now,
                                  profile=TokenProfile.access_token(issuer=self.issuer, audience=api.uri)).claims
            except WrongAudience:
                continue
            except JwtRejected:
                return None
        return None

    # ------------------------------------------------------------------ resource servers

    def authenticate_api(self, request: HttpRequest, *, resource: str, now: int) -> AccessTokenClaims:
        """Validate the bearer token of an API call for ``resource`` (RFC 6750 §2.1, RFC 9068 §4).

        Raises ``MissingBearerToken``, ``InvalidRequest`` or ``InvalidToken``.
        """
        token = extract_bearer_token(request)
        claims = validate_access_token(token, issuer=self.issuer, audience=resource, keys=self.public_keys(now=now),
                                       now=now, revoked=self._revoked)
        if claims.subject not in self._users and claims.subject not in {
                c.service_account for c in self.clients.values()}:
            raise InvalidToken("the token's subject no longer exists")
        return claims


_ROUTES: dict[str, tuple[tuple[str, ...], str]] = {
    JWKS_PATH: (("GET",), "_jwks"),
    AUTHORIZE_PATH: (("GET",), "_authorize"),
    LOGIN_PATH: (("POST",), "_login"),
    CONSENT_PATH: (("POST",), "_consent"),
    TOKEN_PATH: (("POST",), "_token"),
    REVOKE_PATH: (("POST",), "_revoke"),
}
