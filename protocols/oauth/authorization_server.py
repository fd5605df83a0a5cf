"""A plain OAuth 2.0 authorization server core (no OpenID Connect) for API providers — the SaaS
systems (CRM, Google Workspace, Slack) whose tokens the vault keeps.

Endpoints below the issuer:

- ``GET /.well-known/oauth-authorization-server`` (RFC 8414) and ``GET /jwks`` (RFC 7517 §5);
- ``GET /authorize`` — RFC 6749 §4.1.1 with PKCE S256 required (RFC 7636 §4.4.1, RFC 9700 §2.1.1);
  a login page when the browser has no session, then the **consent screen** (``consent.py``)
  unless the client is admin-approved for every user (B2B) or the user already granted these
  scopes; ``POST /login`` and ``POST /consent`` continue the transaction;
- ``POST /token`` — ``authorization_code`` (RFC 6749 §4.1.3), ``refresh_token`` with rotation and
  reuse detection (RFC 6749 §6, RFC 9700 §4.14.2, ``refresh.py``) and ``client_credentials`` for
  service accounts (RFC 6749 §4.4); ``resource`` (RFC 8707 §2.2) picks the audience and narrows
  the scope to what that API accepts; access tokens are RFC 9068 ``at+jwt`` JWTs;
- ``POST /revoke`` — RFC 7009 (``revocation.py``): revoking a refresh token revokes its whole grant.

Resource servers of the same provider call ``authenticate_api`` (RFC 6750 §2.1, RFC 9068 §4) and
``require_any_scope`` (RFC 6750 §3.1 ``insufficient_scope``). Every call returns a ``Handled`` whose
``Outcome`` names the event, decision, reason and the secrets minted (for redaction).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.jose.errors import JwtRejected, WrongAudience
from protocols.jose.jwks import JwkSet
from protocols.jose.jwt import sign_jwt, verify_jwt
from protocols.jose.keys import KeyRing
from protocols.jose.profiles import TYP_ACCESS_TOKEN, TokenProfile
from protocols.oauth import pkce
from protocols.oauth.authorization_code import (
    AUTHORIZATION_CODE, AuthorizationRequest, CodeLedger, CodeReuseDetected, NonRedirectableError,
    RedirectableError, TokenRequestParams, success_redirect,
)
from protocols.oauth.client_auth import AssertionReplayCache, AuthenticatedClient, ClientRegistration, authenticate_client
from protocols.oauth.consent import ALLOW, DENY, render_consent_page
from protocols.oauth.errors import (
    AccessDenied, InsufficientScope, InvalidGrant, InvalidRequest, InvalidScope, InvalidTarget, InvalidToken,
    MethodNotAllowed, NotFound, OAuthError, UnauthorizedClient, UnsupportedGrantType, UnsupportedResponseType,
)
from protocols.oauth.metadata import WELL_KNOWN_SUFFIX, AuthorizationServerMetadata
from protocols.oauth.refresh import REFRESH_TOKEN, RefreshLedger, RefreshTokenReused
from protocols.oauth.revocation import ACCESS_TOKEN_HINT, RevocationRequest, revocation_response
from protocols.oauth.token_response import TokenResponse
from protocols.oidc.authentication import (
    LoginAttempt, Session, UserAccount, check_login, read_cookie, render_login_page, session_cookie_header,
)
from protocols.oidc.provider import Decision, Handled, Outcome
from protocols.oidc.userinfo import AccessTokenClaims, extract_bearer_token, validate_access_token

CLIENT_CREDENTIALS = "client_credentials"
AUTHORIZE_PATH, LOGIN_PATH, CONSENT_PATH = "/authorize", "/login", "/consent"
TOKEN_PATH, REVOKE_PATH, JWKS_PATH = "/token", "/revoke", "/jwks"
DAY = 86400


@attrs.frozen(kw_only=True)
class OAuthClient:
    """A client registration plus the provider-side policy around it.

    ``admin_consented``: an administrator approved the app for every user of the tenant (B2B /
    employee access governed by IT policy) — no consent screen. ``service_account``: the subject
    a ``client_credentials`` token acts as (an integration user); ``None`` forbids that grant.
    """

    registration: ClientRegistration
    admin_consented: bool = False
    service_account: str | None = None

    @property
    def client_id(self) -> str:
        return self.registration.client_id


@attrs.frozen(kw_only=True)
class ApiResource:
    """One protected API of the provider: its RFC 8707 resource identifier and the scopes it honours."""

    uri: str
    scopes: frozenset[str] = attrs.field(converter=frozenset)


@attrs.frozen(kw_only=True)
class ServerConfig:
    issuer: str
    display_name: str
    scopes: Mapping[str, str]
    """Every scope the server knows, with the sentence shown on the consent screen."""
    resources: tuple[ApiResource, ...]
    access_token_lifetime: int = 900
    refresh_idle_lifetime: int = 30 * DAY
    refresh_absolute_lifetime: int = 90 * DAY
    code_lifetime: int = 600
    session_lifetime: int = 8 * 3600
    transaction_lifetime: int = 600
    max_login_failures: int = 5

    def metadata(self) -> AuthorizationServerMetadata:
        base = self.issuer.rstrip("/")
        return AuthorizationServerMetadata(
            issuer=self.issuer, authorization_endpoint=base + AUTHORIZE_PATH, token_endpoint=base + TOKEN_PATH,
            jwks_uri=base + JWKS_PATH, revocation_endpoint=base + REVOKE_PATH, scopes_supported=tuple(self.scopes),
            grant_types_supported=(AUTHORIZATION_CODE, REFRESH_TOKEN, CLIENT_CREDENTIALS))


@attrs.frozen(kw_only=True)
class _Transaction:
    request: AuthorizationRequest
    expires_at: int
    subject: str | None = None
    failures: int = 0


@attrs.frozen(kw_only=True)
class _Issued:
    subject: str
    client_id: str
    expires_at: int
    family_id: str | None


def _page(text: str, *, status: int) -> HttpResponse:
    return HttpResponse.html(f"<!doctype html><html><body><p>{text}</p></body></html>", status=status)


def parse_authorization_request(params: Mapping[str, str], *, lookup: Callable[[str], OAuthClient | None],
                                scopes_supported: Iterable[str]) -> AuthorizationRequest:
    """RFC 6749 §4.1.1 validation in the order §4.1.2.1 requires; PKCE S256 is mandatory."""
    client_id = params.get("client_id")
    if not client_id:
        raise NonRedirectableError(InvalidRequest("client_id is required"))
    client = lookup(client_id)
    if client is None:
        raise NonRedirectableError(InvalidRequest("unknown client_id"))
    redirect_uri = params.get("redirect_uri")
    if not redirect_uri or redirect_uri not in client.registration.redirect_uris:
        raise NonRedirectableError(InvalidRequest("redirect_uri is missing or not registered for this client"))
    state = params.get("state")

    def fail(error: OAuthError) -> RedirectableError:
        return RedirectableError(error, redirect_uri=redirect_uri, state=state)

    if params.get("response_type") != "code":
        raise fail(UnsupportedResponseType("only response_type=code is supported") if params.get("response_type")
                   else InvalidRequest("response_type is required"))
    if AUTHORIZATION_CODE not in client.registration.grant_types:
        raise fail(UnauthorizedClient("client may not use the authorization code grant"))
    scope = tuple(dict.fromkeys(params.get("scope", "").split()))
    if not scope:
        raise fail(InvalidScope("scope is required"))
    supported = frozenset(scopes_supported)
    unknown = [s for s in scope if s not in supported or s not in client.registration.scopes]
    if unknown:
        raise fail(InvalidScope(f"scope not available to this client: {' '.join(unknown)}"))
    try:
        challenge = pkce.validate_challenge(code_challenge=params.get("code_challenge"),
                                            code_challenge_method=params.get("code_challenge_method"))
    except OAuthError as exc:
        raise fail(exc) from None
    return AuthorizationRequest(client_id=client_id, redirect_uri=redirect_uri, scope=scope, state=state,
                                nonce=None, code_challenge=challenge)


@attrs.define
class AuthorizationServer:
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
    _transactions: dict[str, _Transaction] = attrs.field(factory=dict, init=False, repr=False)
    _consents: dict[tuple[str, str], frozenset[str]] = attrs.field(factory=dict, init=False)
    _codes: CodeLedger = attrs.field(factory=CodeLedger, init=False)
    _replay: AssertionReplayCache = attrs.field(factory=AssertionReplayCache, init=False)
    _issued: dict[str, _Issued] = attrs.field(factory=dict, init=False)
    _revoked: dict[str, int] = attrs.field(factory=dict, init=False)
    _totp_steps: dict[str, int] = attrs.field(factory=dict, init=False)
    _own_keys: tuple[frozenset[str], JwkSet] | None = attrs.field(default=None, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self.metadata = self.config.metadata()
        self.refresh = RefreshLedger(idle_lifetime=self.config.refresh_idle_lifetime,
                                     absolute_lifetime=self.config.refresh_absolute_lifetime)

    # ------------------------------------------------------------------ administration

    @property
    def issuer(self) -> str:
        return self.config.issuer

    def add_user(self, account: UserAccount) -> None:
        self._users[account.subject] = account
        self._usernames[account.username] = account.subject

    def user(self, subject: str) -> UserAccount | None:
        return self._users.get(subject)

    def register_client(self, client: OAuthClient) -> None:
        self.clients[client.client_id] = client

    def resource(self, uri: str) -> ApiResource | None:
        return next((r for r in self.config.resources if r.uri == uri), None)

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
        for table in (self._sessions, self._transactions):
            for key in [k for k, v in table.items() if v.expires_at <= now]:
                del table[key]
        for jti in [k for k, v in self._issued.items() if v.expires_at <= now - 60]:
            del self._issued[jti]
        for jti in [k for k, exp in self._revoked.items() if exp <= now - 60]:
            del self._revoked[jti]
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
            return self._refused(NotFound("no such endpoint"), event="http.refused")
        methods, name = route
        if request.method not in methods:
            return self._refused(MethodNotAllowed(f"use {' or '.join(methods)}"), event="http.refused")
        return getattr(self, name)(request, now)

    @staticmethod
    def _refused(error: OAuthError, *, event: str, client_id: str | None = None, subject: str | None = None,
                 details: Mapping[str, Any] | None = None) -> Handled:
        return Handled(response=error.to_response(), outcome=Outcome(
            event=event, decision=Decision.DENY, reason=error.error, client_id=client_id, subject=subject,
            details={"description": error.description, **(details or {})}))

    def _metadata(self, request: HttpRequest, now: int) -> Handled:
        return Handled(response=self.metadata.to_response(), outcome=Outcome(event="metadata.served",
                                                                             decision=Decision.ALLOW))

    def _jwks(self, request: HttpRequest, now: int) -> Handled:
        return Handled(response=HttpResponse.json_body(self.keyring.jwks(now=now)),
                       outcome=Outcome(event="jwks.served", decision=Decision.ALLOW))

    # ------------------------------------------------------------------ authorization endpoint

    def _session_of(self, request: HttpRequest, now: int) -> Session | None:
        cookie = read_cookie(request.header("cookie"))
        session = self._sessions.get(cookie) if cookie else None
        return session if session is not None and session.is_active(now) else None

    def _authorize(self, request: HttpRequest, now: int) -> Handled:
        try:
            try:
                params = request.query_params()
            except MalformedBody as exc:
                raise NonRedirectableError(InvalidRequest(str(exc))) from None
            areq = parse_authorization_request(params, lookup=self.clients.get, scopes_supported=self.config.scopes)
        except NonRedirectableError as exc:
            return Handled(response=exc.to_response(), outcome=Outcome(
                event="auth.request_rejected", decision=Decision.DENY, reason=exc.error.error,
                details={"description": exc.error.description}))
        except RedirectableError as exc:
            return Handled(response=exc.to_response(issuer=self.issuer), outcome=Outcome(
                event="auth.request_rejected", decision=Decision.DENY, reason=exc.error.error,
                details={"description": exc.error.description}))
        txn_id = self.entropy.token(16)
        session = self._session_of(request, now)
        txn = _Transaction(request=areq, expires_at=now + self.config.transaction_lifetime,
                           subject=session.subject if session else None)
        self._transactions[txn_id] = txn
        if session is None:
            client = self.clients[areq.client_id]
            page = render_login_page(action=self.issuer.rstrip("/") + LOGIN_PATH, transaction=txn_id,
                                     client_name=client.registration.name)
            return Handled(response=HttpResponse.html(page), outcome=Outcome(
                event="auth.login_required", decision=Decision.ALLOW, client_id=areq.client_id,
                reason="no session at the provider", secrets=(txn_id,)))
        return self._after_login(txn_id, session, now=now, set_cookie=False, event="auth.session_reused")

    def _after_login(self, txn_id: str, session: Session, *, now: int, set_cookie: bool, event: str) -> Handled:
        """Consent screen when needed, else the code (RFC 6749 §4.1.2)."""
        txn = self._transactions[txn_id]
        client = self.clients[txn.request.client_id]
        granted = self._consents.get((session.subject, client.client_id), frozenset())
        extra = (session.cookie,) if set_cookie else ()
        if not client.admin_consented and not set(txn.request.scope) <= granted:
            self._transactions[txn_id] = attrs.evolve(txn, subject=session.subject)
            page = render_consent_page(action=self.issuer.rstrip("/") + CONSENT_PATH, transaction=txn_id,
                                       client_name=client.registration.name, provider_name=self.config.display_name,
                                       scopes={s: self.config.scopes[s] for s in txn.request.scope})
            response = self._with_cookie(HttpResponse.html(page), session, now=now, set_cookie=set_cookie)
            return Handled(response=response, outcome=Outcome(
                event="consent.requested", decision=Decision.ALLOW, subject=session.subject,
                client_id=client.client_id, reason=event, details={"scope": " ".join(txn.request.scope)},
                secrets=(txn_id, *extra)))
        return self._complete(txn_id, session, now=now, set_cookie=set_cookie, event=event,
                              reason="admin-approved application" if client.admin_consented else "consent on record")

    def _with_cookie(self, response: HttpResponse, session: Session, *, now: int, set_cookie: bool) -> HttpResponse:
        if not set_cookie:
            return response
        cookie = session_cookie_header(session, secure=self.issuer.startswith("https:"), now=now)
        return HttpResponse(status=response.status, body=response.body,
                            headers=response.headers + (("set-cookie", cookie),))

    def _complete(self, txn_id: str, session: Session, *, now: int, set_cookie: bool, event: str,
                  reason: str) -> Handled:
        txn = self._transactions.pop(txn_id)
        code, grant = self._codes.issue(request=txn.request, subject=session.subject, auth_time=session.auth_time,
                                        amr=session.amr, sid=session.sid, now=now, entropy=self.entropy,
                                        lifetime=self.config.code_lifetime)
        response = self._with_cookie(success_redirect(txn.request, code=code, issuer=self.issuer), session, now=now,
                                     set_cookie=set_cookie)
        secrets = (code, txn_id) + ((session.cookie,) if set_cookie else ())
        return Handled(response=response, outcome=Outcome(
            event=event, decision=Decision.ALLOW, subject=session.subject, client_id=txn.request.client_id,
            reason=reason, details={"scope": " ".join(grant.scope), "amr": list(session.amr)}, secrets=secrets))

    def _login(self, request: HttpRequest, now: int) -> Handled:
        def failed(reason: str, response: HttpResponse, **extra: Any) -> Handled:
            return Handled(response=response, outcome=Outcome(event="auth.login_failed", decision=Decision.DENY,
                                                              reason=reason, **extra))

        try:
            form = request.form()
        except MalformedBody:
            return failed("malformed_request", _page("The sign-in form could not be read.", status=400))
        txn_id = form.get("txn", "")
        txn = self._transactions.get(txn_id)
        if txn is None:
            return failed("unknown_transaction", _page("This sign-in has expired. Start again.", status=400))
        client = self.clients[txn.request.client_id]
        attempt = LoginAttempt.from_form(form)
        if attempt is None:
            page = render_login_page(action=self.issuer.rstrip("/") + LOGIN_PATH, transaction=txn_id,
                                     client_name=client.registration.name, error="Enter your username and password.")
            return failed("incomplete_form", HttpResponse.html(page, status=400), client_id=client.client_id)
        subject = self._usernames.get(attempt.username)
        account = self._users.get(subject) if subject else None
        verdict = check_login(account=account, attempt=attempt, now=now, require_mfa=False,
                              last_totp_step=self._totp_steps.get(subject or ""))
        if not verdict.ok:
            failures = txn.failures + 1
            extra = {"client_id": client.client_id, "subject": account.subject if account else None,
                     "details": {"failures": failures}}
            if failures >= self.config.max_login_failures:
                del self._transactions[txn_id]
                error = RedirectableError(AccessDenied("too many failed sign-in attempts"),
                                          redirect_uri=txn.request.redirect_uri, state=txn.request.state)
                return failed(verdict.reason, error.to_response(issuer=self.issuer), **extra)
            self._transactions[txn_id] = attrs.evolve(txn, failures=failures)
            page = render_login_page(action=self.issuer.rstrip("/") + LOGIN_PATH, transaction=txn_id,
                                     client_name=client.registration.name, error="Invalid credentials.")
            return failed(verdict.reason, HttpResponse.html(page, status=401), **extra)
        assert account is not None
        previous = read_cookie(request.header("cookie"))
        if previous:
            self._sessions.pop(previous, None)
        if verdict.totp_step is not None:
            self._totp_steps[account.subject] = verdict.totp_step
        session = Session.start(subject=account.subject, amr=verdict.amr, now=now,
                                lifetime=self.config.session_lifetime, entropy=self.entropy)
        self._sessions[session.cookie] = session
        return self._after_login(txn_id, session, now=now, set_cookie=True, event="auth.login_succeeded")

    def _consent(self, request: HttpRequest, now: int) -> Handled:
        try:
            form = request.form()
        except MalformedBody:
            return self._refused(InvalidRequest("the consent form could not be read"), event="consent.rejected")
        txn_id = form.get("txn", "")
        txn = self._transactions.get(txn_id)
        session = self._session_of(request, now)
        if txn is None or session is None or txn.subject != session.subject:
            # Only the signed-in user who saw the screen may answer it (no CSRF, no fixation).
            return Handled(response=_page("This request has expired. Start again.", status=400), outcome=Outcome(
                event="consent.rejected", decision=Decision.DENY, reason="unknown_transaction_or_session"))
        decision = form.get("decision")
        client_id = txn.request.client_id
        if decision == ALLOW:
            key = (session.subject, client_id)
            self._consents[key] = self._consents.get(key, frozenset()) | frozenset(txn.request.scope)
            return self._complete(txn_id, session, now=now, set_cookie=False, event="consent.granted",
                                  reason="the user allowed access")
        if decision == DENY:
            del self._transactions[txn_id]
            error = RedirectableError(AccessDenied("the user declined access"),
                                      redirect_uri=txn.request.redirect_uri, state=txn.request.state)
            return Handled(response=error.to_response(issuer=self.issuer), outcome=Outcome(
                event="consent.denied", decision=Decision.DENY, reason="the user declined access",
                subject=session.subject, client_id=client_id, details={"scope": " ".join(txn.request.scope)}))
        return self._refused(InvalidRequest("decision must be allow or deny"), event="consent.rejected",
                             client_id=client_id, subject=session.subject)

    # ------------------------------------------------------------------ token endpoint

    def _authenticate(self, request: HttpRequest, form: Mapping[str, str], now: int) -> AuthenticatedClient:
        def lookup(client_id: str) -> ClientRegistration | None:
            client = self.clients.get(client_id)
            return client.registration if client else None

        return authenticate_client(form=form, authorization=request.header("authorization"), lookup_client=lookup,
                                   issuer=self.issuer, token_endpoint=self.metadata.token_endpoint,
                                   replay_cache=self._replay, now=now)

    def _token(self, request: HttpRequest, now: int) -> Handled:
        client_id: str | None = None
        try:
            try:
                form = request.form()
            except MalformedBody as exc:
                raise InvalidRequest(str(exc)) from None
            client = self._authenticate(request, form, now)
            client_id = client.client_id
            grant_type = form.get("grant_type")
            if not grant_type:
                raise InvalidRequest("grant_type is required")
            handler = {AUTHORIZATION_CODE: self._code_grant, REFRESH_TOKEN: self._refresh_grant,
                       CLIENT_CREDENTIALS: self._client_credentials_grant}.get(grant_type)
            if handler is None:
                raise UnsupportedGrantType("grant_type is not supported here")
            if grant_type not in client.registration.grant_types:
                raise UnauthorizedClient("client may not use this grant type")
            return handler(self.clients[client_id], form, now)
        except CodeReuseDetected as exc:
            revoked: list[str] = []
            for token_id in exc.reuse.revoked:
                if token_id.startswith("rtf_"):
                    revoked += self._revoke_family(token_id, reason="code_reused", now=now)
                else:
                    self._revoked[token_id] = now + self.config.access_token_lifetime
                    revoked.append(token_id)
            return self._refused(exc, event="code.reused", client_id=client_id, subject=exc.reuse.grant.subject,
                                 details={"revoked": revoked})
        except RefreshTokenReused as exc:
            for jti in exc.revoked_access_tokens:
                self._revoked[jti] = self._issued[jti].expires_at if jti in self._issued else now + 3600
            return self._refused(exc, event="refresh_token.reused", client_id=client_id, subject=exc.grant.subject,
                                 details={"family": exc.grant.family_id,
                                          "revoked": list(exc.revoked_access_tokens)})
        except OAuthError as exc:
            return self._refused(exc, event="token.denied", client_id=client_id)

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
        self._issued[jti] = _Issued(subject=subject, client_id=client_id, expires_at=exp, family_id=family_id)
        if family_id is not None:
            self.refresh.bind_access_token(family_id, jti=jti, expires_at=exp)
        return token, jti, scope, aud

    def _code_grant(self, client: OAuthClient, form: Mapping[str, str], now: int) -> Handled:
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

    def _refresh_grant(self, client: OAuthClient, form: Mapping[str, str], now: int) -> Handled:
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

    def _client_credentials_grant(self, client: OAuthClient, form: Mapping[str, str], now: int) -> Handled:
        if client.service_account is None:
            raise UnauthorizedClient("client has no service account")
        allowed = tuple(sorted(client.registration.scopes))
        scope = allowed if "scope" not in form else tuple(dict.fromkeys(form["scope"].split()))
        beyond = [s for s in scope if s not in allowed]
        if beyond or not scope:
            raise InvalidScope(f"scope not allowed for this client: {' '.join(beyond)}")
        token, jti, scope, aud = self._mint_access(subject=client.service_account, client_id=client.client_id,
                                                   scope=scope, form=form, now=now, family_id=None)
        body = TokenResponse(access_token=token, expires_in=self.config.access_token_lifetime, scope=scope)
        return Handled(response=body.to_response(), outcome=Outcome(
            event="token.issued", decision=Decision.ALLOW, subject=client.service_account, client_id=client.client_id,
            details={"grant_type": CLIENT_CREDENTIALS, "scope": " ".join(scope), "jti": jti, "aud": aud},
            secrets=(token,)))

    # ------------------------------------------------------------------ revocation endpoint

    def _revoke(self, request: HttpRequest, now: int) -> Handled:
        client_id: str | None = None
        try:
            try:
                form = request.form()
            except MalformedBody as exc:
                raise InvalidRequest(str(exc)) from None
            client_id = self._authenticate(request, form, now).client_id
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
            return self._refused(exc, event="revocation.denied", client_id=client_id)

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


def require_any_scope(claims: AccessTokenClaims, any_of: Iterable[str]) -> str:
    """The first of ``any_of`` the token holds, else ``InsufficientScope`` (RFC 6750 §3.1)."""
    options = tuple(any_of)
    for scope in options:
        if scope in claims.scope:
            return scope
    raise InsufficientScope(f"this call requires one of: {' '.join(options)}")


_ROUTES: dict[str, tuple[tuple[str, ...], str]] = {
    JWKS_PATH: (("GET",), "_jwks"),
    AUTHORIZE_PATH: (("GET",), "_authorize"),
    LOGIN_PATH: (("POST",), "_login"),
    CONSENT_PATH: (("POST",), "_consent"),
    TOKEN_PATH: (("POST",), "_token"),
    REVOKE_PATH: (("POST",), "_revoke"),
}
