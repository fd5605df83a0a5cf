"""The sign-in step shared by the OpenID Provider (``provider``) and the plain OAuth servers
(``protocols.oauth.authorization_endpoint``): accounts, browser sessions and the login form.

``POST /login`` carries the login transaction (``txn``) the authorization endpoint started, the
username, password and one-time code (``authentication``):

- an unreadable form, an unknown or expired transaction, or a client removed since, is a page
  asking the person to start again (400);
- a refused attempt re-renders the form (400 when incomplete, 401 when refused) and counts; after
  ``max_login_failures`` the transaction ends and the client gets ``access_denied`` (RFC 6749
  §4.1.2.1) — the reason (``unknown_user``, ``bad_password``...) is for the audit line only;
- success replaces the browser's previous session (no session fixation), remembers the TOTP step
  so a code is accepted once (RFC 6238 §5.2), starts a session and hands over to the server
  (``_signed_in``), which continues the authorization request.
"""

from __future__ import annotations

from typing import Any, Protocol

import attrs

from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.oauth.authorization_code import AuthorizationRequest, RedirectableError
from protocols.oauth.client_auth import ClientRegistration
from protocols.oauth.errors import AccessDenied
from protocols.oauth.outcome import Decision, Handled, Outcome, message_page
from protocols.oidc.authentication import (
    LoginAttempt, Session, UserAccount, check_login, read_cookie, session_cookie_header,
)


class SignInPolicy(Protocol):
    @property
    def session_lifetime(self) -> int: ...

    @property
    def max_login_failures(self) -> int: ...


class LoginTransaction(Protocol):
    """What the server remembers of a sign-in in progress (an ``attrs`` frozen class)."""

    @property
    def request(self) -> AuthorizationRequest: ...

    @property
    def failures(self) -> int: ...

    @property
    def expires_at(self) -> int: ...


def _failed(reason: str, response: HttpResponse, **extra: Any) -> Handled:
    return Handled(response=response, outcome=Outcome(event="auth.login_failed", decision=Decision.DENY,
                                                      reason=reason, **extra))


class SignIn:
    """Accounts, sessions and ``_login``, mixed into a server that holds this state and implements
    ``_registration``, ``_login_page`` and ``_signed_in`` (and may refine the MFA rule and the
    message shown after a refused attempt)."""

    config: SignInPolicy
    issuer: str
    entropy: SeededEntropy
    _users: dict[str, UserAccount]
    _usernames: dict[str, str]
    _sessions: dict[str, Session]
    _transactions: dict[str, Any]
    _totp_steps: dict[str, int]

    # -- hooks -------------------------------------------------------------------------------------

    def _registration(self, client_id: str) -> ClientRegistration | None:
        raise NotImplementedError

    def _login_page(self, txn: str, client: ClientRegistration, *, error: str = "", status: int = 200) -> HttpResponse:
        raise NotImplementedError

    def _signed_in(self, txn_id: str, txn: Any, session: Session, *, now: int) -> Handled:
        raise NotImplementedError

    def _requires_mfa(self, client: ClientRegistration) -> bool:
        return False

    def _refused_message(self, reason: str) -> str:
        return "Invalid credentials."

    # -- accounts and sessions ---------------------------------------------------------------------

    def add_user(self, account: UserAccount) -> None:
        self._users[account.subject] = account
        self._usernames[account.username] = account.subject

    def user(self, subject: str) -> UserAccount | None:
        return self._users.get(subject)

    def start_session(self, *, account: UserAccount, amr: tuple[str, ...], now: int) -> Session:
        session = Session.start(subject=account.subject, amr=amr, now=now, lifetime=self.config.session_lifetime,
                                entropy=self.entropy)
        self._sessions[session.cookie] = session
        return session

    def _purge_sign_in(self, *, now: int) -> None:
        """Forget expired sessions and sign-in transactions."""
        for table in (self._sessions, self._transactions):
            for key in [k for k, v in table.items() if v.expires_at <= now]:
                del table[key]

    def _session_of(self, request: HttpRequest, now: int) -> Session | None:
        cookie = read_cookie(request.header("cookie"))
        session = self._sessions.get(cookie) if cookie else None
        return session if session is not None and session.is_active(now) else None

    def _with_cookie(self, response: HttpResponse, session: Session, *, now: int, set_cookie: bool) -> HttpResponse:
        """``response`` setting the session cookie when ``set_cookie`` (``Secure`` on an https issuer)."""
        if not set_cookie:
            return response
        cookie = session_cookie_header(session, secure=self.issuer.startswith("https:"), now=now)
        return HttpResponse(status=response.status, body=response.body,
                            headers=response.headers + (("set-cookie", cookie),))

    # -- the login form ----------------------------------------------------------------------------

    def _login(self, request: HttpRequest, now: int) -> Handled:
        try:
            form = request.form()
        except MalformedBody:
            return _failed("malformed_request", message_page("The sign-in form could not be read.", status=400))
        txn_id = form.get("txn", "")
        txn: LoginTransaction | None = self._transactions.get(txn_id)
        if txn is None:
            return _failed("unknown_transaction", message_page("This sign-in has expired. Start again.", status=400))
        client = self._registration(txn.request.client_id)
        if client is None:
            del self._transactions[txn_id]
            return _failed("unknown_client", message_page("The application is no longer registered.", status=400))
        attempt = LoginAttempt.from_form(form)
        if attempt is None:
            return _failed("incomplete_form", self._login_page(txn_id, client, error="Enter your username and password.",
                                                               status=400), client_id=client.client_id)
        subject = self._usernames.get(attempt.username)
        account = self._users.get(subject) if subject else None
        verdict = check_login(account=account, attempt=attempt, now=now, require_mfa=self._requires_mfa(client),
                              last_totp_step=self._totp_steps.get(subject or ""))
        if not verdict.ok:
            failures = txn.failures + 1
            extra = {"client_id": client.client_id, "subject": account.subject if account else None,
                     "details": {"failures": failures}}
            if failures >= self.config.max_login_failures:
                del self._transactions[txn_id]
                error = RedirectableError(AccessDenied("too many failed sign-in attempts"),
                                          redirect_uri=txn.request.redirect_uri, state=txn.request.state)
                return _failed(verdict.reason, error.to_response(issuer=self.issuer), **extra)
            self._transactions[txn_id] = attrs.evolve(txn, failures=failures)  # type: ignore[misc]
            page = self._login_page(txn_id, client, error=self._refused_message(verdict.reason), status=401)
            return _failed(verdict.reason, page, **extra)
        assert account is not None
        previous = read_cookie(request.header("cookie"))
        if previous:
            self._sessions.pop(previous, None)  # a login replaces the browser's session (no fixation)
        if verdict.totp_step is not None:
            self._totp_steps[account.subject] = verdict.totp_step
        session = self.start_session(account=account, amr=verdict.amr, now=now)
        return self._signed_in(txn_id, txn, session, now=now)
