"""The token vault's rules: which agent may get which provider token, how the vault's exchange
endpoint reads a request, and how stored tokens are encrypted.

Retrieval API (protocols.md §3.6 — Auth0 Token Vault is the precedent, made standard-shaped): an
agent sends an RFC 8693 §2.1 request to the vault's token endpoint with the standard
``grant_type``, the user's ID token as ``subject_token`` (``…:token-type:id_token``), a
``resource`` naming the integration's API (RFC 8707 §2; or ``audience`` = the integration's name),
``scope``, and optionally ``requested_token_type`` = :data:`CONNECTION_TOKEN_TYPE` (a private URN)
or the standard access-token type. The answer is an RFC 8693 §2.2.1 response whose
``access_token`` is a short-lived provider access token, narrowed to the scope asked for
(RFC 6749 §6 refresh with a smaller ``scope``); never a refresh token.

Policy (:func:`authorize`): the integration must be one the agent's registration allows —
otherwise ``invalid_target`` (RFC 8693 §2.2.2: unwilling to issue for that resource) — and every
scope must be within what the registration allows for it — otherwise ``invalid_scope``.

Encryption at rest (:func:`seal`, :func:`unseal`, :func:`rewrap`): envelope encryption. Every
stored secret gets its own 256-bit data key; the secret is encrypted with AES-256-GCM (NIST SP
800-38D) under that key with a 96-bit nonce and additional authenticated data binding it to its
record (so a ciphertext copied to another record fails to open); the data key is wrapped with the
active key-encryption key by AES Key Wrap (RFC 3394). Rotating the KEK re-wraps data keys only;
the ciphertexts do not change and every record names the KEK that wraps it, so reads continue
during a rotation. Data keys and nonces come from the caller's seeded entropy (DESIGN.md §2).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping

import attrs
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from protocols.entropy import SeededEntropy
from protocols.oauth.errors import InvalidRequest, InvalidScope, InvalidTarget
from protocols.token_exchange import TOKEN_TYPE_ACCESS_TOKEN, TokenExchangeRequest, scopes_outside

CONNECTION_TOKEN_TYPE = "urn:trustbench:params:oauth:token-type:connection-access-token"
"""Private ``requested_token_type``: "an access token from the user's connection" (protocols.md §3.6)."""

SERVABLE_TOKEN_TYPES = frozenset({CONNECTION_TOKEN_TYPE, TOKEN_TYPE_ACCESS_TOKEN})
KEY_BYTES, NONCE_BYTES = 32, 12


# ------------------------------------------------------------------------ integrations and policy


@attrs.frozen(kw_only=True)
class Integration:
    """A third-party API the vault can hand tokens for: its name, the provider (authorization
    server) that issues them, the API's resource identifier and the scopes it knows."""

    name: str
    provider: str
    resource: str
    scopes: frozenset[str] = attrs.field(converter=frozenset)


@attrs.frozen(kw_only=True)
class ServeDecision:
    integration: Integration
    scope: tuple[str, ...]


def resolve_integration(request: TokenExchangeRequest, integrations: Mapping[str, Integration]) -> Integration:
    """The integration a request names by ``resource`` (its API URI) or ``audience`` (its name)."""
    if len(request.resource) + len(request.audience) != 1:
        raise InvalidTarget("name exactly one integration, by resource or by audience")
    if request.resource:
        found = next((i for i in integrations.values() if i.resource == request.resource[0]), None)
    else:
        found = integrations.get(request.audience[0])
    if found is None:
        raise InvalidTarget("no such integration at this vault")
    return found


def check_request_shape(request: TokenExchangeRequest) -> None:
    """What the vault's endpoint accepts beyond RFC 8693 §2.1 itself."""
    if request.requested_token_type is not None and request.requested_token_type not in SERVABLE_TOKEN_TYPES:
        raise InvalidRequest("requested_token_type must be the connection access-token type or an access token")
    if request.actor_token is not None:
        raise InvalidRequest("the vault takes no actor_token: the authenticated client is the actor")


def authorize(*, integration: Integration, requested_scope: tuple[str, ...],
              allowed: Mapping[str, frozenset[str]]) -> ServeDecision:
    """Apply the agent's registration: ``allowed`` maps integration name → scopes it may get."""
    permitted = allowed.get(integration.name)
    if permitted is None:
        raise InvalidTarget(f"this agent is not allowed to use the {integration.name} integration")
    scope = requested_scope or tuple(sorted(permitted))
    beyond = scopes_outside(requested=scope, allowed=permitted)
    if beyond:
        raise InvalidScope(f"scope not allowed for this agent on {integration.name}: {' '.join(beyond)}")
    unknown = [s for s in scope if s not in integration.scopes]
    if unknown:
        raise InvalidScope(f"the {integration.name} integration has no scope {' '.join(unknown)}")
    return ServeDecision(integration=integration, scope=scope)


