"""Signing keys, RFC 7638 thumbprints and a rotating key ring (RFC 7517 §4, §5; RFC 7518 §3, §6;
RFC 7638; RFC 8037; OIDC Core §10.1.1).

Every key is generated *deterministically* from a :class:`~protocols.entropy.SeededEntropy`
stream (DESIGN.md §2): the same run seed and actor give the same keys, the same ``kid`` values and
— because ES256 signs with RFC 6979 deterministic nonces when the OpenSSL build supports it, RS256
(PKCS#1 v1.5) and EdDSA are deterministic by construction — the same signatures.

Each key is bound to exactly one JWS algorithm (RFC 8725 §3.1); its ``kid`` is the RFC 7638 JWK
thumbprint of its public key, so a ``kid`` names a key and nothing else.

Rotation follows OIDC Core §10.1.1: the ring signs with its active key; a rotated-out key stays in
the published JWK Set until ``published_until`` so tokens it signed still verify, then drops out.
"""

from __future__ import annotations

import enum
import hashlib
import json
from typing import Any

import attrs
from Crypto.PublicKey import RSA as _PycryptodomeRSA
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from protocols.entropy import SeededEntropy
from protocols.jose.encoding import b64url_encode, uint_to_b64url


class Algorithm(enum.Enum):
    """The JWS algorithms the platform signs and accepts (RFC 7518 §3.1, RFC 8037 §3.1).

    ``RS256`` is mandatory for OIDC (Core §15.1) and RFC 9068 (§4); ``ES256`` and ``EdDSA``
    (Ed25519 only) are the compact modern choices. HMAC algorithms are deliberately absent:
    shared-secret MACs across trust boundaries are what RFC 8725 §2.1/§3.1 key confusion abuses.
    """

    ES256 = "ES256"
    RS256 = "RS256"
    EdDSA = "EdDSA"


P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
"""Order n of the P-256 base point (SEC 2 §2.4.2); a private scalar lies in [1, n − 1]."""

RSA_MODULUS_BITS = 2048
"""RFC 7518 §3.3: RSA keys of 2048 bits or larger MUST be used with RS256."""

_SHA256 = hashes.SHA256()
_PKCS1 = padding.PKCS1v15()


def _deterministic_ecdsa_supported() -> bool:
    try:
        from cryptography.hazmat.backends.openssl import backend
        return bool(backend.ecdsa_deterministic_supported())
    except Exception:  # pragma: no cover - very old cryptography
        return False


DETERMINISTIC_ES256 = _deterministic_ecdsa_supported()
"""Whether ES256 signatures use RFC 6979 nonces (byte-identical runs); else random nonces."""

_ECDSA_SIGN = (ec.ECDSA(_SHA256, deterministic_signing=True) if DETERMINISTIC_ES256
               else ec.ECDSA(_SHA256))

