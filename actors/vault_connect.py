"""The token vault's connected accounts: ``POST /connect`` — an agent (``private_key_jwt``) asks, for
the user of its ID token, a one-time link to connect a provider account; ``GET /connect/start``
sends the user's browser to the provider (authorization code + PKCE S256, RFC 6749 §4.1, RFC 7636)
and ``GET /connect/callback`` redeems the code (``client_secret_basic``), checks ``state`` and
``iss`` (RFC 6749 §10.12, RFC 9207) and stores the grant, its refresh token sealed. A part of
``actors.vault.VaultActor``, kept apart by concern."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import attrs

from actors.storage.vault_store import ACTIVE, Connection
from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.oauth.authorization_code import add_query
from protocols.oauth.errors import InvalidRequest, InvalidTarget, OAuthError, TemporarilyUnavailable
from protocols.oauth.pkce import PkcePair
from protocols.vault import record_aad, seal

if TYPE_CHECKING:
    from actors.vault import VaultActor

CONNECT_PATH, CONNECT_START_PATH, CONNECT_CALLBACK_PATH = "/connect", "/connect/start", "/connect/callback"


@attrs.frozen(kw_only=True)
class Ticket:
    """A one-time connect link issued to an agent for its user (``POST /connect``)."""

    subject: str
    provider: str
    agent: str
    expires_at: int


@attrs.frozen(kw_only=True)
class PendingLink:
    """An authorization request sent to the provider, awaiting its callback (keyed by ``state``)."""

    subject: str
    provider: str
    agent: str
    verifier: str = attrs.field(repr=False)
    expires_at: int


def _page(title: str, text: str, *, status: int = 200) -> HttpResponse:
    return HttpResponse.html(f"<!doctype html><html><head><title>{html.escape(title)}</title></head><body>"
                             f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>", status=status)


class VaultConnections:
    """Account linking, mixed into ``VaultActor`` (it uses the actor's store, tickets, pending links,
    provider clients, agent registrations, entropy and audit)."""

    def connection_scope(self: VaultActor, provider: str) -> tuple[str, ...]:
        """What the vault asks a provider for: the scopes registered agents may use there."""
        wanted = {scope for grants in self.agent_grants.values() for name, scopes in grants.items()
                  if name in self.integrations and self.integrations[name].provider == provider for scope in scopes}
        return tuple(sorted(wanted))

    async def start_connection(self: VaultActor, request: HttpRequest) -> HttpResponse:
        agent = subject = None
        provider = ""
        try:
            try:
                form = request.form()
            except MalformedBody as exc:
                raise InvalidRequest(str(exc)) from None
            agent = self._authenticate(request, form)
            claims = await self._subject(form.get("subject_token_type", ""), form.get("subject_token", ""), agent)
            subject = claims["sub"]
            provider = form.get("connection", "")
            if provider not in self.providers:
                raise InvalidTarget("no such provider connection")
            if not self.connection_scope(provider) or not any(
                    self.integrations[n].provider == provider for n in self.agent_grants.get(agent, {})):
                raise InvalidTarget(f"this agent uses no integration of {provider}")
        except OAuthError as exc:
            return await self._refuse(exc, agent=agent, subject=subject, reason="connect_refused", provider=provider)
        ticket = self._entropy.token(24)
        self.runtime.secrets.add(ticket)
        now = self.runtime.clock.now()
        self._tickets[ticket] = Ticket(subject=subject, provider=provider, agent=agent,
                                        expires_at=now + self.config.ticket_lifetime)
        await self.audit("vault.connect_started", agent=agent, subject=subject, decision="allow",
                         reason="connect link issued to the user", provider=provider,
                         scope=" ".join(self.connection_scope(provider)))
        return HttpResponse.json_body({"connect_uri": add_query(self.url(CONNECT_START_PATH), {"ticket": ticket}),
                                       "expires_in": self.config.ticket_lifetime}, no_store=True)

    async def connect_start(self: VaultActor, request: HttpRequest) -> HttpResponse:
        now = self.runtime.clock.now()
        ticket = self._tickets.pop(request.query_params().get("ticket", ""), None)
        if ticket is None or ticket.expires_at <= now:
            await self.audit("vault.connect_failed", agent=ticket.agent if ticket else None,
                             subject=ticket.subject if ticket else None, decision="deny",
                             reason="expired_ticket" if ticket else "unknown_or_used_ticket")
            return _page("Link expired", "This connection link is unknown, used or expired.", status=400)
        provider = self.providers[ticket.provider]
        metadata = await self._provider_metadata(provider)
        state, pair = self._entropy.token(16), PkcePair.generate(self._entropy)
        self.runtime.secrets.add(state, pair.verifier)
        self._pending[state] = PendingLink(subject=ticket.subject, provider=provider.name, agent=ticket.agent,
                                            verifier=pair.verifier, expires_at=now + self.config.ticket_lifetime)
        return HttpResponse.redirect(add_query(metadata.authorization_endpoint, {
            "response_type": "code", "client_id": provider.client_id, "redirect_uri": self.url(CONNECT_CALLBACK_PATH),
            "scope": " ".join(self.connection_scope(provider.name)), "state": state,
            "code_challenge": pair.challenge, "code_challenge_method": pair.method}))

    async def connect_callback(self: VaultActor, request: HttpRequest) -> HttpResponse:
        params = request.query_params()
        pending = self._pending.pop(params.get("state", ""), None)
        now = self.runtime.clock.now()
        if pending is None or pending.expires_at <= now:
            await self.audit("vault.connect_failed", decision="deny", reason="unknown_or_expired_state")
            return _page("Connection failed", "This sign-in is unknown or expired. Start again.", status=400)
        provider = self.providers[pending.provider]
        who = {"agent": pending.agent, "subject": pending.subject}
        if params.get("iss") != provider.issuer:
            await self.audit("vault.connect_failed", decision="deny", reason="issuer_mismatch",
                             provider=provider.name, **who)
            return _page("Connection failed", "The answer did not come from the expected provider.", status=400)
        if "error" in params or "code" not in params:
            reason = params.get("error", "missing_code")
            await self.audit("vault.connect_failed", decision="deny", reason=reason, provider=provider.name,
                             description=params.get("error_description", ""), **who)
            return _page("Not connected", f"{provider.name} was not connected ({reason}).", status=403)
        code = params["code"]
        self.runtime.secrets.add(code)
        try:
            tokens = await self._token_request(provider, {
                "grant_type": "authorization_code", "code": code, "redirect_uri": self.url(CONNECT_CALLBACK_PATH),
                "code_verifier": pending.verifier})
            if not tokens.refresh_token:
                raise TemporarilyUnavailable(f"{provider.name} issued no refresh token")
        except OAuthError as exc:
            await self.audit("vault.connect_failed", decision="deny", reason=exc.error, provider=provider.name,
                             description=exc.description, **who)
            return _page("Connection failed", f"{provider.name} did not complete the connection.", status=502)
        self.runtime.secrets.add(tokens.access_token, tokens.refresh_token)
        cid = "con_" + self._entropy.hex(8)
        self._store.upsert_connection(Connection(
            connection_id=cid, subject=pending.subject, provider=provider.name, scope=tokens.scope, status=ACTIVE,
            status_reason="", created_at=now, updated_at=now,
            refresh=seal(tokens.refresh_token, aad=record_aad("refresh", cid), ring=self.ring, entropy=self._entropy)))
        await self.audit("vault.connected", decision="allow", reason="the user linked the account",
                         provider=provider.name, connection_id=cid, scope=" ".join(tokens.scope), **who)
        return _page("Account connected", f"Your {provider.name} account is now connected. You can close this page.")
