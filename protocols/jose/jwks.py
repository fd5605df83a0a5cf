"""A trusted JWK Set: parse, bind each key to one algorithm, look keys up by ``kid``
(RFC 7517 §4, §5; RFC 7518 §6; RFC 8037 §2; RFC 8725 §3.1, §3.4, §3.10; OIDC Core §10.1.1).

Parsing follows RFC 7517 §5: keys with an unknown ``kty``/``crv``, unsupported ``alg``, a ``use``
other than ``sig``, missing members or bad values are *ignored* (listed in :attr:`JwkSet.ignored`)
rather than failing the whole set — unless ``strict=True``, which a registration endpoint uses to
refuse a client's JWKS outright. A key carrying *private* members always fails the whole set:
publishing a private key is a fatal mistake the consumer must not paper over (RFC 7517 §9.3).

Each usable key is bound to exactly one algorithm — from its ``alg`` member, else from its type
(EC P-256 → ES256, OKP Ed25519 → EdDSA, RSA → RS256) — and the verifier uses that algorithm, never
the token header's ``alg`` (RFC 8725 §3.1). EC points are checked to lie on the curve (RFC 8725
§3.4) and RSA moduli to have at least 2048 bits (RFC 7518 §3.3). Public key objects are built once,
when the set is built, so verification only looks a ``kid`` up in a dict (RFC 8725 §3.10: an
opaque lookup key, never a path or a query).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from protocols.http import MalformedBody, parse_json
from protocols.jose.encoding import Base64UrlError, b64url_decode
from protocols.jose.errors import UnknownKeyId
from protocols.jose.keys import (
    RSA_MODULUS_BITS, Algorithm, KeyRing, algorithm_for_public_key, public_key_members,
)

PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
"""JWK members that carry private or symmetric key material (RFC 7518 §6.2.2, §6.3.2, §6.4.1)."""

MAX_KEYS = 64
"""Most keys a set may hold; a larger document is refused (it is not a key set, it is an attack)."""

_ALG_BY_TYPE = {("EC", "P-256"): Algorithm.ES256, ("OKP", "Ed25519"): Algorithm.EdDSA,
                ("RSA", None): Algorithm.RS256}
_ALG_BY_NAME = {alg.value: alg for alg in Algorithm}
_SHA256 = hashes.SHA256()
_ECDSA_VERIFY = ec.ECDSA(_SHA256)
_PKCS1 = padding.PKCS1v15()


class InvalidJwkSet(ValueError):
    """The document is not a usable JWK Set (not an object with a ``keys`` array, too many keys,
    a key with private members, or — when strict — any unusable key)."""


class _Unusable(Exception):
    """One key of the set cannot be used; the set ignores it (RFC 7517 §5)."""


def _signature_check(alg: Algorithm, public_key: Any) -> Callable[[bytes, bytes], None]:
    """A function ``check(signing_input, signature)`` that raises ``InvalidSignature`` (or
    ``ValueError``) unless the JWS signature verifies with this key under ``alg`` alone."""
    verify = public_key.verify
    if alg is Algorithm.ES256:
        def check_es256(data: bytes, signature: bytes) -> None:
            # RFC 7518 §3.4: exactly 64 octets R || S; OpenSSL wants DER.
            if len(signature) != 64:
                raise InvalidSignature
            r = int.from_bytes(signature[:32], "big")
            s = int.from_bytes(signature[32:], "big")
            verify(encode_dss_signature(r, s), data, _ECDSA_VERIFY)
        return check_es256
    if alg is Algorithm.RS256:
        def check_rs256(data: bytes, signature: bytes) -> None:  # RFC 7518 §3.3
            verify(signature, data, _PKCS1, _SHA256)
        return check_rs256

    def check_eddsa(data: bytes, signature: bytes) -> None:  # RFC 8037 §3.1
        verify(signature, data)
    return check_eddsa


@attrs.frozen(kw_only=True)
class BoundKey:
    """A public key bound to its ``kid`` and its single JWS algorithm (RFC 8725 §3.1)."""

    kid: str
    alg: Algorithm
    public_key: Any = attrs.field(repr=False, eq=False)
    check_signature: Callable[[bytes, bytes], None] = attrs.field(init=False, repr=False, eq=False)
    alg_name: str = attrs.field(init=False, repr=False, eq=False)

    @check_signature.default
    def _check_signature(self) -> Callable[[bytes, bytes], None]:
        if algorithm_for_public_key(self.public_key) is not self.alg:
            raise ValueError(f"the key type does not match {self.alg.value}")
        return _signature_check(self.alg, self.public_key)

    @alg_name.default
    def _alg_name(self) -> str:
        return self.alg.value

    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        """Whether a JWS signature (RFC 7515 §5.2 step 8) verifies with this key and its bound
        algorithm. Never raises."""
        try:
            self.check_signature(signing_input, signature)
        except (InvalidSignature, ValueError):
            return False
        return True

    def public_jwk(self) -> dict[str, str]:
        """The public JWK for this key (key material plus ``kid``, ``alg``, ``use``)."""
        jwk = public_key_members(self.public_key)
        jwk.update(kid=self.kid, alg=self.alg.value, use="sig")
        return jwk


def _member_bytes(jwk: Mapping[str, Any], name: str) -> bytes:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise _Unusable(f"member {name!r} is missing or not a string")
    try:
        return b64url_decode(value)
    except Base64UrlError:
        raise _Unusable(f"member {name!r} is not base64url") from None


def _public_key(kty: str, jwk: Mapping[str, Any]) -> tuple[Any, Algorithm]:
    """Build the public key object from the JWK members; every failure is ``_Unusable``."""
    crv = jwk.get("crv") if kty in ("EC", "OKP") else None
    alg = _ALG_BY_TYPE.get((kty, crv))
    if alg is None:
        raise _Unusable("unsupported key type or curve")
    try:
        if alg is Algorithm.ES256:
            x, y = _member_bytes(jwk, "x"), _member_bytes(jwk, "y")
            if len(x) != 32 or len(y) != 32:  # RFC 7518 §6.2.1.2/§6.2.1.3: full-size coordinates
                raise _Unusable("EC coordinates must be 32 octets")
            numbers = ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"),
                                                    ec.SECP256R1())
            return numbers.public_key(), alg  # raises ValueError when the point is not on P-256
        if alg is Algorithm.EdDSA:
            x = _member_bytes(jwk, "x")
            if len(x) != 32:
                raise _Unusable("Ed25519 public keys are 32 octets")
            return ed25519.Ed25519PublicKey.from_public_bytes(x), alg
        n = int.from_bytes(_member_bytes(jwk, "n"), "big")
        e = int.from_bytes(_member_bytes(jwk, "e"), "big")
        if n.bit_length() < RSA_MODULUS_BITS:
            raise _Unusable("RSA modulus shorter than 2048 bits")
        if e < 3 or e % 2 == 0 or e.bit_length() > 64:
            raise _Unusable("RSA public exponent is unacceptable")
        return rsa.RSAPublicNumbers(e, n).public_key(), alg
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise _Unusable("invalid key material") from None


def _bind(jwk: Any) -> BoundKey:
    """Bind one JWK to its kid and algorithm, or raise ``_Unusable`` (private members: fatal)."""
    if not isinstance(jwk, dict):
        raise _Unusable("entry is not a JSON object")
    private = PRIVATE_MEMBERS.intersection(jwk)
    if private:
        raise InvalidJwkSet("the JWK Set contains private key members")
    kty = jwk.get("kty")
    if not isinstance(kty, str):
        raise _Unusable("kty is missing")
    use = jwk.get("use")
    if use is not None and use != "sig":
        raise _Unusable("key is not for signatures")
    key_ops = jwk.get("key_ops")
    if key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops):
        raise _Unusable("key_ops does not allow verify")
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid:
        raise _Unusable("key has no kid and cannot be selected")
    public_key, type_alg = _public_key(kty, jwk)
    declared = jwk.get("alg")
    if declared is not None:
        alg = _ALG_BY_NAME.get(declared) if isinstance(declared, str) else None
        if alg is None:
            raise _Unusable("alg is not supported")
        if alg is not type_alg:
            raise _Unusable("alg does not match the key type")
    return BoundKey(kid=kid, alg=type_alg, public_key=public_key)


@attrs.frozen(eq=False)
class JwkSet:
    """Trusted verification keys by ``kid``, each bound to one algorithm.

    Build with :meth:`from_json` (a fetched or registered JWK Set), :meth:`from_ring` (our own
    issuer's keys) or :meth:`from_keys`. Immutable; a re-fetch builds a new set (compare sets with
    :meth:`kids`; equality and hashing are by identity). ``_header_memo`` belongs to
    :func:`protocols.jose.jwt.verify_jwt`: verdicts on header segments under *this* set.
    """

    _keys: Mapping[str, BoundKey] = attrs.field(repr=False)
    ignored: tuple[str, ...] = ()
    # Parsed JOSE headers by encoded header segment (a memo of a pure function; see jwt.py).
    _header_memo: dict[str, Any] = attrs.field(factory=dict, init=False, repr=False, eq=False)

    @classmethod
    def from_json(cls, obj: Any, *, strict: bool = False) -> JwkSet:
        """Parse a JWK Set document (RFC 7517 §5): a dict, or its JSON text/bytes.

        Unusable keys are ignored and described in ``ignored`` (``strict=True``: refused). Keys
        that share a ``kid`` are all dropped — a ``kid`` must name one key. Raises
        :class:`InvalidJwkSet`.
        """
        if isinstance(obj, (str, bytes)):
            try:
                obj = parse_json(obj)
            except (MalformedBody, ValueError, RecursionError):  # incl. int() digit limits
                raise InvalidJwkSet("the JWK Set is not strict JSON") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("keys"), list):
            raise InvalidJwkSet("a JWK Set is a JSON object with a 'keys' array")
        entries = obj["keys"]
        if len(entries) > MAX_KEYS:
            raise InvalidJwkSet(f"the JWK Set holds more than {MAX_KEYS} keys")
        bound: list[BoundKey] = []
        ignored: list[str] = []
        for index, jwk in enumerate(entries):
            try:
                bound.append(_bind(jwk))
            except _Unusable as exc:
                if strict:
                    raise InvalidJwkSet(f"key {index}: {exc}") from None
                ignored.append(f"key {index}: {exc}")
        return cls._build(bound, ignored, strict=strict)

    @classmethod
    def from_keys(cls, keys: Iterable[BoundKey]) -> JwkSet:
        """A set of already-bound keys (duplicate ``kid`` values are refused)."""
        return cls._build(list(keys), [], strict=True)

    @classmethod
    def from_ring(cls, ring: KeyRing, *, now: int) -> JwkSet:
        """The keys ``ring`` publishes at ``now`` — what a verifier fetching our JWKS would hold."""
        return cls.from_keys(BoundKey(kid=key.kid, alg=key.alg, public_key=key.public_key())
                             for key in ring.published(now=now))

    @classmethod
    def _build(cls, bound: list[BoundKey], ignored: list[str], *, strict: bool) -> JwkSet:
        counts: dict[str, int] = {}
        for key in bound:
            counts[key.kid] = counts.get(key.kid, 0) + 1
        duplicated = sorted(kid for kid, count in counts.items() if count > 1)
        if duplicated:
            if strict:
                raise InvalidJwkSet("two keys share a kid")
            ignored.append(f"{len(duplicated)} kid value(s) shared by several keys")
        keys = {key.kid: key for key in bound if counts[key.kid] == 1}
        return cls(keys, tuple(ignored))

    def kids(self) -> frozenset[str]:
        """Every selectable ``kid``."""
        return frozenset(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def lookup(self, kid: str) -> BoundKey | None:
        """The bound key for ``kid``, or ``None`` (an exact, case-sensitive dict lookup)."""
        return self._keys.get(kid)

    def key_for(self, kid: str) -> tuple[Algorithm, Any]:
        """``(algorithm, public key)`` bound to ``kid``; raises :class:`UnknownKeyId`."""
        key = self._keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise UnknownKeyId("the token's kid is not in the trusted key set")
        return key.alg, key.public_key

    def to_json(self) -> dict[str, list[dict[str, str]]]:
        """The public JWK Set document for these keys (in ``kid`` order)."""
        return {"keys": [self._keys[kid].public_jwk() for kid in sorted(self._keys)]}