# RFC 7638 §3.2: the required members of each key type, which alone enter the thumbprint.
_THUMBPRINT_MEMBERS: dict[str, tuple[str, ...]] = {
    "EC": ("crv", "kty", "x", "y"),
    "RSA": ("e", "kty", "n"),
    "OKP": ("crv", "kty", "x"),
    "oct": ("k", "kty"),
}


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 §3 JWK thumbprint (SHA-256, base64url) of ``jwk``.

    Only the key type's required members are hashed, as JSON with lexicographically ordered names
    and no whitespace (§3.1–§3.3); other members (``kid``, ``alg``, ``use`` …) do not change it.
    Raises ``ValueError`` for an unknown ``kty`` or a missing/non-string member.
    """
    kty = jwk.get("kty")
    members = _THUMBPRINT_MEMBERS.get(kty) if isinstance(kty, str) else None
    if members is None:
        raise ValueError("unsupported key type for a JWK thumbprint")
    subset: dict[str, str] = {}
    for name in members:
        value = jwk.get(name)
        if not isinstance(value, str):
            raise ValueError(f"JWK member {name!r} is missing or not a string")
        subset[name] = value
    canonical = json.dumps(subset, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return b64url_encode(hashlib.sha256(canonical.encode("utf-8")).digest())


def public_key_members(public_key: Any) -> dict[str, str]:
    """The public JWK members (kty and key material only) of a ``cryptography`` public key.

    EC P-256: ``crv``/``x``/``y`` as fixed 32-octet coordinates (RFC 7518 §6.2.1); RSA: ``n``/``e``
    as Base64urlUInt (§6.3.1); Ed25519: OKP ``crv``/``x`` (RFC 8037 §2).
    """
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if not isinstance(public_key.curve, ec.SECP256R1):
            raise ValueError("only P-256 EC keys are supported")
        numbers = public_key.public_numbers()
        return {"kty": "EC", "crv": "P-256", "x": uint_to_b64url(numbers.x, length=32),
                "y": uint_to_b64url(numbers.y, length=32)}
    if isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        return {"kty": "RSA", "n": uint_to_b64url(numbers.n), "e": uint_to_b64url(numbers.e)}
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)}
    raise ValueError("unsupported public key type")


def algorithm_for_public_key(public_key: Any) -> Algorithm:
    """The one algorithm a public key of this type is bound to (RFC 8725 §3.1)."""
    if isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(public_key.curve, ec.SECP256R1):
        return Algorithm.ES256
    if isinstance(public_key, rsa.RSAPublicKey):
        return Algorithm.RS256
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return Algorithm.EdDSA
    raise ValueError("unsupported public key type")


def _ec_private_key(entropy: SeededEntropy) -> ec.EllipticCurvePrivateKey:
    # 384 bits reduced mod (n − 1), plus one: a scalar in [1, n − 1] with bias below 2^-128.
    scalar = int.from_bytes(entropy.bytes(48), "big") % (P256_ORDER - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


def _rsa_private_key(entropy: SeededEntropy) -> rsa.RSAPrivateKey:
    # pycryptodome's generator draws every random byte (prime candidates and Miller–Rabin bases)
    # from randfunc, so the key is a pure function of the entropy stream.
    generated = _PycryptodomeRSA.generate(RSA_MODULUS_BITS, randfunc=entropy.bytes, e=65537)
    key = serialization.load_der_private_key(generated.export_key("DER"), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


@attrs.frozen(kw_only=True)
class SigningKey:
    """A private signing key bound to one algorithm; ``kid`` is its RFC 7638 thumbprint.

    ``private_key`` is a ``cryptography`` private key object; it is kept out of ``repr`` and
    equality so it never lands in a log line or an assertion message.
    """

    kid: str
    alg: Algorithm
    private_key: Any = attrs.field(repr=False, eq=False)
    created_at: int

    @classmethod
    def generate(cls, *, alg: Algorithm, entropy: SeededEntropy, created_at: int) -> SigningKey:
        """A new key for ``alg``, a deterministic function of ``entropy``'s next bytes.

        ES256: a P-256 scalar drawn from the stream (RFC 7518 §3.4); EdDSA: the 32-octet Ed25519
        seed (RFC 8032 §5.1.5); RS256: a 2048-bit RSA key from pycryptodome fed by the stream.
        """
        if alg is Algorithm.ES256:
            private_key: Any = _ec_private_key(entropy)
        elif alg is Algorithm.EdDSA:
            private_key = ed25519.Ed25519PrivateKey.from_private_bytes(entropy.bytes(32))
        elif alg is Algorithm.RS256:
            private_key = _rsa_private_key(entropy)
        else:  # pragma: no cover - closed enum
            raise ValueError(f"unsupported algorithm {alg}")
        return cls.from_private_key(private_key=private_key, alg=alg, created_at=created_at)

    @classmethod
    def from_private_key(cls, *, private_key: Any, alg: Algorithm, created_at: int) -> SigningKey:
        """Wrap an existing ``cryptography`` private key, checking it suits ``alg``."""
        public_key = private_key.public_key()
        if algorithm_for_public_key(public_key) is not alg:
            raise ValueError(f"the key type does not match {alg.value}")
        if alg is Algorithm.RS256 and public_key.key_size < RSA_MODULUS_BITS:
            raise ValueError("RS256 keys must have a modulus of at least 2048 bits (RFC 7518 §3.3)")
        kid = jwk_thumbprint(public_key_members(public_key))
        return cls(kid=kid, alg=alg, private_key=private_key, created_at=created_at)

    def public_key(self) -> Any:
        """The ``cryptography`` public key."""
        return self.private_key.public_key()

    def public_jwk(self) -> dict[str, str]:
        """The public JWK (RFC 7517 §4): key material plus ``kid``, ``alg``, ``use: sig``.

        Never contains private members (``d``, ``p``, ``q``, ``dp``, ``dq``, ``qi``).
        """
        jwk = public_key_members(self.public_key())
        jwk.update(kid=self.kid, alg=self.alg.value, use="sig")
        return jwk

    def sign(self, data: bytes) -> bytes:
        """The JWS signature of ``data`` (RFC 7515 §5.1 step 5).

        ES256 returns the 64-octet ``R || S`` form of RFC 7518 §3.4, not DER.
        """
        if self.alg is Algorithm.ES256:
            r, s = decode_dss_signature(self.private_key.sign(data, _ECDSA_SIGN))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        if self.alg is Algorithm.RS256:
            return self.private_key.sign(data, _PKCS1, _SHA256)
        return self.private_key.sign(data)


@attrs.frozen(kw_only=True)
class RetiredKey:
    """A rotated-out key, still published (not used to sign) until ``published_until``."""

    key: SigningKey
    published_until: int


@attrs.frozen(kw_only=True)
class KeyRing:
    """The active signing key plus retired keys still within their publication window.

    OIDC Core §10.1.1: sign with the active key; keep retired keys in the JWK Set for as long as
    tokens they signed may still be presented. A retired key is published while
    ``now <= published_until`` and disappears afterwards.
    """

    active: SigningKey
    retired: tuple[RetiredKey, ...] = ()

    @classmethod
    def start(cls, key: SigningKey) -> KeyRing:
        """A ring whose only key is ``key``."""
        return cls(active=key)

    def rotate(self, *, new_key: SigningKey, now: int, retire_after: int) -> KeyRing:
        """Make ``new_key`` active; the old active key stays published until ``now + retire_after``.

        ``retire_after`` must be at least the longest lifetime of tokens the old key signed (plus
        verifiers' clock leeway) so that in-flight tokens keep verifying. Retired keys whose window
        has already closed are dropped.
        """
        if retire_after < 0:
            raise ValueError("retire_after must not be negative")
        if new_key.kid in self.kids(now=now):
            raise ValueError("the new key is already in the ring")
        still_published = tuple(r for r in self.retired if now <= r.published_until)
        retiring = RetiredKey(key=self.active, published_until=now + retire_after)
        return KeyRing(active=new_key, retired=(retiring, *still_published))

    def published(self, *, now: int) -> tuple[SigningKey, ...]:
        """Keys in the JWK Set at ``now``: the active key first, then retired keys, newest first."""
        return (self.active, *(r.key for r in self.retired if now <= r.published_until))

    def kids(self, *, now: int) -> frozenset[str]:
        """The ``kid`` of every key published at ``now``."""
        return frozenset(key.kid for key in self.published(now=now))

    def jwks(self, *, now: int) -> dict[str, list[dict[str, str]]]:
        """The public JWK Set document (RFC 7517 §5) served at ``jwks_uri`` at ``now``."""
        return {"keys": [key.public_jwk() for key in self.published(now=now)]}
