"""The relying-party (client) side of the OpenID Connect authorization code flow.

1. ``start``: authorization URL with ``state``, ``nonce`` and an S256 PKCE challenge drawn from
   entropy (OIDC Core §3.1.2.1, RFC 7636 §4.1–§4.3, RFC 9700 §2.1).
2. ``parse_callback``: ``state`` must match (RFC 6749 §10.12), ``iss`` must equal the recorded
   issuer (RFC 9207 §2.4 mix-up defence); an error response raises its ``OAuthError`` counterpart
   (RFC 6749 §4.1.2.1), but only after ``state`` and ``iss`` checked out.
3. ``token_request``: ``grant_type=authorization_code`` with ``private_key_jwt`` (RFC 6749 §4.1.3,
   RFC 7523 §2.2, OIDC Core §9), audience = the issuer identifier (rfc7523bis).
4. ``finish``: token response (RFC 6749 §5.1) and ID token validation (OIDC Core §3.1.3.7).
"""

from __future__ import annotations

import hmac
from typing import ClassVar
from urllib.parse import urlsplit

import attrs

from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest, HttpResponse, MalformedBody, parse_unique_pairs
from protocols.jose.jwks import JwkSet
from protocols.jose.keys import Algorithm, SigningKey
from protocols.oauth.authorization_code import AuthorizationRequest, add_query
from protocols.oauth.client_auth import client_assertion_params
from protocols.oauth.errors import ERRORS_BY_CODE, ServerError
from protocols.oauth.pkce import PkcePair
from protocols.oauth.token_response import TokenResponse
from protocols.oidc.discovery import ProviderMetadata
from protocols.oidc.id_token import IdTokenClaims, validate_id_token


class CallbackRejected(ValueError):
    """An authorization response the client must discard; ``reason`` is stable for audit."""

    reason: ClassVar[str] = "callback_rejected"


class StateMismatch(CallbackRejected):
    """``state`` missing or not the one we sent (RFC 6749 §10.12 CSRF defence)."""

    reason = "state_mismatch"


class IssuerMismatch(CallbackRejected):
    """``iss`` missing or not the issuer we sent the user to (RFC 9207 §2.4)."""

    reason = "issuer_mismatch"


class MissingCode(CallbackRejected):
    """A success response without ``code``."""

    reason = "missing_code"


@attrs.frozen(kw_only=True)
class PendingAuthorization:
    """What the client remembers between redirecting the user and the callback."""

    url: str = attrs.field(repr=False)
    state: str = attrs.field(repr=False)
    nonce: str = attrs.field(repr=False)
    code_verifier: str = attrs.field(repr=False)
    issuer: str
    redirect_uri: str
    max_age: int | None
    created_at: int

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.state, self.nonce, self.code_verifier)


@attrs.frozen(kw_only=True)
class LoginResult:
    """A completed login: the validated ID token claims and the token response."""

    id_token: IdTokenClaims
    tokens: TokenResponse


@attrs.frozen(kw_only=True)
class RelyingParty:
    """A client registered at one OpenID Provider, authenticating with ``private_key_jwt``."""

    client_id: str
    redirect_uri: str
    metadata: ProviderMetadata
    signing_key: SigningKey = attrs.field(repr=False)
    scope: tuple[str, ...] = ("openid", "profile", "email")
    id_token_algorithms: frozenset[Algorithm] = frozenset({Algorithm.RS256})

    @property
    def issuer(self) -> str:
        return self.metadata.issuer

    def start(self, *, entropy: SeededEntropy, now: int, prompt: str | None = None, max_age: int | None = None,
              login_hint: str | None = None) -> PendingAuthorization:
        """The authorization URL and the values to check on return (OIDC Core §3.1.2.1)."""
        state, nonce, pair = entropy.token(16), entropy.token(16), PkcePair.generate(entropy)
        request = AuthorizationRequest(client_id=self.client_id, redirect_uri=self.redirect_uri, scope=self.scope,
                                       state=state, nonce=nonce, code_challenge=pair.challenge,
                                       prompt=frozenset((prompt or "").split()), max_age=max_age,
                                       login_hint=login_hint)
        url = add_query(self.metadata.authorization_endpoint, request.to_query())
        return PendingAuthorization(url=url, state=state, nonce=nonce, code_verifier=pair.verifier,
                                    issuer=self.issuer, redirect_uri=self.redirect_uri, max_age=max_age,
                                    created_at=now)

    def parse_callback(self, pending: PendingAuthorization, callback: HttpRequest | str) -> str:
        """The authorization code from the redirect back to us; raises ``CallbackRejected`` or the
        ``OAuthError`` the provider reported."""
        url = callback.url if isinstance(callback, HttpRequest) else callback
        parts = urlsplit(url)
        expected = urlsplit(pending.redirect_uri)
        if (parts.scheme, parts.netloc, parts.path) != (expected.scheme, expected.netloc, expected.path):
            raise CallbackRejected("the callback did not arrive at our redirect_uri")
        try:
            params = parse_unique_pairs(parts.query)
        except MalformedBody as exc:
            raise CallbackRejected(str(exc)) from None
        state = params.get("state")
        if state is None or not hmac.compare_digest(state.encode(), pending.state.encode()):
            raise StateMismatch("state does not match the pending authorization request")
        iss = params.get("iss")
        if iss is None and self.metadata.authorization_response_iss_parameter_supported:
            raise IssuerMismatch("the authorization response lacks iss")
        if iss is not None and iss != pending.issuer:
            raise IssuerMismatch("the authorization response comes from another issuer")
        if "error" in params:
            error_class = ERRORS_BY_CODE.get(params["error"], ServerError)
            raise error_class(params.get("error_description", ""))
        code = params.get("code")
        if not code:
            raise MissingCode("the authorization response lacks code")
        return code

    def token_request(self, pending: PendingAuthorization, *, code: str, entropy: SeededEntropy,
                      now: int) -> HttpRequest:
        """The token request for ``code`` (RFC 6749 §4.1.3, RFC 7636 §4.5)."""
        params = {"grant_type": "authorization_code", "code": code, "redirect_uri": pending.redirect_uri,
                  "code_verifier": pending.code_verifier}
        params.update(client_assertion_params(client_id=self.client_id, audience=self.issuer,
                                              key=self.signing_key, now=now, entropy=entropy))
        return HttpRequest.form_post(url=self.metadata.token_endpoint, params=params,
                                     headers={"accept": "application/json"})

    def finish(self, pending: PendingAuthorization, response: HttpResponse, *, keys: JwkSet,
               now: int) -> LoginResult:
        """Validate the token response and its ID token; raises ``OAuthError``,
        ``TokenResponseRejected`` or ``JwtRejected``."""
        tokens = TokenResponse.from_response(response, require_id_token=True)
        assert tokens.id_token is not None
        claims = validate_id_token(tokens.id_token, issuer=pending.issuer, client_id=self.client_id, keys=keys,
                                   now=now, nonce=pending.nonce, max_age=pending.max_age,
                                   algorithms=self.id_token_algorithms)
        return LoginResult(id_token=claims, tokens=tokens)
