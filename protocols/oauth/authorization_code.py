"""The authorization code grant: authorization request, code issuance, code redemption.

- Authorization request validation: RFC 6749 §4.1.1, §4.1.2.1, §3.1.2.4; OIDC Core §3.1.2.1,
  §3.1.2.2, §3.1.2.6; RFC 7636 §4.4.1; RFC 9700 §2.1 (exact ``redirect_uri`` match). An unknown
  client or a bad ``redirect_uri`` must not redirect (RFC 6749 §4.1.2.1): ``NonRedirectableError``.
  Every other error goes back to the client: ``RedirectableError``, carrying ``iss`` (RFC 9207 §2).
- Codes: single use, 10 minutes (RFC 6749 §4.1.2), bound to the client, ``redirect_uri``, PKCE
  challenge, scope, nonce, subject, ``auth_time``, ``amr`` and session (RFC 9700 §2.1, §4.5).
- Redemption at the token endpoint (RFC 6749 §4.1.3, RFC 7636 §4.6): on reuse, ``invalid_grant``
  and the tokens minted from that code are revoked (RFC 6749 §4.1.2, §10.5).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from urllib.parse import urlencode, urlsplit

import attrs

from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.oauth import pkce
from protocols.oauth.client_auth import ClientRegistration
from protocols.oauth.errors import (
    InvalidGrant, InvalidRequest, InvalidScope, OAuthError, UnauthorizedClient, UnsupportedResponseType,
)

CODE_LIFETIME = 600
"""RFC 6749 §4.1.2 recommends at most 10 minutes."""

AUTHORIZATION_CODE = "authorization_code"
PROMPT_VALUES = frozenset({"none", "login", "consent", "select_account"})


# ------------------------------------------------------------------------ authorization errors


class AuthorizationEndpointError(Exception):
    """An authorization-endpoint failure wrapping the OAuth error to report."""

    def __init__(self, error: OAuthError) -> None:
        super().__init__(error.error)
        self.error = error


class NonRedirectableError(AuthorizationEndpointError):
    """Unknown client or invalid ``redirect_uri``: inform the user, never redirect (RFC 6749 §4.1.2.1)."""

    def to_response(self) -> HttpResponse:
        from html import escape

        text = (f"<!doctype html><html><body><h1>Sign-in request refused</h1><p>{escape(self.error.error)}: "
                f"{escape(self.error.description)}</p></body></html>")
        return HttpResponse.html(text, status=400)


class RedirectableError(AuthorizationEndpointError):
    """An error reported to the client through its verified ``redirect_uri`` (RFC 6749 §4.1.2.1)."""

    def __init__(self, error: OAuthError, *, redirect_uri: str, state: str | None) -> None:
        super().__init__(error)
        self.redirect_uri = redirect_uri
        self.state = state

    def to_response(self, *, issuer: str) -> HttpResponse:
        params = {"error": self.error.error}
        if self.error.description:
            params["error_description"] = self.error.description
        if self.state is not None:
            params["state"] = self.state
        params["iss"] = issuer
        return HttpResponse.redirect(add_query(self.redirect_uri, params))


def authorization_params(request: HttpRequest) -> Mapping[str, str]:
    """The query of an authorization request; one that cannot be read is an error shown to the user,
    not redirected (RFC 6749 §4.1.2.1: the redirect URI is not known yet)."""
    try:
        return request.query_params()
    except MalformedBody as exc:
        raise NonRedirectableError(InvalidRequest(str(exc))) from None


def add_query(url: str, params: Mapping[str, str]) -> str:
    """Append parameters to a URL that may already carry a query (RFC 6749 §3.1.2)."""
    separator = "&" if urlsplit(url).query else "?"
    return url + separator + urlencode(params)


# ------------------------------------------------------------------------ authorization request


@attrs.frozen(kw_only=True)
class AuthorizationRequest:
    """A validated OpenID Connect authentication request (OIDC Core §3.1.2.1)."""

    client_id: str
    redirect_uri: str
    scope: tuple[str, ...]
    state: str | None
    nonce: str | None
    code_challenge: str
    code_challenge_method: str = pkce.S256
    prompt: frozenset[str] = frozenset()
    max_age: int | None = None
    login_hint: str | None = None
    response_type: str = "code"

    def to_query(self) -> dict[str, str]:
        """The query parameters a client sends (used by the relying-party core)."""
        params = {"response_type": self.response_type, "client_id": self.client_id,
                  "redirect_uri": self.redirect_uri, "scope": " ".join(self.scope),
                  "code_challenge": self.code_challenge, "code_challenge_method": self.code_challenge_method}
        optional = {"state": self.state, "nonce": self.nonce, "login_hint": self.login_hint,
                    "prompt": " ".join(sorted(self.prompt)) or None,
                    "max_age": str(self.max_age) if self.max_age is not None else None}
        params.update({name: value for name, value in optional.items() if value is not None})
        return params

    @classmethod
    def from_query(cls, params: Mapping[str, str], *,
                   lookup_client: Callable[[str], ClientRegistration | None]) -> AuthorizationRequest:
        """Validate the parameters in the order RFC 6749 §4.1.2.1 requires.

        ``client_id`` and ``redirect_uri`` first (failures are ``NonRedirectableError``); then
        everything else, reported to the client (``RedirectableError``).
        """
        client_id = params.get("client_id")
        if not client_id:
            raise NonRedirectableError(InvalidRequest("client_id is required"))
        client = lookup_client(client_id)
        if client is None:
            raise NonRedirectableError(InvalidRequest("unknown client_id"))
        redirect_uri = params.get("redirect_uri")
        if not redirect_uri:
            raise NonRedirectableError(InvalidRequest("redirect_uri is required"))
        if redirect_uri not in client.redirect_uris:
            raise NonRedirectableError(InvalidRequest("redirect_uri is not registered for this client"))

        state = params.get("state")

        def fail(error: OAuthError) -> RedirectableError:
            return RedirectableError(error, redirect_uri=redirect_uri, state=state)

        if "request" in params or "request_uri" in params:
            raise fail(InvalidRequest("request objects are not supported"))
        response_type = params.get("response_type")
        if not response_type:
            raise fail(InvalidRequest("response_type is required"))
        if response_type != "code":
            raise fail(UnsupportedResponseType("only response_type=code is supported"))
        if AUTHORIZATION_CODE not in client.grant_types:
            raise fail(UnauthorizedClient("client may not use the authorization code grant"))
        response_mode = params.get("response_mode")
        if response_mode is not None and response_mode != "query":
            raise fail(InvalidRequest("only response_mode=query is supported"))
        # RFC 6749 §3.3: a request that omits scope gets the pre-defined default, the client's registered scope
        scope = tuple(params["scope"].split()) if "scope" in params else tuple(sorted(client.scopes))
        if "openid" not in scope:
            raise fail(InvalidScope("scope must contain openid"))
        not_allowed = [s for s in scope if s not in client.scopes]
        if not_allowed:
            raise fail(InvalidScope(f"scope not allowed for this client: {' '.join(not_allowed)}"))
        try:
            challenge = pkce.validate_challenge(code_challenge=params.get("code_challenge"),
                                                code_challenge_method=params.get("code_challenge_method"))
        except OAuthError as exc:
            raise fail(exc) from None
        prompt = frozenset(params.get("prompt", "").split())
        if prompt - PROMPT_VALUES:
            raise fail(InvalidRequest("unknown prompt value"))
        if "none" in prompt and len(prompt) > 1:
            raise fail(InvalidRequest("prompt=none cannot be combined with other values"))
        max_age = None
        if "max_age" in params:
            raw = params["max_age"]
            if not raw.isdigit() or len(raw) > 10:
                raise fail(InvalidRequest("max_age must be a non-negative integer"))
            max_age = int(raw)
        return cls(client_id=client_id, redirect_uri=redirect_uri, scope=scope, state=state,
                   nonce=params.get("nonce"), code_challenge=challenge, prompt=prompt, max_age=max_age,
                   login_hint=params.get("login_hint"))


def success_redirect(request: AuthorizationRequest, *, code: str, issuer: str) -> HttpResponse:
    """The authorization response: ``code``, ``state``, ``iss`` (RFC 6749 §4.1.2, RFC 9207 §2)."""
    params = {"code": code}
    if request.state is not None:
        params["state"] = request.state
    params["iss"] = issuer
    return HttpResponse.redirect(add_query(request.redirect_uri, params))


# ------------------------------------------------------------------------ codes


@attrs.frozen(kw_only=True)
class CodeGrant:
    """Everything an authorization code is bound to (RFC 9700 §2.1)."""

    client_id: str
    redirect_uri: str
    code_challenge: str | None
    scope: tuple[str, ...]
    nonce: str | None
    subject: str
    auth_time: int
    amr: tuple[str, ...]
    sid: str
    issued_at: int
    expires_at: int


@attrs.frozen(kw_only=True)
class _CodeEntry:
    grant: CodeGrant
    used: bool = False
    token_ids: tuple[str, ...] = ()


def _code_key(code: str) -> str:
    """Codes are held by digest so the ledger never stores a live secret."""
    return hashlib.sha256(code.encode()).hexdigest()


@attrs.frozen(kw_only=True)
class CodeReused:
    """What a replayed code revealed: the grant and the token ids now revoked."""

    grant: CodeGrant
    revoked: tuple[str, ...]


@attrs.frozen(kw_only=True)
class TokenRequestParams:
    """The ``authorization_code`` token request parameters (RFC 6749 §4.1.3, RFC 7636 §4.5)."""

    code: str = attrs.field(repr=False)
    redirect_uri: str
    code_verifier: str | None = attrs.field(default=None, repr=False)

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> TokenRequestParams:
        code, redirect_uri = form.get("code"), form.get("redirect_uri")
        if not code:
            raise InvalidRequest("code is required")
        if not redirect_uri:
            raise InvalidRequest("redirect_uri is required")
        return cls(code=code, redirect_uri=redirect_uri, code_verifier=form.get("code_verifier"))


class CodeReuseDetected(InvalidGrant):
    """``invalid_grant`` for a code presented a second time; ``reuse`` says what was revoked."""

    def __init__(self, reuse: CodeReused) -> None:
        super().__init__("authorization code already used")
        self.reuse = reuse


@attrs.define
class CodeLedger:
    """The provider's outstanding codes. Mutated only through ``issue``, ``redeem``, ``bind_tokens``
    and ``purge``; each call is one auditable state change."""

    _entries: dict[str, _CodeEntry] = attrs.field(factory=dict)

    def issue(self, *, request: AuthorizationRequest, subject: str, auth_time: int, amr: tuple[str, ...],
              sid: str, now: int, entropy: SeededEntropy, lifetime: int = CODE_LIFETIME) -> tuple[str, CodeGrant]:
        code = entropy.token(32)
        grant = CodeGrant(client_id=request.client_id, redirect_uri=request.redirect_uri,
                          code_challenge=request.code_challenge, scope=request.scope, nonce=request.nonce,
                          subject=subject, auth_time=auth_time, amr=amr, sid=sid,
                          issued_at=now, expires_at=now + lifetime)
        self._entries[_code_key(code)] = _CodeEntry(grant=grant)
        return code, grant

    def redeem(self, params: TokenRequestParams, *, client_id: str, now: int) -> CodeGrant:
        """Check the code for ``client_id`` and mark it used (RFC 6749 §4.1.3, RFC 7636 §4.6).

        Raises ``CodeReuseDetected`` (revoking the code's tokens) or ``InvalidGrant``.
        """
        key = _code_key(params.code)
        entry = self._entries.get(key)
        if entry is None:
            raise InvalidGrant("unknown authorization code")
        if entry.used:
            raise CodeReuseDetected(CodeReused(grant=entry.grant, revoked=entry.token_ids))
        grant = entry.grant
        if now >= grant.expires_at:
            del self._entries[key]
            raise InvalidGrant("authorization code expired")
        if grant.client_id != client_id:
            raise InvalidGrant("authorization code was issued to another client")
        if params.redirect_uri != grant.redirect_uri:
            raise InvalidGrant("redirect_uri differs from the authorization request")
        pkce.verify(code_verifier=params.code_verifier, code_challenge=grant.code_challenge)
        self._entries[key] = attrs.evolve(entry, used=True)
        return grant

    def bind_tokens(self, code: str, token_ids: tuple[str, ...]) -> None:
        """Remember which tokens a code produced, so a replay can revoke them."""
        key = _code_key(code)
        self._entries[key] = attrs.evolve(self._entries[key], token_ids=token_ids)

    def purge(self, *, now: int, keep_used_for: int = CODE_LIFETIME) -> int:
        """Forget codes that can no longer matter; used codes are kept a while for reuse detection."""
        stale = [key for key, entry in self._entries.items()
                 if now >= entry.grant.expires_at + (keep_used_for if entry.used else 0)]
        for key in stale:
            del self._entries[key]
        return len(stale)

    @property
    def size(self) -> int:
        """Codes held (not ``__len__``: an empty ledger must not be falsy)."""
        return len(self._entries)
