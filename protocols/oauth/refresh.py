"""Refresh tokens with rotation and reuse detection (RFC 6749 §1.5, §6; RFC 9700 §4.14.2).

Every authorization (a code redeemed, a grant) starts a **family**: the chain of refresh tokens
that descend from it. A refresh request (RFC 6749 §6) presents the current member; the server
answers with a new refresh token and retires the presented one (rotation, RFC 9700 §4.14.2).
Presenting a retired member again means two parties hold the chain — the legitimate client and a
thief — and the server cannot tell which one is asking, so it revokes the whole family: every
refresh token of the chain and every access token minted from it (RFC 9700 §4.14.2, "the
authorization server [...] will revoke the active refresh token").

Other rules enforced here:
- the token is bound to the client it was issued to (RFC 6749 §6: "the refresh token was issued to
  the authenticated client") — another client gets ``invalid_grant``;
- ``scope`` in a refresh request may narrow but never widen the original grant (RFC 6749 §6);
- idle and absolute lifetimes (RFC 9700 §4.14.2 "refresh token expiration");
- the ledger keeps SHA-256 digests only, never the live token.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable

import attrs

from protocols.entropy import SeededEntropy
from protocols.oauth.errors import InvalidGrant, InvalidScope

REFRESH_TOKEN = "refresh_token"
"""``grant_type`` of the refresh request (RFC 6749 §6)."""

REFRESH_TOKEN_BYTES = 32


def token_digest(token: str) -> str:
    """The key under which a refresh token is remembered (the token itself is never stored)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class MemberState(enum.Enum):
    ACTIVE = "active"
    ROTATED = "rotated"
    REVOKED = "revoked"


@attrs.frozen(kw_only=True)
class RefreshGrant:
    """What a family of refresh tokens authorizes: who, for which client, which scopes, until when."""

    family_id: str
    client_id: str
    subject: str
    scope: tuple[str, ...]
    started_at: int
    expires_at: int
    """Absolute end of the family: no rotation extends it."""


@attrs.frozen(kw_only=True)
class _Member:
    family_id: str
    generation: int
    issued_at: int
    idle_expires_at: int
    state: MemberState = MemberState.ACTIVE


@attrs.frozen(kw_only=True)
class _Family:
    grant: RefreshGrant
    revoked: bool = False
    revoked_reason: str = ""
    access_tokens: tuple[tuple[str, int], ...] = ()
    """(jti, exp) of every access token minted from this family, revoked with it."""


class RefreshTokenReused(InvalidGrant):
    """A rotated refresh token came back: the family is revoked (RFC 9700 §4.14.2).

    ``family`` names the revoked family and ``revoked_access_tokens`` the access-token ids that
    died with it, so the server can log and enforce the revocation.
    """

    def __init__(self, *, grant: RefreshGrant, revoked_access_tokens: tuple[str, ...]) -> None:
        super().__init__("refresh token was already used; the grant has been revoked")
        self.grant = grant
        self.revoked_access_tokens = revoked_access_tokens


@attrs.frozen(kw_only=True)
class Rotation:
    """A successful refresh: the new refresh token (secret), the grant and the narrowed scope."""

    refresh_token: str = attrs.field(repr=False)
    grant: RefreshGrant
    scope: tuple[str, ...]
    generation: int


def narrow_scope(requested: str | None, granted: Iterable[str]) -> tuple[str, ...]:
    """The scope of a refreshed token: all of the grant when absent, else a subset (RFC 6749 §6)."""
    granted = tuple(granted)
    if requested is None:
        return granted
    asked = tuple(dict.fromkeys(requested.split()))
    if not asked:
        raise InvalidScope("scope must not be empty")
    beyond = [s for s in asked if s not in granted]
    if beyond:
        raise InvalidScope(f"scope exceeds the original grant: {' '.join(beyond)}")
    return asked


