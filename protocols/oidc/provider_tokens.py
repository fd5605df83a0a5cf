"""What the OpenID Provider (``provider``) issues, serves and revokes: the token endpoint, the tokens
of the authorization code grant, UserInfo, and the register of the token ids it minted.

- ``POST /token`` — RFC 6749 §3.2 (``protocols.oauth.token_endpoint``; client authentication per
  ``client_auth``), dispatching to the registered grants; the authorization code grant (RFC 6749
  §4.1.3, PKCE RFC 7636 §4.6) issues an ID token (OIDC Core §3.1.3.3, ``id_token``) and an
  ``at+jwt`` access token for the UserInfo endpoint; a replayed code revokes what it was redeemed for.
- ``GET|POST /userinfo`` — OIDC Core §5.3 with RFC 6750 challenges.
- ``POST /introspect`` — RFC 7662 (``protocols.oauth.introspection_endpoint``, the resource AS's
  handler too): a protected resource registered here (``register_resource_server``, ``private_key_jwt``
  only) learns whether an access token addressed to it — a CIBA approval token for the action gate —
  is active: signed here, unexpired, on record and not revoked; with its ``authorization_details``.
- Claims released for a scope (OIDC Core §5.4) plus the claims hook's, in ID tokens and UserInfo.
- Every token minted here or by an extension (``record_issued``) can be revoked before it expires —
  by id (RFC 7009 §2.2), by subject or by client — and is then refused at UserInfo and by every check
  against ``revoked_jtis``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from protocols.access_token import challenge
from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest, HttpResponse
from protocols.jose.jwks import JwkSet
from protocols.jose.jwt import sign_jwt
from protocols.jose.keys import KeyRing
from protocols.jose.profiles import TYP_ACCESS_TOKEN
from protocols.oauth.authorization_code import (
    AUTHORIZATION_CODE, CodeGrant, CodeLedger, CodeReuseDetected, TokenRequestParams,
)
from protocols.oauth.client_auth import AuthenticatedClient, ClientAuthMethod, ClientRegistration
from protocols.oauth.errors import InvalidGrant, InvalidToken, OAuthError
from protocols.oauth.introspection_endpoint import ProtectedResources, serve_introspection
from protocols.oauth.outcome import Decision, Handled, Outcome, refused
from protocols.oauth.revocation import record_inactive_reason
from protocols.oauth.token_endpoint import ClientAuthenticator, GrantHandler, serve_token_request
from protocols.oauth.token_response import TokenResponse
from protocols.oidc.authentication import Session, UserAccount
from protocols.oidc.discovery import ProviderMetadata
from protocols.oidc.id_token import SCOPE_CLAIMS, check_hook_claims, mint_id_token
from protocols.oidc.userinfo import (
    MissingBearerToken, extract_bearer_token, userinfo_claims, validate_access_token,
)

if TYPE_CHECKING:
    from protocols.oidc.provider import ClaimsHook, ProviderConfig


@attrs.frozen(kw_only=True)
class IssuedToken:
    """A token this provider minted, kept until it expires so it can be revoked."""

    subject: str
    client_id: str
    expires_at: int


class ProviderTokens:
    """The token endpoint, UserInfo and revocation, mixed into ``OpenIdProvider`` and working on its
    state: codes, users, sessions, issued and revoked token ids."""

    config: ProviderConfig
    issuer: str
    keyring: KeyRing
    entropy: SeededEntropy
    metadata: ProviderMetadata
    claims_hook: ClaimsHook
    grant_handlers: dict[str, GrantHandler]
    _users: dict[str, UserAccount]
    _sessions: dict[str, Session]
    _codes: CodeLedger
    _issued: dict[str, IssuedToken]
    _revoked: dict[str, int]
    protected_resources: ProtectedResources
    public_keys: Callable[..., JwkSet]
    """``(*, now)``: our published keys as a verifier sees them."""
    _client_authenticator: Callable[[], ClientAuthenticator]
    """Client authentication as at the token endpoint (RFC 6749 §2.3, RFC 7523 §3)."""

    # ------------------------------------------------------------------ issued and revoked tokens

    def record_issued(self, *, jti: str, subject: str, client_id: str, expires_at: int) -> None:
        """Remember a token this provider minted, so ``revoke_subject`` can revoke it."""
        self._issued[jti] = IssuedToken(subject=subject, client_id=client_id, expires_at=expires_at)

    @property
    def revoked_jtis(self) -> frozenset[str]:
        """Ids of tokens revoked before their expiry (code replay, subject revocation, failed CIBA push)."""
        return frozenset(self._revoked)

    def is_revoked(self, jti: str) -> bool:
        return jti in self._revoked

    def revoke_issued(self, jtis: Iterable[str], *, now: int) -> list[str]:
        """Revoke these tokens we minted, if still unexpired (RFC 7009 §2.2: the token becomes unusable
        here at once — userinfo, and every check against ``revoked_jtis``); the ids revoked, in order.
        Used e.g. when a CIBA push could not deliver them (CIBA §10.3.1): nobody should hold them."""
        revoked = []
        for jti in jtis:
            issued = self._issued.get(jti)
            if issued is not None and issued.expires_at > now and jti not in self._revoked:
                self._revoked[jti] = issued.expires_at
                revoked.append(jti)
        return revoked

    def revoke_subject(self, subject: str, *, now: int) -> Outcome:
        """End every session of ``subject`` and revoke every unexpired token issued to them."""
        sessions = [cookie for cookie, s in self._sessions.items() if s.subject == subject]
        for cookie in sessions:
            del self._sessions[cookie]
        tokens = sorted(jti for jti, t in self._issued.items() if t.subject == subject and t.expires_at > now)
        for jti in tokens:
            self._revoked[jti] = self._issued[jti].expires_at
        return Outcome(event="session.revoked", decision=Decision.ALLOW, subject=subject,
                       details={"sessions": len(sessions), "revoked": tokens})

    def revoke_client(self, client_id: str, *, now: int) -> Outcome:
        """Revoke every unexpired token issued to ``client_id``, whichever user it acted for — the
        IdP side of global token revocation for a compromised agent."""
        tokens = sorted(jti for jti, t in self._issued.items() if t.client_id == client_id and t.expires_at > now)
        for jti in tokens:
            self._revoked[jti] = self._issued[jti].expires_at
        return Outcome(event="token.revoked", decision=Decision.ALLOW, client_id=client_id,
                       reason="every token issued to the client revoked", details={"revoked": tokens})

    # ------------------------------------------------------------------ introspection (RFC 7662)

    def register_resource_server(self, registration: ClientRegistration, *, resources: frozenset[str]) -> None:
        """A protected resource allowed to introspect the access tokens issued for ``resources`` (its
        RFC 8707 identifiers: RFC 7662 §2.1, §4); it authenticates with ``private_key_jwt`` (RFC 7523
        §2.2), the one method ``introspection_endpoint_auth_methods_supported`` names."""
        if registration.auth_method is not ClientAuthMethod.PRIVATE_KEY_JWT:
            raise ValueError("a protected resource authenticates here with private_key_jwt")
        if not resources:
            raise ValueError("a protected resource serves at least one resource")
        self.protected_resources.register(registration, resources=resources)

    def _introspect(self, request: HttpRequest, now: int) -> Handled:
        """RFC 7662 §2: active while signed here, unexpired, recorded as issued and not revoked."""
        return serve_introspection(
            request, now=now, issuer=self.issuer, keys=self.public_keys(now=now),
            authenticator=self._client_authenticator(), resources=self.protected_resources,
            inactive_reason=lambda claims: record_inactive_reason(claims, issued=self._issued, revoked=self._revoked))

    # ------------------------------------------------------------------ token endpoint

    def _token(self, request: HttpRequest, now: int) -> Handled:
        """RFC 6749 §3.2 (``protocols.oauth.token_endpoint``); RFC 8693 §2.1: audience/resource may repeat."""
        def refuse(error: OAuthError, client_id: str | None) -> Handled:
            if isinstance(error, CodeReuseDetected):
                for jti in error.reuse.revoked:
                    issued = self._issued.get(jti)
                    self._revoked[jti] = issued.expires_at if issued else now + self.config.id_token_lifetime
                return refused(error, event="code.reused", client_id=client_id, subject=error.reuse.grant.subject,
                               details={"revoked": list(error.reuse.revoked)})
            return refused(error, event="token.denied", client_id=client_id)

        grants = {**self.grant_handlers, AUTHORIZATION_CODE: self._authorization_code_grant}
        return serve_token_request(request, now=now, authenticate=self._client_authenticator(), grants=grants,
                                   refuse=refuse, repeatable=True)

    def _authorization_code_grant(self, *, client: AuthenticatedClient, form: Mapping[str, str], now: int) -> Handled:
        """RFC 6749 §4.1.3 with RFC 7636 §4.6; reuse is handled by the caller (``CodeReuseDetected``)."""
        params = TokenRequestParams.from_form(form)
        grant = self._codes.redeem(params, client_id=client.client_id, now=now)
        return self._issue_tokens(grant, code=params.code, now=now)

    def released_claims(self, account: UserAccount, scope: tuple[str, ...]) -> dict[str, Any]:
        """Claims about ``account`` released for ``scope`` (OIDC Core §5.4) plus the claims hook's."""
        values = {"name": account.name, "email": account.email, "email_verified": account.email_verified}
        released = {claim: values[claim] for s in scope for claim in SCOPE_CLAIMS.get(s, ())}
        released.update(check_hook_claims(self.claims_hook(account)))
        return released

    def _issue_tokens(self, grant: CodeGrant, *, code: str, now: int) -> Handled:
        account = self._users.get(grant.subject)
        if account is None:
            raise InvalidGrant("the end user no longer exists")
        key = self.keyring.active
        id_jti, at_jti = self.entropy.token(16), self.entropy.token(16)
        id_token = mint_id_token(key=key, issuer=self.issuer, client_id=grant.client_id, subject=grant.subject,
                                 now=now, auth_time=grant.auth_time, amr=grant.amr, nonce=grant.nonce, sid=grant.sid,
                                 jti=id_jti, profile_claims=self.released_claims(account, grant.scope),
                                 lifetime=self.config.id_token_lifetime)
        at_claims = {"iss": self.issuer, "sub": grant.subject, "aud": self.metadata.userinfo_endpoint,
                     "client_id": grant.client_id, "scope": " ".join(grant.scope), "iat": now,
                     "exp": now + self.config.access_token_lifetime, "jti": at_jti, "auth_time": grant.auth_time}
        access_token = sign_jwt(claims=at_claims, key=key, typ=TYP_ACCESS_TOKEN)
        self._codes.bind_tokens(code, (id_jti, at_jti))
        self.record_issued(jti=id_jti, subject=grant.subject, client_id=grant.client_id,
                           expires_at=now + self.config.id_token_lifetime)
        self.record_issued(jti=at_jti, subject=grant.subject, client_id=grant.client_id,
                           expires_at=now + self.config.access_token_lifetime)
        body = TokenResponse(access_token=access_token, expires_in=self.config.access_token_lifetime,
                             scope=grant.scope, id_token=id_token)
        return Handled(response=body.to_response(), outcome=Outcome(
            event="token.issued", decision=Decision.ALLOW, subject=grant.subject, client_id=grant.client_id,
            details={"grant_type": AUTHORIZATION_CODE, "scope": " ".join(grant.scope), "jti": at_jti,
                     "id_token_jti": id_jti, "kid": key.kid, "amr": list(grant.amr), "sid": grant.sid},
            secrets=(access_token, id_token)))

    # ------------------------------------------------------------------ userinfo

    def _userinfo(self, request: HttpRequest, now: int) -> Handled:
        realm = self.issuer
        try:
            token = extract_bearer_token(request)
            claims = validate_access_token(token, issuer=self.issuer, audience=self.metadata.userinfo_endpoint,
                                           keys=self.public_keys(now=now), now=now, revoked=self._revoked)
            account = self._users.get(claims.subject)
            if account is None:
                raise InvalidToken("the end user no longer exists")
            body = userinfo_claims(claims, released=self.released_claims(account, claims.scope))
        except MissingBearerToken:
            return Handled(response=challenge(realm=realm), outcome=Outcome(
                event="userinfo.denied", decision=Decision.DENY, reason="missing_token"))
        except OAuthError as exc:
            return Handled(response=challenge(realm=realm, error=exc), outcome=Outcome(
                event="userinfo.denied", decision=Decision.DENY, reason=exc.error,
                details={"description": exc.description}))
        return Handled(response=HttpResponse.json_body(body, no_store=True), outcome=Outcome(
            event="userinfo.served", decision=Decision.ALLOW, subject=claims.subject, client_id=claims.client_id,
            details={"jti": claims.jti, "claims": sorted(body)}))
