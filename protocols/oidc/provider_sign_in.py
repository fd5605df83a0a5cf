"""The browser-facing half of the OpenID Provider (``provider``): the authorization endpoint, the
sign-in it starts, and the end of a federated sign-in.

- ``GET /authorize`` — OIDC Core §3.1.2 (validation in ``protocols.oauth.authorization_code``);
  an active session answers at once, otherwise a login page; ``prompt=none`` without one is
  ``login_required`` (§3.1.2.6); ``prompt=login``/``max_age`` force a new login (§3.1.2.1). Errors
  before the redirect URI is known are shown, later ones go back to the client (RFC 6749 §4.1.2.1).
- ``POST /login`` — password plus TOTP (``authentication``, the form step in ``sign_in``), then a
  session and a code (RFC 6749 §4.1.2); the client's ``require_mfa`` decides whether TOTP is needed.
- Social login (``federation``) ends here: the upstream's user is provisioned just in time and gets
  a session, unless the client requires multi-factor authentication the upstream did not assert.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.oauth.authorization_code import (
    AuthorizationRequest, CodeLedger, NonRedirectableError, RedirectableError, add_query, authorization_params,
    success_redirect,
)
from protocols.oauth.client_auth import ClientRegistration
from protocols.oauth.errors import AccessDenied, LoginRequired
from protocols.oauth.outcome import Decision, Handled, Outcome
from protocols.oidc.authentication import AMR_MFA, Session, UserAccount, render_login_page
from protocols.oidc.discovery import FEDERATE_PATH, LOGIN_PATH
from protocols.oidc.sign_in import SignIn

if TYPE_CHECKING:
    from protocols.oidc.federation import Upstream
    from protocols.oidc.provider import ProviderConfig


@attrs.frozen(kw_only=True)
class Transaction:
    """A sign-in in progress: the validated authorization request it will answer."""

    request: AuthorizationRequest
    expires_at: int
    failures: int = 0


class ProviderSignIn(SignIn):
    """The authorization endpoint and the sign-in hooks (the login form is ``SignIn``'s), mixed into
    ``OpenIdProvider`` and working on its state: sign-in transactions, browser sessions and codes."""

    config: ProviderConfig
    clients: dict[str, ClientRegistration]
    upstreams: dict[str, Upstream]
    _transactions: dict[str, Transaction]
    _codes: CodeLedger

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
        self._transactions[txn] = Transaction(request=areq, expires_at=now + self.config.login_transaction_lifetime)
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

    def _signed_in(self, txn_id: str, txn: Transaction, session: Session, *, now: int) -> Handled:
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


def _client_hint(request: HttpRequest) -> str | None:
    """The client_id a rejected authorization request named, for the audit line (may be bogus)."""
    try:
        value = request.query_params().get("client_id")
    except MalformedBody:
        return None
    return value[:128] if value else None
