"""A protected resource asking its authorization server whether a token it already validated
locally is still active (RFC 7662 §2.1), so a revocation at the AS — the token revoked (RFC 7009),
its client removed, its scope withdrawn, a CIBA push that failed — ends it at the resource at once,
with or without Shared Signals. Used by the pricing API (at the pricing AS) and the action gate (at
the enterprise IdP).

The resource authenticates as its own registered client (``private_key_jwt``, RFC 7523 §2.2, a
fresh single-use assertion per request). A positive answer may be kept ``cache_seconds`` (never past
the token's ``exp``): that is how long a revoked token may still be accepted; ``0`` asks on every
request. Negative answers are never cached (the token is refused anyway). An AS that cannot be
asked, or answers anything but an introspection response, never makes the token acceptable: the
request is refused ``503 temporarily_unavailable`` (fail closed).
"""

from __future__ import annotations

from typing import Protocol

import attrs

from actors.runtime.context import Runtime
from actors.runtime.network import Unreachable
from protocols.entropy import SeededEntropy
from protocols.http import MalformedBody
from protocols.jose.keys import SigningKey
from protocols.oauth.client_auth import client_assertion_params
from protocols.oauth.errors import InvalidToken, OAuthError, TemporarilyUnavailable
from protocols.oauth.introspection import IntrospectionFailed, IntrospectionResponse, introspection_request

MAX_CACHE_SECONDS = 60
"""The longest a positive answer may be kept (the world file's bound)."""


class ValidatedToken(Protocol):
    """What the resource learned validating the token itself (``AccessTokenClaims``, ``ApprovedAction``)."""

    @property
    def jti(self) -> str: ...

    @property
    def client_id(self) -> str: ...

    @property
    def expires_at(self) -> int: ...


@attrs.define(eq=False)
class TokenIntrospector:
    """``issuer``: the AS (the client assertion's audience); ``client_id`` and ``signing_key``: the
    resource's registration there."""

    runtime: Runtime
    issuer: str
    client_id: str
    signing_key: SigningKey = attrs.field(repr=False)
    cache_seconds: int = 0
    _cache: dict[str, int] = attrs.field(factory=dict, init=False, repr=False)
    _entropy: SeededEntropy | None = attrs.field(default=None, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.cache_seconds <= MAX_CACHE_SECONDS:
            raise ValueError(f"cache_seconds must be between 0 and {MAX_CACHE_SECONDS}")
        self._entropy = self.runtime.entropy_for(self.client_id).child(f"introspection@{self.issuer}")

    def cached(self, claims: ValidatedToken) -> bool:
        """Whether a positive answer for this token is still held (expired entries are dropped)."""
        now = self.runtime.clock.now()
        for jti in [j for j, until in self._cache.items() if until <= now]:
            del self._cache[jti]
        return claims.jti in self._cache

    async def confirm(self, token: str, claims: ValidatedToken, *, endpoint: str | None) -> str:
        """Raise ``InvalidToken`` if the AS says the token is not active (or names another token),
        ``TemporarilyUnavailable`` if it cannot say; else return how it was confirmed."""
        if self.cached(claims):
            return "active at the authorization server (cached introspection)"
        if endpoint is None:
            raise TemporarilyUnavailable("the authorization server advertises no introspection endpoint")
        assert self._entropy is not None
        now = self.runtime.clock.now()
        params = client_assertion_params(client_id=self.client_id, audience=self.issuer, key=self.signing_key,
                                         now=now, entropy=self._entropy)
        self.runtime.secrets.add(params["client_assertion"])
        request = introspection_request(endpoint=endpoint, token=token, client_params=params)
        try:
            answer = IntrospectionResponse.from_response(await self.runtime.network.send(request))
        except Unreachable:
            raise TemporarilyUnavailable("the authorization server is unreachable for introspection") from None
        except (OAuthError, IntrospectionFailed, MalformedBody) as error:
            name = getattr(error, "error", type(error).__name__)
            raise TemporarilyUnavailable(f"introspection failed ({name})") from None
        if not answer.active:
            raise InvalidToken("the authorization server reports the token inactive (revoked or ended)")
        if (answer.claims.get("jti"), answer.claims.get("client_id")) != (claims.jti, claims.client_id):
            raise InvalidToken("the introspection answer describes another token")
        if self.cache_seconds:
            self._cache[claims.jti] = min(now + self.cache_seconds, claims.expires_at)
        return "active at the authorization server (introspected)"