def slot_key(integration: str, scope: tuple[str, ...]) -> str:
    """Cached provider tokens are kept per integration and exact scope set."""
    return integration + "|" + " ".join(sorted(scope))


def needs_refresh(*, expires_at: int, now: int, margin: int) -> bool:
    """Refresh before expiry: a token with ``margin`` seconds or less to live is not served."""
    return expires_at - now <= margin


def refresh_due(*, issued_at: int, expires_at: int, last_served_at: int, margin: int, keep_warm: int) -> int | None:
    """When a cached token is replaced ahead of expiry — ``margin`` seconds before it expires — or
    ``None``: not a token that lives no longer than the margin, nor one last served more than
    ``keep_warm`` seconds before that moment (only tokens in use are kept warm)."""
    refresh_at = expires_at - margin
    if refresh_at <= issued_at or refresh_at > last_served_at + keep_warm:
        return None
    return refresh_at


def token_id(token: str) -> str:
    """The ``jti`` of a JWT access token (read for audit lineage only — the vault is a client and
    trusts nothing in it), or a SHA-256 fingerprint for an opaque token."""
    parts = token.split(".")
    if len(parts) == 3:
        try:
            claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
            if isinstance(claims, dict) and isinstance(claims.get("jti"), str):
                return claims["jti"]
        except (ValueError, UnicodeDecodeError):
            pass
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()[:16]


# ------------------------------------------------------------------------ envelope encryption


class VaultIntegrityError(Exception):
    """A record that does not decrypt: wrong key, tampered ciphertext, or moved between records."""


@attrs.frozen(kw_only=True)
class Envelope:
    """One encrypted secret as stored: which KEK wraps its data key, the wrapped key, nonce, ciphertext."""

    kek_id: str
    wrapped_key: bytes = attrs.field(repr=False)
    nonce: bytes = attrs.field(repr=False)
    ciphertext: bytes = attrs.field(repr=False)


@attrs.frozen(kw_only=True)
class KekRing:
    """The key-encryption keys: the active one wraps new data keys; older ones stay until every
    record they wrap has been re-wrapped."""

    active_id: str
    keys: Mapping[str, bytes] = attrs.field(repr=False)

    @classmethod
    def start(cls, *, kek_id: str, key: bytes) -> KekRing:
        _check_key(key)
        return cls(active_id=kek_id, keys={kek_id: key})

    def rotate(self, *, kek_id: str, key: bytes) -> KekRing:
        _check_key(key)
        if kek_id in self.keys:
            raise ValueError(f"KEK {kek_id} already exists")
        return KekRing(active_id=kek_id, keys={**self.keys, kek_id: key})

    def retire(self, kek_id: str) -> KekRing:
        if kek_id == self.active_id:
            raise ValueError("the active KEK cannot be retired")
        return KekRing(active_id=self.active_id, keys={k: v for k, v in self.keys.items() if k != kek_id})


def _check_key(key: bytes) -> None:
    if len(key) != KEY_BYTES:
        raise ValueError("a KEK is 256 bits")


def record_aad(kind: str, record_id: str) -> bytes:
    """The additional authenticated data that binds a ciphertext to its record."""
    return f"trustbench-vault:{kind}:{record_id}".encode()


def seal(plaintext: str, *, aad: bytes, ring: KekRing, entropy: SeededEntropy) -> Envelope:
    data_key, nonce = entropy.bytes(KEY_BYTES), entropy.bytes(NONCE_BYTES)
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext.encode("utf-8"), aad)
    wrapped = aes_key_wrap(ring.keys[ring.active_id], data_key)
    return Envelope(kek_id=ring.active_id, wrapped_key=wrapped, nonce=nonce, ciphertext=ciphertext)


def _data_key(envelope: Envelope, ring: KekRing) -> bytes:
    kek = ring.keys.get(envelope.kek_id)
    if kek is None:
        raise VaultIntegrityError(f"the record is wrapped by unknown KEK {envelope.kek_id}")
    try:
        return aes_key_unwrap(kek, envelope.wrapped_key)
    except InvalidUnwrap:
        raise VaultIntegrityError("the data key does not unwrap") from None


def unseal(envelope: Envelope, *, aad: bytes, ring: KekRing) -> str:
    try:
        return AESGCM(_data_key(envelope, ring)).decrypt(envelope.nonce, envelope.ciphertext, aad).decode("utf-8")
    except InvalidTag:
        raise VaultIntegrityError("the ciphertext does not authenticate for this record") from None


def rewrap(envelope: Envelope, *, ring: KekRing) -> Envelope:
    """The same ciphertext with its data key wrapped by the active KEK."""
    if envelope.kek_id == ring.active_id:
        return envelope
    data_key = _data_key(envelope, ring)
    return attrs.evolve(envelope, kek_id=ring.active_id, wrapped_key=aes_key_wrap(ring.keys[ring.active_id], data_key))