@attrs.define
class RefreshLedger:
    """The authorization server's refresh-token families. Mutated only through its methods."""

    idle_lifetime: int
    absolute_lifetime: int
    _members: dict[str, _Member] = attrs.field(factory=dict, init=False)
    _families: dict[str, _Family] = attrs.field(factory=dict, init=False)

    def start_family(self, *, client_id: str, subject: str, scope: tuple[str, ...], now: int,
                     entropy: SeededEntropy) -> Rotation:
        """A new grant and its first refresh token (RFC 6749 §5.1 ``refresh_token``)."""
        family_id = "rtf_" + entropy.hex(8)
        grant = RefreshGrant(family_id=family_id, client_id=client_id, subject=subject, scope=scope,
                             started_at=now, expires_at=now + self.absolute_lifetime)
        self._families[family_id] = _Family(grant=grant)
        token = self._mint(family_id, generation=1, now=now, entropy=entropy, grant=grant)
        return Rotation(refresh_token=token, grant=grant, scope=scope, generation=1)

    def _mint(self, family_id: str, *, generation: int, now: int, entropy: SeededEntropy,
              grant: RefreshGrant) -> str:
        token = entropy.token(REFRESH_TOKEN_BYTES)
        self._members[token_digest(token)] = _Member(
            family_id=family_id, generation=generation, issued_at=now,
            idle_expires_at=min(now + self.idle_lifetime, grant.expires_at))
        return token

    def rotate(self, token: str, *, client_id: str, scope: str | None, now: int,
               entropy: SeededEntropy) -> Rotation:
        """Redeem ``token`` (RFC 6749 §6): retire it and mint its successor.

        Raises ``RefreshTokenReused`` (family revoked), or ``InvalidGrant`` for an unknown,
        expired, revoked or foreign token, or ``InvalidScope`` for a widened scope.
        """
        key = token_digest(token)
        member = self._members.get(key)
        if member is None:
            raise InvalidGrant("unknown refresh token")
        family = self._families[member.family_id]
        grant = family.grant
        if grant.client_id != client_id:
            raise InvalidGrant("refresh token was issued to another client")
        if family.revoked or member.state is MemberState.REVOKED:
            raise InvalidGrant("refresh token has been revoked")
        if member.state is MemberState.ROTATED:
            revoked = self.revoke_family(member.family_id, reason="refresh_token_reused", now=now)
            raise RefreshTokenReused(grant=grant, revoked_access_tokens=revoked)
        if now >= member.idle_expires_at:
            raise InvalidGrant("refresh token expired")
        narrowed = narrow_scope(scope, grant.scope)
        self._members[key] = attrs.evolve(member, state=MemberState.ROTATED)
        successor = self._mint(member.family_id, generation=member.generation + 1, now=now, entropy=entropy,
                               grant=grant)
        return Rotation(refresh_token=successor, grant=grant, scope=narrowed, generation=member.generation + 1)

    def bind_access_token(self, family_id: str, *, jti: str, expires_at: int) -> None:
        """Remember an access token minted from the family so revoking the family revokes it."""
        family = self._families[family_id]
        self._families[family_id] = attrs.evolve(family, access_tokens=family.access_tokens + ((jti, expires_at),))

    def revoke_family(self, family_id: str, *, reason: str, now: int) -> tuple[str, ...]:
        """Revoke every member of the family; returns the ids of its unexpired access tokens."""
        family = self._families.get(family_id)
        if family is None:
            return ()
        for key, member in self._members.items():
            if member.family_id == family_id:
                self._members[key] = attrs.evolve(member, state=MemberState.REVOKED)
        self._families[family_id] = attrs.evolve(family, revoked=True, revoked_reason=reason)
        return tuple(jti for jti, exp in family.access_tokens if exp > now)

    def lookup(self, token: str) -> RefreshGrant | None:
        """The grant of a refresh token (any state), for revocation requests (RFC 7009 §2.1)."""
        member = self._members.get(token_digest(token))
        return self._families[member.family_id].grant if member is not None else None

    def family_revoked(self, family_id: str) -> bool:
        family = self._families.get(family_id)
        return family is None or family.revoked

    def families_of(self, *, subject: str | None = None, client_id: str | None = None) -> list[RefreshGrant]:
        """Unrevoked grants, filtered by subject and/or client (for "revoke everything" requests)."""
        return [f.grant for f in self._families.values() if not f.revoked
                and (subject is None or f.grant.subject == subject)
                and (client_id is None or f.grant.client_id == client_id)]

    def purge(self, *, now: int) -> None:
        """Forget families past their absolute expiry (their tokens can no longer be redeemed)."""
        dead = {fid for fid, f in self._families.items() if f.grant.expires_at <= now
                and all(exp <= now - 60 for _, exp in f.access_tokens)}
        if not dead:
            return
        for key in [k for k, m in self._members.items() if m.family_id in dead]:
            del self._members[key]
        for fid in dead:
            del self._families[fid]
