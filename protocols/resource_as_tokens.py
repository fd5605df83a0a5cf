"""What a resource authorization server knows of the access tokens it issued, so that it can end
them although they are self-contained JWTs (RFC 9068): the record of each issued token, its
revocation (RFC 7009 §2.1: by its client, or every token of a client an administrator removes),
and whether it is still active when a protected resource introspects it (RFC 7662 §2.2).

A token is active while it is unexpired (the caller checks the signature and ``exp`` first), not
revoked, on record here, its client is still registered, and every scope it carries is still
registered for that client (a grant narrowed at the AS ends the tokens that exceed it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from protocols.oauth.client_auth import ClientRegistration
from protocols.oauth.revocation import purge_revocations, record_inactive_reason


@attrs.frozen(kw_only=True)
class IssuedToken:
    jti: str
    client_id: str
    subject: str
    scope: tuple[str, ...]
    audience: str
    expires_at: int


@attrs.define
class IssuedTokens:
    """jti → :class:`IssuedToken` until a minute past expiry; revoked jtis → their expiry."""

    _issued: dict[str, IssuedToken] = attrs.field(factory=dict)
    _revoked: dict[str, int] = attrs.field(factory=dict)

    def record(self, token: IssuedToken) -> None:
        self._issued[token.jti] = token

    def purge(self, *, now: int) -> None:
        purge_revocations(self._issued, self._revoked, now=now)

    def live(self, client_id: str, *, now: int) -> list[str]:
        """The jtis of ``client_id``'s unexpired, unrevoked tokens."""
        return sorted(t.jti for t in self._issued.values()
                      if t.client_id == client_id and t.expires_at > now and t.jti not in self._revoked)

    def revoke(self, jti: str, *, expires_at: int) -> None:
        self._revoked[jti] = expires_at

    def revoke_client(self, client_id: str, *, now: int) -> list[str]:
        """Revoke every live token of ``client_id`` (the client was removed); their jtis."""
        live = self.live(client_id, now=now)
        for jti in live:
            self._revoked[jti] = self._issued[jti].expires_at
        return live

    def inactive_reason(self, claims: Mapping[str, Any], *, clients: Mapping[str, ClientRegistration]) -> str | None:
        """Why a token whose signature and expiry were verified is no longer active (``None``: active)."""
        on_record = record_inactive_reason(claims, issued=self._issued, revoked=self._revoked)
        if on_record is not None:
            return on_record
        token = self._issued[claims["jti"]]
        registration = clients.get(token.client_id)
        if registration is None:
            return f"client {token.client_id} is no longer registered"
        withdrawn = [s for s in token.scope if s not in registration.scopes]
        if withdrawn:
            return f"scope {' '.join(withdrawn)} is no longer granted to client {token.client_id}"
        return None
