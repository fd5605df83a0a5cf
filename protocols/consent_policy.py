"""Who decides what an application may access: the user on a consent screen (B2C), or the
employer's IT policy (B2B / employee access). SPEC.md "Other scenarios": B2C consent versus B2B.

:class:`ConsentingAuthorizationServer` is the plain OAuth 2.0 server of ``protocols.oauth.
authorization_server`` with three additions at the authorization endpoint:

- **Granular consent** (RFC 6749 §3.3: the server MAY issue a narrower scope than requested "based
  on the resource owner's instructions"; RFC 6749 §4.1.1 step (B)). The consent screen lists each
  requested scope with a checkbox (``grant:<scope>``); the code — and so the token — carries only
  what the user ticked, and the token response's ``scope`` says so (§5.1). Cancelling, or allowing
  with nothing ticked, is ``access_denied`` at the client's redirect URI (§4.1.2.1). The consent is
  recorded (who, which app, which scopes, when) and remembered: a later request within it needs no
  screen.
- **Connected apps** — the user's account page (``GET /account/connections``, with their session):
  every app they consented to, its scopes and date; ``POST /account/connections/revoke`` removes
  one: its refresh-token families and their access tokens are revoked and the consent forgotten
  (so the app's next refresh is ``invalid_grant``, RFC 6749 §5.2). The form carries a per-session
  anti-forgery value (RFC 6749 §10.12's concern, applied to this page).
- **Tenant policy** (:class:`TenantPolicy`): for users of a managed domain, the administrator
  decides. An app the administrator approved gets a code without any consent screen, for the
  scopes the policy allows; an unapproved app, or a scope beyond the policy, is ``access_denied``
  — the user cannot grant it, because no screen is offered. Audited as ``policy.allowed`` /
  ``policy.denied``; the consumer path as ``consent.*``.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Mapping
from typing import Any

import attrs

from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.oauth.authorization_code import RedirectableError
from protocols.oauth.authorization_server import AuthorizationServer
from protocols.oauth.outcome import Decision, Handled, Outcome, refused
from protocols.oauth.server_config import CONSENT_PATH
from protocols.oauth.consent import ALLOW, CONSENT_MARKER, DENY
from protocols.oauth.errors import AccessDenied, InvalidRequest, LoginRequired, MethodNotAllowed

CONNECTIONS_PATH = "/account/connections"
REVOKE_PATH = "/account/connections/revoke"
GRANT_PREFIX = "grant:"
GRANULAR_FIELD = "granular"


@attrs.frozen(kw_only=True)
class TenantPolicy:
    """An employer's policy for its users' accounts (those whose e-mail is in ``domain``):
    ``approved`` maps an admin-approved client id to the scopes it may have; ``users_may_consent``
    lets users consent themselves to other apps (off: only approved apps, only approved scopes)."""

    domain: str
    approved: Mapping[str, frozenset[str]] = attrs.field(factory=dict)
    users_may_consent: bool = False


@attrs.frozen(kw_only=True)
class ConsentRecord:
    subject: str
    client_id: str
    client_name: str
    scopes: tuple[str, ...]
    granted_at: int

    def to_json(self) -> dict[str, Any]:
        return {"client_id": self.client_id, "name": self.client_name, "scopes": list(self.scopes),
                "granted_at": self.granted_at}


def render_granular_consent_page(*, action: str, transaction: str, client_name: str, provider_name: str,
                                 scopes: Mapping[str, str], granted: frozenset[str] = frozenset()) -> str:
    """The consent screen with one checkbox per scope (``grant:<scope>``), recognisable by
    ``protocols.oauth.consent.parse_consent_page`` (same marker, ``data-scope`` items)."""
    esc = html.escape
    items = "".join(
        f'<li data-scope="{esc(scope)}"><label><input type="checkbox" name="{GRANT_PREFIX}{esc(scope)}" value="on"'
        f'{" checked" if scope in granted else ""}> {esc(text)}</label></li>' for scope, text in scopes.items())
    return (
        "<!doctype html><html><head><title>Allow access?</title></head><body>"
        f"<h1>{esc(client_name)} wants to access your {esc(provider_name)} account</h1>"
        f'<form method="post" action="{esc(action)}" {CONSENT_MARKER}>'
        f"<p>Select what {esc(client_name)} can access:</p><ul>{items}</ul>"
        f'<input type="hidden" name="txn" value="{esc(transaction)}">'
        f'<input type="hidden" name="{GRANULAR_FIELD}" value="1">'
        f'<button type="submit" name="decision" value="{ALLOW}">Continue</button>'
        f'<button type="submit" name="decision" value="{DENY}">Cancel</button>'
        "</form></body></html>")


def _domain(email: str) -> str:
    return email.rpartition("@")[2].lower()


@attrs.define
class ConsentingAuthorizationServer(AuthorizationServer):
    policies: dict[str, TenantPolicy] = attrs.field(factory=dict)
    _granted_at: dict[tuple[str, str], int] = attrs.field(factory=dict, init=False)

    # -- routing --------------------------------------------------------------------------------
    def handles(self, path: str) -> bool:
        return path in (CONNECTIONS_PATH, REVOKE_PATH) or super().handles(path)

    def handle(self, request: HttpRequest, *, now: int) -> Handled:
        if request.path in (CONNECTIONS_PATH, REVOKE_PATH):
            self.purge(now=now)
            expected = "GET" if request.path == CONNECTIONS_PATH else "POST"
            if request.method.upper() != expected:
                return refused(MethodNotAllowed(f"use {expected}"), event="http.refused")
            return self._connections(request, now) if expected == "GET" else self._revoke_connection(request, now)
        return super().handle(request, now=now)

    # -- the decision after sign-in -------------------------------------------------------------
    def policy_for(self, subject: str) -> TenantPolicy | None:
        account = self.user(subject)
        return self.policies.get(_domain(account.email)) if account is not None else None

    def _after_login(self, txn_id: str, session: Any, *, now: int, set_cookie: bool, event: str) -> Handled:
        txn = self._transactions[txn_id]
        client = self.clients[txn.request.client_id]
        requested = tuple(txn.request.scope)
        policy = self.policy_for(session.subject)
        if policy is not None:
            approved = policy.approved.get(client.client_id)
            if approved is not None or not policy.users_may_consent:
                beyond = [s for s in requested if approved is None or s not in approved]
                if approved is None or beyond:
                    why = (f"{client.registration.name} is not approved by the {policy.domain} administrator"
                           if approved is None else
                           f"the {policy.domain} policy does not allow {' '.join(beyond)} for "
                           f"{client.registration.name}")
                    return self._deny(txn_id, session, why=why, event="policy.denied", now=now,
                                      set_cookie=set_cookie, details={"domain": policy.domain,
                                                                      "requested_scope": " ".join(requested),
                                                                      "refused_scope": " ".join(beyond)})
                handled = self._complete(txn_id, session, now=now, set_cookie=set_cookie, event="policy.allowed",
                                         reason=f"admin-approved for {policy.domain}: no consent screen")
                return _with_details(handled, domain=policy.domain, consent_screen=False)
        granted = self._consents.get((session.subject, client.client_id), frozenset())
        if client.admin_consented:  # approved for every user of this server (the base server's rule)
            return self._complete(txn_id, session, now=now, set_cookie=set_cookie, event=event,
                                  reason="admin-approved application")
        if set(requested) <= granted:
            handled = self._complete(txn_id, session, now=now, set_cookie=set_cookie, event="consent.reused",
                                     reason="the user's consent on record covers this request")
            return _with_details(handled, consent_screen=False)
        self._transactions[txn_id] = attrs.evolve(txn, subject=session.subject)
        page = render_granular_consent_page(
            action=self.issuer.rstrip("/") + CONSENT_PATH, transaction=txn_id, client_name=client.registration.name,
            provider_name=self.config.display_name, scopes={s: self.config.scopes[s] for s in requested},
            granted=granted)
        response = self._with_cookie(HttpResponse.html(page), session, now=now, set_cookie=set_cookie)
        extra = (session.cookie,) if set_cookie else ()
        return Handled(response=response, outcome=Outcome(
            event="consent.requested", decision=Decision.ALLOW, subject=session.subject, client_id=client.client_id,
            reason="consent screen shown to the user",
            details={"requested_scope": " ".join(requested), "consent_screen": True},
            secrets=(txn_id, *extra)))

    def _deny(self, txn_id: str, session: Any, *, why: str, event: str, now: int, set_cookie: bool,
              details: Mapping[str, Any]) -> Handled:
        txn = self._transactions.pop(txn_id)
        error = RedirectableError(AccessDenied(why), redirect_uri=txn.request.redirect_uri, state=txn.request.state)
        response = self._with_cookie(error.to_response(issuer=self.issuer), session, now=now, set_cookie=set_cookie)
        return Handled(response=response, outcome=Outcome(
            event=event, decision=Decision.DENY, subject=session.subject, client_id=txn.request.client_id, reason=why,
            details={**details, "consent_screen": False},
            secrets=(txn_id,) + ((session.cookie,) if set_cookie else ())))

    def _consent(self, request: HttpRequest, now: int) -> Handled:
        try:
            form = request.form()
        except MalformedBody:
            return super()._consent(request, now)
        txn = self._transactions.get(form.get("txn", ""))
        session = self._session_of(request, now)
        if form.get(GRANULAR_FIELD) != "1" or form.get("decision") != ALLOW or txn is None or session is None \
                or txn.subject != session.subject:
            return super()._consent(request, now)  # declines, stale forms, the plain page: as before
        requested = tuple(txn.request.scope)
        granted = tuple(s for s in requested if form.get(GRANT_PREFIX + s) == "on")
        declined = tuple(s for s in requested if s not in granted)
        txn_id = form["txn"]
        if not granted:
            return self._deny(txn_id, session, why="the user granted none of the requested access",
                              event="consent.denied", now=now, set_cookie=False,
                              details={"scope": " ".join(requested)})
        key = (session.subject, txn.request.client_id)
        self._consents[key] = self._consents.get(key, frozenset()) | frozenset(granted)
        self._granted_at[key] = now
        self._transactions[txn_id] = attrs.evolve(txn, request=attrs.evolve(txn.request, scope=granted))
        reason = ("the user allowed access" if not declined else
                  f"the user allowed {' '.join(granted)} and declined {' '.join(declined)}")
        handled = self._complete(txn_id, session, now=now, set_cookie=False, event="consent.granted", reason=reason)
        return _with_details(handled, requested_scope=" ".join(requested), declined_scope=" ".join(declined),
                             consent_screen=True)

    # -- connected apps -------------------------------------------------------------------------
    def consents_of(self, subject: str) -> list[ConsentRecord]:
        return [ConsentRecord(subject=s, client_id=c, client_name=self.clients[c].registration.name,
                              scopes=tuple(sorted(scopes)), granted_at=self._granted_at.get((s, c), 0))
                for (s, c), scopes in sorted(self._consents.items()) if s == subject and c in self.clients]

    @staticmethod
    def revocation_guard(session_cookie: str) -> str:
        """The anti-forgery value of a session's account page (derived from its secret cookie)."""
        return hashlib.sha256(f"connections:{session_cookie}".encode()).hexdigest()[:32]

    def _connections(self, request: HttpRequest, now: int) -> Handled:
        session = self._session_of(request, now)
        if session is None:
            return refused(LoginRequired("sign in to see your connected apps"), event="consent.listing_refused")
        records = self.consents_of(session.subject)
        guard = self.revocation_guard(session.cookie)
        body = {"subject": session.subject, "apps": [r.to_json() for r in records], "revoke_guard": guard}
        return Handled(response=HttpResponse.json_body(body, no_store=True), outcome=Outcome(
            event="consent.listed", decision=Decision.ALLOW, subject=session.subject,
            reason=f"{len(records)} connected app(s) shown to the user",
            details={"apps": [r.client_id for r in records]}, secrets=(guard,)))

    def _revoke_connection(self, request: HttpRequest, now: int) -> Handled:
        session = self._session_of(request, now)
        if session is None:
            return refused(LoginRequired("sign in to manage your connected apps"), event="consent.revoke_refused")
        try:
            form = request.form()
        except MalformedBody as exc:
            return refused(InvalidRequest(str(exc)), event="consent.revoke_refused", subject=session.subject)
        client_id = form.get("client_id", "")
        if form.get("revoke_guard") != self.revocation_guard(session.cookie):
            return refused(InvalidRequest("the form is not from this session's account page"),
                                 event="consent.revoke_refused", subject=session.subject)
        if (session.subject, client_id) not in self._consents:
            return refused(InvalidRequest("no such connected app"), event="consent.revoke_refused",
                                 subject=session.subject, client_id=client_id or None)
        scopes = sorted(self._consents[(session.subject, client_id)])
        revoked = self.revoke_grants(subject=session.subject, client_id=client_id, now=now)
        self._granted_at.pop((session.subject, client_id), None)
        return Handled(response=HttpResponse.json_body({"revoked": client_id}, no_store=True), outcome=Outcome(
            event="consent.revoked", decision=Decision.DENY, subject=session.subject, client_id=client_id,
            reason="the user removed the app's access", details={"scope": " ".join(scopes), **revoked.details}))


def _with_details(handled: Handled, **details: Any) -> Handled:
    return attrs.evolve(handled, outcome=attrs.evolve(handled.outcome,
                                                      details={**dict(handled.outcome.details), **details}))
