"""The browser-facing half of a plain OAuth 2.0 authorization server (``authorization_server``):
the authorization endpoint, its sign-in form and the consent screen.

- ``GET /authorize`` — RFC 6749 §4.1.1, validated in the order §4.1.2.1 requires
  (:func:`parse_authorization_request`), PKCE S256 required (RFC 7636 §4.4.1, RFC 9700 §2.1.1);
  errors before the redirect URI is known are shown to the user, later ones redirected to the
  client with ``iss`` (RFC 9207);
- a login page when the browser has no session (``POST /login``: password plus TOTP, the step
  shared with the OpenID Provider, ``protocols.oidc.sign_in``);
- the **consent screen** (``consent.py``, ``POST /consent``) unless the client is admin-approved
  for every user (B2B) or the user already granted these scopes; a denial is ``access_denied``
  (§4.1.2.1); then the code and the redirect (§4.1.2).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import attrs

from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.oauth import pkce
from protocols.oauth.authorization_code import (
    AUTHORIZATION_CODE, AuthorizationRequest, CodeLedger, NonRedirectableError, RedirectableError,
    authorization_params, success_redirect,
)
from protocols.oauth.client_auth import ClientRegistration
from protocols.oauth.consent import ALLOW, DENY, render_consent_page
from protocols.oauth.errors import (
    AccessDenied, InvalidRequest, InvalidScope, OAuthError, UnauthorizedClient, UnsupportedResponseType,
)
from protocols.oauth.outcome import Decision, Handled, Outcome, message_page, refused
from protocols.oauth.server_config import CONSENT_PATH, LOGIN_PATH, OAuthClient, ServerConfig
from protocols.oidc.authentication import Session, render_login_page
from protocols.oidc.sign_in import SignIn


@attrs.frozen(kw_only=True)
class Transaction:
    """A sign-in in progress: the validated request, and the user once signed in (for consent)."""

    request: AuthorizationRequest
    expires_at: int
    subject: str | None = None
    failures: int = 0



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


class AuthorizationEndpoint(SignIn):
    """The authorization and consent handlers (the login form is ``SignIn``'s), mixed into
    ``AuthorizationServer`` and working on its state: sign-in transactions, browser sessions and the
    consents users gave."""

    config: ServerConfig
    clients: dict[str, OAuthClient]
    _transactions: dict[str, Transaction]
    _consents: dict[tuple[str, str], frozenset[str]]
    _codes: CodeLedger

    def _login_page(self, txn: str, client: ClientRegistration, *, error: str = "", status: int = 200) -> HttpResponse:
        page = render_login_page(action=self.issuer.rstrip("/") + LOGIN_PATH, transaction=txn,
                                 client_name=client.name, error=error)
        return HttpResponse.html(page, status=status)

    def _signed_in(self, txn_id: str, txn: Transaction, session: Session, *, now: int) -> Handled:
        return self._after_login(txn_id, session, now=now, set_cookie=True, event="auth.login_succeeded")

    def _authorize(self, request: HttpRequest, now: int) -> Handled:
        try:
            areq = parse_authorization_request(authorization_params(request), lookup=self.clients.get,
                                               scopes_supported=self.config.scopes)
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
        txn = Transaction(request=areq, expires_at=now + self.config.transaction_lifetime,
                           subject=session.subject if session else None)
        self._transactions[txn_id] = txn
        if session is None:
            page = self._login_page(txn_id, self.clients[areq.client_id].registration)
            return Handled(response=page, outcome=Outcome(
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

    def _consent(self, request: HttpRequest, now: int) -> Handled:
        try:
            form = request.form()
        except MalformedBody:
            return refused(InvalidRequest("the consent form could not be read"), event="consent.rejected")
        txn_id = form.get("txn", "")
        txn = self._transactions.get(txn_id)
        session = self._session_of(request, now)
        if txn is None or session is None or txn.subject != session.subject:
            # Only the signed-in user who saw the screen may answer it (no CSRF, no fixation).
            return Handled(response=message_page("This request has expired. Start again.", status=400), outcome=Outcome(
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
        return refused(InvalidRequest("decision must be allow or deny"), event="consent.rejected",
                       client_id=client_id, subject=session.subject)
