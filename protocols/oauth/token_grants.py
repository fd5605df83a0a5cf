"""The grants of a plain OAuth 2.0 authorization server's token endpoint (``authorization_server``)
and the access tokens they issue.

- ``authorization_code`` (RFC 6749 §4.1.3, PKCE RFC 7636 §4.6): a refresh-token family is started
  when the client may refresh;
- ``refresh_token`` (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2, ``refresh.py``),
  optionally narrowing the scope;
- ``client_credentials`` (RFC 6749 §4.4) for a client with a service account, within its registered
  scopes.

``resource`` (RFC 8707 §2.2) picks the audience and narrows the scope to what that API accepts;
without it the token is for every API the scope reaches. Access tokens are RFC 9068 ``at+jwt``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import attrs

from protocols.entropy import SeededEntropy
from protocols.jose.jwt import sign_jwt
from protocols.jose.keys import KeyRing
from protocols.jose.profiles import TYP_ACCESS_TOKEN
from protocols.oauth.authorization_code import AUTHORIZATION_CODE, CodeLedger, TokenRequestParams
from protocols.oauth.client_auth import AuthenticatedClient
from protocols.oauth.errors import InvalidGrant, InvalidRequest, InvalidScope, InvalidTarget, UnauthorizedClient
from protocols.oauth.outcome import Decision, Handled, Outcome
from protocols.oauth.refresh import REFRESH_TOKEN, RefreshLedger
from protocols.oauth.server_config import CLIENT_CREDENTIALS, ApiResource, OAuthClient, ServerConfig
from protocols.oauth.token_response import TokenResponse
from protocols.oidc.authentication import UserAccount
from protocols.token_exchange import scopes_outside


@attrs.frozen(kw_only=True)
class IssuedToken:
    """An access token we issued, kept until it expires for revocation (by client, family or user)."""

    subject: str
    client_id: str
    expires_at: int
    family_id: str | None


class TokenGrants:
    """The grant handlers (``handler(client=..., form=..., now=...)``, see ``token_endpoint``), mixed
    into ``AuthorizationServer`` and working on its state: codes, refresh families, issued tokens."""

    config: ServerConfig
    issuer: str
    keyring: KeyRing
    entropy: SeededEntropy
    clients: dict[str, OAuthClient]
    refresh: RefreshLedger
    _users: dict[str, UserAccount]
    _codes: CodeLedger
    _issued: dict[str, IssuedToken]
    _revoke_family: Callable[..., list[str]]
    """``(family_id, *, reason, now)``: revoke a refresh-token family and its access tokens."""

    def resource(self, uri: str) -> ApiResource | None:
        return next((r for r in self.config.resources if r.uri == uri), None)

    def _audience(self, form: Mapping[str, str], scope: tuple[str, ...]) -> tuple[str | list[str], tuple[str, ...]]:
        """The ``aud`` and final scope of an access token (RFC 8707 §2.2, RFC 9068 §3)."""
        resource = form.get("resource")
        if resource is not None:
            api = self.resource(resource)
            if api is None:
                raise InvalidTarget("unknown resource")
            narrowed = tuple(s for s in scope if s in api.scopes)
            if not narrowed:
                raise InvalidTarget("the grant holds no scope for this resource")
            return api.uri, narrowed
        audiences = [r.uri for r in self.config.resources if r.scopes & set(scope)]
        if not audiences:
            raise InvalidScope("the grant holds no scope any API of this provider accepts")
        return (audiences[0] if len(audiences) == 1 else audiences), scope

    def _mint_access(self, *, subject: str, client_id: str, scope: tuple[str, ...], form: Mapping[str, str],
                     now: int, family_id: str | None) -> tuple[str, str, tuple[str, ...], str | list[str]]:
        aud, scope = self._audience(form, scope)
        jti = self.entropy.token(16)
        exp = now + self.config.access_token_lifetime
        claims = {"iss": self.issuer, "sub": subject, "aud": aud, "client_id": client_id, "scope": " ".join(scope),
                  "iat": now, "exp": exp, "jti": jti}
        token = sign_jwt(claims=claims, key=self.keyring.active, typ=TYP_ACCESS_TOKEN)
        self._issued[jti] = IssuedToken(subject=subject, client_id=client_id, expires_at=exp, family_id=family_id)
        if family_id is not None:
            self.refresh.bind_access_token(family_id, jti=jti, expires_at=exp)
        return token, jti, scope, aud

    def _code_grant(self, *, client: AuthenticatedClient, form: Mapping[str, str], now: int) -> Handled:
        params = TokenRequestParams.from_form(form)
        grant = self._codes.redeem(params, client_id=client.client_id, now=now)
        if grant.subject not in self._users:
            raise InvalidGrant("the end user no longer exists")
        rotation = None
        if REFRESH_TOKEN in client.registration.grant_types:
            rotation = self.refresh.start_family(client_id=client.client_id, subject=grant.subject, scope=grant.scope,
                                                 now=now, entropy=self.entropy)
        family = rotation.grant.family_id if rotation else None
        token, jti, scope, aud = self._mint_access(subject=grant.subject, client_id=client.client_id,
                                                   scope=grant.scope, form=form, now=now, family_id=family)
        self._codes.bind_tokens(params.code, (jti,) + ((family,) if family else ()))
        body = TokenResponse(access_token=token, expires_in=self.config.access_token_lifetime, scope=scope,
                             refresh_token=rotation.refresh_token if rotation else None)
        return Handled(response=body.to_response(), outcome=Outcome(
            event="token.issued", decision=Decision.ALLOW, subject=grant.subject, client_id=client.client_id,
            details={"grant_type": AUTHORIZATION_CODE, "scope": " ".join(scope), "jti": jti, "aud": aud,
                     "family": family, "granted_scope": " ".join(grant.scope)},
            secrets=(token,) + ((rotation.refresh_token,) if rotation else ())))

    def _refresh_grant(self, *, client: AuthenticatedClient, form: Mapping[str, str], now: int) -> Handled:
        presented = form.get("refresh_token")
        if not presented:
            raise InvalidRequest("refresh_token is required")
        rotation = self.refresh.rotate(presented, client_id=client.client_id, scope=form.get("scope"), now=now,
                                       entropy=self.entropy)
        grant = rotation.grant
        if grant.subject not in self._users:
            self._revoke_family(grant.family_id, reason="user_removed", now=now)
            raise InvalidGrant("the end user no longer exists")
        token, jti, scope, aud = self._mint_access(subject=grant.subject, client_id=client.client_id,
                                                   scope=rotation.scope, form=form, now=now,
                                                   family_id=grant.family_id)
        body = TokenResponse(access_token=token, expires_in=self.config.access_token_lifetime, scope=scope,
                             refresh_token=rotation.refresh_token)
        return Handled(response=body.to_response(), outcome=Outcome(
            event="token.refreshed", decision=Decision.ALLOW, subject=grant.subject, client_id=client.client_id,
            reason="refresh token rotated",
            details={"grant_type": REFRESH_TOKEN, "scope": " ".join(scope), "jti": jti, "aud": aud,
                     "family": grant.family_id, "generation": rotation.generation},
            secrets=(token, rotation.refresh_token, presented)))

    def _client_credentials_grant(self, *, client: AuthenticatedClient, form: Mapping[str, str], now: int) -> Handled:
        service_account = self.clients[client.client_id].service_account
        if service_account is None:
            raise UnauthorizedClient("client has no service account")
        allowed = tuple(sorted(client.registration.scopes))
        scope = allowed if "scope" not in form else tuple(dict.fromkeys(form["scope"].split()))
        beyond = scopes_outside(requested=scope, allowed=allowed)
        if beyond or not scope:
            raise InvalidScope(f"scope not allowed for this client: {' '.join(beyond)}")
        token, jti, scope, aud = self._mint_access(subject=service_account, client_id=client.client_id,
                                                   scope=scope, form=form, now=now, family_id=None)
        body = TokenResponse(access_token=token, expires_in=self.config.access_token_lifetime, scope=scope)
        return Handled(response=body.to_response(), outcome=Outcome(
            event="token.issued", decision=Decision.ALLOW, subject=service_account, client_id=client.client_id,
            details={"grant_type": CLIENT_CREDENTIALS, "scope": " ".join(scope), "jti": jti, "aud": aud},
            secrets=(token,)))
