"""The OpenID Provider core: one sans-IO engine per provider that actors wrap.

Endpoints (paths below the issuer, see ``discovery``):

- ``GET /.well-known/openid-configuration`` — Discovery §4; ``GET /jwks`` — RFC 7517 §5.
- ``GET /authorize`` — OIDC Core §3.1.2 (validation in ``protocols.oauth.authorization_code``);
  an active session answers at once, otherwise a login page; ``prompt=none`` without one is
  ``login_required`` (§3.1.2.6); ``prompt=login``/``max_age`` force a new login (§3.1.2.1).
- ``POST /login`` — password plus TOTP (``authentication``, the form step in ``sign_in``), then a
  session and a code.
- ``GET /federate/<upstream>`` and ``GET /federate/<upstream>/callback`` — social login: this
  provider is the relying party of an upstream OP; the callback needs a back-channel token request,
  so it returns ``Fetch`` and the actor calls ``resume`` with the upstream's answer (sans-IO).
- ``POST /token`` — RFC 6749 §4.1.3, §5; client authentication per ``client_auth``.
- ``GET|POST /userinfo`` — OIDC Core §5.3 with RFC 6750 challenges.

Every call returns a ``Handled`` (response + one ``Outcome``) or a ``Fetch``; the ``Outcome`` names
one event (``area.past_tense``), the decision, the reason, the subject and client, and lists the
secrets minted in that step so the actor can register them for redaction (DESIGN.md §5).
State (sessions, login transactions, codes, replay cache, revoked token ids) lives in this object
and changes only inside ``handle``/``resume`` and the explicit admin methods.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

from protocols.access_token import challenge
from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.jose.jwks import JwkSet
from protocols.jose.jwt import sign_jwt
from protocols.jose.keys import KeyRing, SigningKey
from protocols.jose.profiles import TYP_ACCESS_TOKEN
from protocols.oauth.authorization_code import (
    AUTHORIZATION_CODE, AuthorizationRequest, CodeGrant, CodeLedger, CodeReuseDetected, NonRedirectableError,
    RedirectableError, TokenRequestParams, add_query, authorization_params, success_redirect,
)
from protocols.oauth.client_auth import AssertionReplayCache, AuthenticatedClient, ClientRegistration
from protocols.oauth.errors import (
    AccessDenied, InvalidGrant, InvalidToken, LoginRequired, MethodNotAllowed, NotFound, OAuthError,
)
from protocols.oauth.outcome import Decision, Handled, Outcome, refused
from protocols.oauth.revocation import purge_revocations
from protocols.oauth.token_endpoint import ClientAuthenticator, GrantHandler, serve_token_request
from protocols.oauth.token_response import TokenResponse
from protocols.oidc import federation
from protocols.oidc.authentication import AMR_MFA, Session, UserAccount, render_login_page
from protocols.oidc.discovery import (
    AUTHORIZE_PATH, FEDERATE_PATH, JWKS_PATH, LOGIN_PATH, TOKEN_PATH, USERINFO_PATH, WELL_KNOWN_PATH,
    ProviderMetadata,
)
from protocols.oidc.id_token import SCOPE_CLAIMS, check_hook_claims, mint_id_token
from protocols.oidc.sign_in import SignIn
from protocols.oidc.userinfo import (
    MissingBearerToken, extract_bearer_token, userinfo_claims, validate_access_token,
)

ClaimsHook = Callable[[UserAccount], Mapping[str, Any]]
"""Rules hook: extra claims (role, territory, ...) for a user, added to ID tokens and UserInfo."""

EndpointHandler = Callable[..., "Handled"]
"""An extra endpoint below the issuer: ``handler(request=HttpRequest, now=int) -> Handled`` (e.g. CIBA's
``/bc-authorize``); it must answer every bad input with an OAuth error response, never raise."""


@attrs.frozen(kw_only=True)
class Fetch:
    """The provider needs a back-channel HTTP exchange before it can answer: send ``request``,
    then call ``provider.resume(fetch, response, now=...)``. ``outcome`` is the step so far."""

    request: HttpRequest
    continuation: str = attrs.field(repr=False)
    outcome: Outcome


@attrs.frozen(kw_only=True)
class ProviderConfig:
    """Policy knobs of one provider; lifetimes in seconds."""

    issuer: str
    code_lifetime: int = 600
    id_token_lifetime: int = 3600
    access_token_lifetime: int = 900
    session_lifetime: int = 8 * 3600
    login_transaction_lifetime: int = 600
    max_login_failures: int = 5
    accept_token_endpoint_audience: bool = False
    scopes_supported: tuple[str, ...] = ("openid", "profile", "email")

    def metadata(self) -> ProviderMetadata:
        return ProviderMetadata.for_issuer(self.issuer, scopes_supported=self.scopes_supported)


@attrs.frozen(kw_only=True)
class _LoginTransaction:
    request: AuthorizationRequest
    expires_at: int
    failures: int = 0


@attrs.frozen(kw_only=True)
class _IssuedToken:
    subject: str
    client_id: str
    expires_at: int


@attrs.define
class OpenIdProvider(SignIn):
    """An OpenID Provider's protocol state and handlers. See the module docstring."""

    config: ProviderConfig
    keyring: KeyRing
    entropy: SeededEntropy = attrs.field(repr=False)
    clients: dict[str, ClientRegistration] = attrs.field(factory=dict)
    claims_hook: ClaimsHook = attrs.field(default=lambda account: {})
    upstreams: dict[str, federation.Upstream] = attrs.field(factory=dict)
    metadata: ProviderMetadata = attrs.field(init=False)
    _users: dict[str, UserAccount] = attrs.field(factory=dict, init=False)
    _usernames: dict[str, str] = attrs.field(factory=dict, init=False)
    _sessions: dict[str, Session] = attrs.field(factory=dict, init=False, repr=False)
    _transactions: dict[str, _LoginTransaction] = attrs.field(factory=dict, init=False, repr=False)
    _codes: CodeLedger = attrs.field(factory=CodeLedger, init=False)
    _replay: AssertionReplayCache = attrs.field(factory=AssertionReplayCache, init=False)
    _issued: dict[str, _IssuedToken] = attrs.field(factory=dict, init=False)
    _revoked: dict[str, int] = attrs.field(factory=dict, init=False)
    _totp_steps: dict[str, int] = attrs.field(factory=dict, init=False)
    federations: federation.FederationState = attrs.field(factory=federation.FederationState, init=False)
    grant_handlers: dict[str, GrantHandler] = attrs.field(factory=dict, init=False)
    endpoints: dict[str, tuple[tuple[str, ...], EndpointHandler]] = attrs.field(factory=dict, init=False)
    _own_keys: tuple[frozenset[str], JwkSet] | None = attrs.field(default=None, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self.metadata = self.config.metadata()

    # ------------------------------------------------------------------ administration

    @property
    def issuer(self) -> str:
        return self.config.issuer

    def register_client(self, registration: ClientRegistration) -> None:
        self.clients[registration.client_id] = registration

    def register_grant(self, grant_type: str, handler: GrantHandler) -> None:
        """Serve another grant at the token endpoint (token exchange, JWT bearer, CIBA...) and
        advertise it in ``grant_types_supported``."""
        self.grant_handlers[grant_type] = handler
        if grant_type not in self.metadata.grant_types_supported:
            self.metadata = attrs.evolve(self.metadata,
                                         grant_types_supported=(*self.metadata.grant_types_supported, grant_type))

    def register_endpoint(self, path: str, handler: EndpointHandler, *, methods: tuple[str, ...] = ("POST",)) -> None:
        """Serve another endpoint at ``path`` below the issuer (CIBA ``/bc-authorize``, ...)."""
        if path in _ROUTES:
            raise ValueError(f"{path} is a built-in endpoint")
        self.endpoints[path] = (methods, handler)

    def authenticate_client(self, request: HttpRequest, form: Mapping[str, str], *, now: int) -> AuthenticatedClient:
        """Client authentication as at the token endpoint (RFC 6749 §2.3, RFC 7523 §3), sharing its
        assertion replay cache — for the other endpoints that need it (CIBA §7.1, RFC 7662 §2.1...)."""
        return self._client_authenticator()(request, form, now=now)

    def _client_authenticator(self) -> ClientAuthenticator:
        return ClientAuthenticator(issuer=self.issuer, token_endpoint=self.metadata.token_endpoint,
                                   lookup=self.clients.get, replay_cache=self._replay,
                                   accept_token_endpoint_audience=self.config.accept_token_endpoint_audience)

    def record_issued(self, *, jti: str, subject: str, client_id: str, expires_at: int) -> None:
        """Remember a token this provider minted, so ``revoke_subject`` can revoke it."""
        self._issued[jti] = _IssuedToken(subject=subject, client_id=client_id, expires_at=expires_at)

    def public_keys(self, *, now: int) -> JwkSet:
        """Our published keys as a verifier sees them (cached while the published set is unchanged)."""
        kids = self.keyring.kids(now=now)
        if self._own_keys is None or self._own_keys[0] != kids:
            self._own_keys = (kids, JwkSet.from_ring(self.keyring, now=now))
        return self._own_keys[1]

    def rotate_key(self, new_key: SigningKey, *, now: int, retire_after: int) -> Outcome:
        """Sign with ``new_key`` from now on; the old key stays published (OIDC Core §10.1.1)."""
        old = self.keyring.active.kid
        self.keyring = self.keyring.rotate(new_key=new_key, now=now, retire_after=retire_after)
        return Outcome(event="key.rotated", decision=Decision.ALLOW,
                       details={"old_kid": old, "new_kid": new_key.kid, "retire_after": retire_after})

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

    def purge(self, *, now: int) -> None:
        """Drop state that expired (sessions, transactions, codes, replay entries, revocations)."""
        self._purge_sign_in(now=now)
        purge_revocations(self._issued, self._revoked, now=now)  # kept a minute past expiry (clock leeway)
        self._codes.purge(now=now)
        self._replay.purge(now=now)
        self.federations.purge(now=now)

    # ------------------------------------------------------------------ dispatch

    def handle(self, request: HttpRequest, *, now: int) -> Handled | Fetch:
        """Answer one HTTP request addressed to this provider."""
        self.purge(now=now)
        base = urlsplit(self.issuer).path.rstrip("/")
        path = request.path[len(base):] if request.path.startswith(base) else request.path
        route = _ROUTES.get(path)
        if route is None and path in self.endpoints:
            methods, endpoint = self.endpoints[path]
            if request.method not in methods:
                return refused(MethodNotAllowed(f"use {' or '.join(methods)}"), event="http.refused")
            return endpoint(request=request, now=now)
        if route is None and path.startswith(FEDERATE_PATH + "/"):
            route = (("GET",), "_federate")
        if route is None:
            return refused(NotFound("no such endpoint"), event="http.refused")
        methods, handler = route
        if request.method not in methods:
            return refused(MethodNotAllowed(f"use {' or '.join(methods)}"), event="http.refused")
        return getattr(self, handler)(request, now)

    def resume(self, fetch: Fetch, response: HttpResponse, *, now: int) -> Handled | Fetch:
        """Continue a step that returned ``Fetch`` with the upstream's ``response``."""
        return federation.resume(self, fetch.continuation, response=response, now=now)

    # ------------------------------------------------------------------ discovery, JWKS

    def _discovery(self, request: HttpRequest, now: int) -> Handled:
        return Handled(response=self.metadata.to_response(),
                       outcome=Outcome(event="discovery.served", decision=Decision.ALLOW))

    def _jwks(self, request: HttpRequest, now: int) -> Handled:
        document = self.keyring.jwks(now=now)
        response = HttpResponse.json_body(document, headers={"cache-control": "max-age=300"})
        return Handled(response=response, outcome=Outcome(
            event="jwks.served", decision=Decision.ALLOW, details={"kids": [k["kid"] for k in document["keys"]]}))

    # ------------------------------------------------------------------ authorization endpoint

    def _authorize(self, request: HttpRequest, now: int) -> Handled:
        try:
            areq = AuthorizationRequest.from_query(authorization_params(request), lookup_client=self.clients.get)
            client = self.clients[areq.client_id]
            session = self._session_of(request, now)
            if session is not None and "login" not in areq.prompt and session.satisfies(
                    now=now, max_age=areq.max_age, require_mfa=client.require_mfa):
                return self._complete(areq, session, now=now, event="code.issued", set_cookie=False)
            if "none" in areq.prompt:
                raise RedirectableError(LoginRequired("no active session satisfies the request"),
                                        redirect_uri=areq.redirect_uri, state=areq.state)
        except NonRedirectableError as exc:
            return Handled(response=exc.to_response(), outcome=Outcome(
                event="auth.request_rejected", decision=Decision.DENY, reason=exc.error.error,
                client_id=_client_hint(request), details={"description": exc.error.description, "redirected": False}))
        except RedirectableError as exc:
            return Handled(response=exc.to_response(issuer=self.issuer), outcome=Outcome(
                event="auth.request_rejected", decision=Decision.DENY, reason=exc.error.error,
                client_id=_client_hint(request), details={"description": exc.error.description, "redirected": True}))
        txn = self.entropy.token(16)
        self._transactions[txn] = _LoginTransaction(request=areq,
                                                    expires_at=now + self.config.login_transaction_lifetime)
        return Handled(response=self._login_page(txn, client), outcome=Outcome(
            event="auth.login_requested", decision=Decision.ALLOW, client_id=client.client_id,
            details={"scope": " ".join(areq.scope), "prompt": sorted(areq.prompt)}, secrets=(txn,)))

    def _login_page(self, txn: str, client: ClientRegistration, *, error: str = "", status: int = 200) -> HttpResponse:
        base = self.issuer.rstrip("/")
        links = {name: add_query(f"{base}{FEDERATE_PATH}/{name}", {"txn": txn}) for name in self.upstreams}
        page = render_login_page(action=base + LOGIN_PATH, transaction=txn, client_name=client.name, error=error,
                                 federation_links=links)
        return HttpResponse.html(page, status=status)

    def _complete(self, areq: AuthorizationRequest, session: Session, *, now: int, event: str,
                  set_cookie: bool, details: Mapping[str, Any] | None = None,
                  extra_secrets: tuple[str, ...] = ()) -> Handled:
        """Issue a code for ``session`` and redirect back to the client (RFC 6749 §4.1.2)."""
        code, grant = self._codes.issue(request=areq, subject=session.subject, auth_time=session.auth_time,
                                        amr=session.amr, sid=session.sid, now=now, entropy=self.entropy,
                                        lifetime=self.config.code_lifetime)
        response = self._with_cookie(success_redirect(areq, code=code, issuer=self.issuer), session, now=now,
                                     set_cookie=set_cookie)
        secrets: tuple[str, ...] = (code, *extra_secrets) + ((session.cookie,) if set_cookie else ())
        return Handled(response=response, outcome=Outcome(
            event=event, decision=Decision.ALLOW, subject=session.subject, client_id=areq.client_id,
            details={"sid": session.sid, "amr": list(session.amr), "scope": " ".join(grant.scope), **(details or {})},
            secrets=secrets))

    # ------------------------------------------------------------------ login form (``sign_in``)

    def _registration(self, client_id: str) -> ClientRegistration | None:
        return self.clients.get(client_id)

    def _requires_mfa(self, client: ClientRegistration) -> bool:
        return client.require_mfa

    def _refused_message(self, reason: str) -> str:
        return "Enter the one-time code from your authenticator." if reason == "otp_required" \
            else "Invalid credentials."

    def _signed_in(self, txn_id: str, txn: _LoginTransaction, session: Session, *, now: int) -> Handled:
        del self._transactions[txn_id]
        return self._complete(txn.request, session, now=now, event="auth.login_succeeded", set_cookie=True)

    def login_transaction(self, txn_id: str, *, now: int) -> AuthorizationRequest | None:
        """The pending authorization request of a login transaction (kept until completed)."""
        txn = self._transactions.get(txn_id)
        return txn.request if txn is not None and txn.expires_at > now else None

    def finish_transaction(self, txn_id: str) -> AuthorizationRequest | None:
        """Forget a login transaction (completed or abandoned)."""
        txn = self._transactions.pop(txn_id, None)
        return txn.request if txn is not None else None

    def provision_federated(self, account: UserAccount) -> UserAccount:
        """Create or refresh a federated account (just-in-time provisioning)."""
        existing = self._users.get(account.subject)
        if existing is not None:
            account = attrs.evolve(existing, name=account.name, email=account.email,
                                   email_verified=account.email_verified)
        self.add_user(account)
        return account

    def complete_federated_login(self, areq: AuthorizationRequest, *, account: UserAccount, amr: tuple[str, ...],
                                 now: int, details: Mapping[str, Any], extra_secrets: tuple[str, ...] = ()) -> Handled:
        """Start a session for a federated login and answer the original authorization request."""
        client = self.clients.get(areq.client_id)
        if client is not None and client.require_mfa and AMR_MFA not in amr:
            error = RedirectableError(AccessDenied("multi-factor authentication required"),
                                      redirect_uri=areq.redirect_uri, state=areq.state)
            return Handled(response=error.to_response(issuer=self.issuer), outcome=Outcome(
                event="federation.failed", decision=Decision.DENY, reason="mfa_required",
                subject=account.subject, client_id=areq.client_id, details=details))
        session = self.start_session(account=account, amr=amr, now=now)
        return self._complete(areq, session, now=now, event="federation.succeeded", set_cookie=True, details=details,
                              extra_secrets=extra_secrets)

    # ------------------------------------------------------------------ federation

    def _federate(self, request: HttpRequest, now: int) -> Handled | Fetch:
        return federation.handle(self, request, now=now)

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


_ROUTES: dict[str, tuple[tuple[str, ...], str]] = {
    WELL_KNOWN_PATH: (("GET",), "_discovery"),
    JWKS_PATH: (("GET",), "_jwks"),
    AUTHORIZE_PATH: (("GET",), "_authorize"),
    LOGIN_PATH: (("POST",), "_login"),
    TOKEN_PATH: (("POST",), "_token"),
    USERINFO_PATH: (("GET", "POST"), "_userinfo"),
}
"""Path below the issuer → (allowed methods, handler method name)."""


def _client_hint(request: HttpRequest) -> str | None:
    """The client_id a rejected authorization request named, for the audit line (may be bogus)."""
    try:
        value = request.query_params().get("client_id")
    except MalformedBody:
        return None
    return value[:128] if value else None
