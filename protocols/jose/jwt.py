"""Sign and verify compact JWS JWTs (RFC 7515 §3.1, §5.1, §5.2, §7.1; RFC 7519 §7.1, §7.2;
RFC 8725 §3; RFC 9068 §4; OIDC Core §3.1.3.7).

:func:`sign_jwt` produces a standard compact JWS: header ``{"alg", "kid"[, "typ"]}`` and claims
serialized as sorted, compact UTF-8 JSON (deterministic bytes), signed with the key's one algorithm.

:func:`verify_jwt` validates against a :class:`~protocols.jose.profiles.TokenProfile`, in this order,
raising one :class:`~protocols.jose.errors.JwtRejected` subclass per failed rule:

1. structure — three canonical base64url segments, header and payload strict UTF-8 JSON objects
   with no duplicate members (RFC 7519 §7.2 steps 1–10, RFC 8725 §3.7) → ``MalformedJwt``;
2. ``alg`` present, not ``none``, allowed by the profile (RFC 8725 §3.1, §3.2) → ``AlgorithmNotAllowed``;
3. ``crit`` (or ``b64``) present — we understand no extensions (RFC 7515 §4.1.11) → ``UnsupportedCritical``;
4. ``jku`` / ``x5u`` / ``jwk`` / ``x5c`` present (RFC 8725 §3.10) → ``ForbiddenKeyReference``;
5. ``kid`` present and in the trusted set, as an opaque dict key → ``UnknownKeyId``;
6. header ``alg`` equals the algorithm the key is bound to — *the key decides*, never the header
   (RFC 8725 §2.1, §3.1) → ``AlgorithmKeyMismatch``. (HMAC algorithms are in no profile, so an
   HS256 token "signed" with an RSA key's bytes already stops at step 2, before any MAC is computed);
7. signature (RFC 7515 §5.2 step 8) → ``BadSignature``;
8. ``typ`` fits the profile (RFC 8725 §3.11) → ``WrongTokenType``;
9. claims against the injected ``now`` (no library reads a clock here): ``exp``
   (required unless the profile forbids it; valid while ``now < exp + leeway``), ``nbf``, ``iat``,
   NumericDate types (RFC 7519 §2), ``iss``, ``aud``, ``azp``, required and forbidden claims,
   lifetime and age caps.

Performance (bench/jwt_bench.py; target: ≥ 70 % of the raw ``cryptography`` verify rate). pyjwt
is not on the hot path: its decode re-parses header and payload with lenient JSON (duplicates
allowed) and selects the algorithm object from the header, so after our own strict parsing it
would only add cost. The signature check calls ``cryptography`` directly through the key's
:class:`~protocols.jose.jwks.BoundKey`, whose public key object and algorithm were fixed when the
key set was built (interop with pyjwt and joserfc is covered by tests). Segments are decoded with pybase64 (SIMD) and the payload is parsed by one pass
of a prebuilt strict JSON scanner. A header segment that passed every header rule for a profile is
memoized per key set (same bytes ⇒ same verdict; the set is immutable), so one issuer's identical
headers are parsed and checked once; headers of tokens whose signature failed are never stored.
"""

from __future__ import annotations

import binascii
import math
from typing import Any

import attrs
from cryptography.exceptions import InvalidSignature

from protocols.jose.encoding import (
    LAST_CHAR_OK, PAD, STRICT_SCAN, Base64UrlError, StrictJsonError, b64url_encode, canonical_json,
    decode_segment, strict_json, urlsafe_decode,
)
from protocols.jose.errors import (
    ALL_REJECTIONS, AlgorithmKeyMismatch, AlgorithmNotAllowed, BadSignature, ForbiddenClaim,
    ForbiddenKeyReference, IssuedInFuture, JwtRejected, LifetimeTooLong, MalformedJwt, MissingClaim,
    TokenExpired, TokenNotYetValid, UnknownKeyId, UnsupportedCritical, WrongAudience, WrongIssuer,
    WrongTokenType,
)
from protocols.jose.jwks import BoundKey, JwkSet
from protocols.jose.keys import SigningKey
from protocols.jose.profiles import TokenProfile

__all__ = [
    "ALL_REJECTIONS", "AlgorithmKeyMismatch", "AlgorithmNotAllowed", "BadSignature", "ForbiddenClaim",
    "ForbiddenKeyReference", "IssuedInFuture", "JwtRejected", "LifetimeTooLong", "MalformedJwt",
    "MissingClaim", "TokenExpired", "TokenNotYetValid", "TokenProfile", "UnknownKeyId",
    "UnsupportedCritical", "VerifiedJwt", "WrongAudience", "WrongIssuer", "WrongTokenType",
    "sign_jwt", "verify_jwt",
]

MAX_TOKEN_CHARS = 16 * 1024
"""Longest compact JWT accepted; longer input is refused before any decoding."""

KEY_REFERENCE_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c"})
"""Header parameters that point at keys; never honoured (RFC 7515 §4.1.2–§4.1.6, RFC 8725 §3.10)."""

_EXTENSION_HEADERS = frozenset({"crit", "b64"})
_RESERVED_HEADERS = frozenset({"alg", "kid", "typ"}) | _EXTENSION_HEADERS
_HEADER_MEMO_SIZE = 128


@attrs.frozen(kw_only=True)
class VerifiedJwt:
    """A JWT that passed every check of its profile: its JOSE header and its claims."""

    header: dict[str, Any]
    claims: dict[str, Any]

    @property
    def kid(self) -> str:
        return self.header["kid"]

    @property
    def alg(self) -> str:
        return self.header["alg"]


def sign_jwt(*, claims: dict[str, Any], key: SigningKey, typ: str | None = None,
             extra_headers: dict[str, Any] | None = None) -> str:
    """Sign ``claims`` as a compact JWS with ``key`` (RFC 7515 §5.1, §7.1; RFC 7519 §7.1).

    The header holds ``alg`` (the key's algorithm), ``kid`` and ``typ`` when given, plus
    ``extra_headers`` (which may not override those or add ``crit``/``b64``). Claims are serialized
    with sorted member names and no whitespace, so equal claims give equal bytes.
    """
    header: dict[str, Any] = {"alg": key.alg.value, "kid": key.kid}
    if typ is not None:
        header["typ"] = typ
    if extra_headers:
        clash = _RESERVED_HEADERS.intersection(extra_headers)
        if clash:
            raise ValueError(f"extra_headers may not set {sorted(clash)}")
        header.update(extra_headers)
    signing_input = b64url_encode(canonical_json(header)) + "." + b64url_encode(canonical_json(claims))
    signature = key.sign(signing_input.encode("ascii"))
    return signing_input + "." + b64url_encode(signature)


def _malformed_structure(token: str) -> MalformedJwt:
    """Explain why ``token`` did not match the compact serialization (slow path, no token echo)."""
    count = token.count(".") + 1
    if count == 5:
        return MalformedJwt("JWE (five segments) is not accepted here; a signed JWT has three")
    if count != 3:
        return MalformedJwt(f"a compact JWS has three segments, this has {count}")
    return MalformedJwt("a segment is empty or not base64url")


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    """Strict JSON object from a decoded segment (RFC 7519 §7.2 steps 3–4, 9–10; RFC 8725 §3.7)."""
    try:
        value = strict_json(raw)
    except StrictJsonError as exc:
        raise MalformedJwt(f"the {what} is not strict UTF-8 JSON ({exc})") from None
    if not isinstance(value, dict):
        raise MalformedJwt(f"the {what} is not a JSON object")
    return value


def _numeric_date(claims: dict[str, Any], name: str) -> int | float | None:
    """A NumericDate claim (RFC 7519 §2): a finite JSON number; ``None`` when absent."""
    value = claims.get(name)
    if value is None:
        if name in claims:
            raise MalformedJwt(f"claim {name!r} is null, not a NumericDate")
        return None
    kind = type(value)
    if kind is int or (kind is float and math.isfinite(value)):
        return value
    raise MalformedJwt(f"claim {name!r} is not a NumericDate")


def _check_audience(claims: dict[str, Any], profile: TokenProfile) -> None:
    """RFC 7519 §4.1.3, RFC 8725 §3.9, OIDC Core §3.1.3.7 steps 3–5."""
    aud = claims.get("aud")
    if aud is None:
        raise MissingClaim("the token has no aud claim")
    if isinstance(aud, str):
        audiences = (aud,)
    elif isinstance(aud, list) and aud and all(isinstance(item, str) for item in aud):
        audiences = tuple(aud)
    else:
        raise MalformedJwt("claim 'aud' is not a string or a non-empty array of strings")
    if profile.single_audience and len(audiences) > 1:
        raise WrongAudience(f"a {profile.name} must have exactly one audience")
    if profile.audience not in audiences:
        raise WrongAudience(f"the token is not addressed to {profile.audience!r}")
    if profile.authorized_party is not None:
        azp = claims.get("azp")
        if azp is None and len(audiences) > 1:
            raise WrongAudience("a token with several audiences must name its authorized party (azp)")
        if azp is not None and azp != profile.authorized_party:
            raise WrongAudience("the token's authorized party (azp) is not this client")


def _check_claims(claims: dict[str, Any], profile: TokenProfile, now: int) -> None:
    """RFC 7519 §4.1, §7.2 step 10; RFC 8725 §3.8, §3.9, §3.12. (Written for the hot path: the
    common shapes — integer dates, one string audience — take the short branches.)"""
    leeway = profile.leeway
    get = claims.get
    exp = get("exp")
    if type(exp) is not int:
        exp = _numeric_date(claims, "exp")
    if exp is None:
        if profile.requires_exp:
            raise MissingClaim("the token has no exp claim")
    elif now >= exp + leeway:
        raise TokenExpired("the token has expired")
    nbf = get("nbf")
    if nbf is not None or "nbf" in claims:
        if type(nbf) is not int:
            nbf = _numeric_date(claims, "nbf")
        if nbf > now + leeway:
            raise TokenNotYetValid("the token is not valid yet (nbf)")
    iat = get("iat")
    if iat is not None or "iat" in claims:
        if type(iat) is not int:
            iat = _numeric_date(claims, "iat")
        if iat > now + leeway:
            raise IssuedInFuture("the token was issued in the future (iat)")
    if profile.issuer is not None:
        iss = get("iss")
        if iss is None:
            raise MissingClaim("the token has no iss claim")
        if iss != profile.issuer:
            raise WrongIssuer(f"the token was not issued by {profile.issuer!r}")
    if profile.audience is not None:
        aud = get("aud")
        if (type(aud) is not str or aud != profile.audience
                or (profile.authorized_party is not None and "azp" in claims)):
            _check_audience(claims, profile)
    keys = claims.keys()
    if not keys >= profile.required_claims:
        missing = sorted(profile.required_claims - keys)
        raise MissingClaim(f"a {profile.name} requires claim(s) {missing}")
    if not keys.isdisjoint(profile.forbidden_claims):
        present = sorted(profile.forbidden_claims & keys)
        raise ForbiddenClaim(f"a {profile.name} must not carry claim(s) {present}")
    if profile.max_lifetime is not None and exp is not None:
        start = iat if iat is not None else now
        if exp - start > profile.max_lifetime:
            raise LifetimeTooLong(f"a {profile.name} may live at most {profile.max_lifetime} s")
    if profile.max_age is not None and iat is not None and now - iat > profile.max_age + leeway:
        raise LifetimeTooLong(f"a {profile.name} may be at most {profile.max_age} s old")


def _check_header(header: dict[str, Any], keys: JwkSet, profile: TokenProfile) -> BoundKey:
    """Steps 2–6 and 8: header rules and key selection; returns the key to verify with."""
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in profile.algorithm_names:
        raise AlgorithmNotAllowed(f"alg is absent or not allowed for a {profile.name}")
    if not _EXTENSION_HEADERS.isdisjoint(header):
        raise UnsupportedCritical("the header uses a critical extension (crit/b64) we do not support")
    if not KEY_REFERENCE_HEADERS.isdisjoint(header):
        raise ForbiddenKeyReference("the header points at keys (jku/x5u/jwk/x5c); keys come from the issuer's JWKS")
    kid = header.get("kid")
    if kid is None:
        raise UnknownKeyId("the header names no key (kid)")
    if not isinstance(kid, str):
        raise MalformedJwt("the header kid is not a string")
    bound = keys.lookup(kid)
    if bound is None:
        raise UnknownKeyId("the token's kid is not in the trusted key set")
    if bound.alg_name != alg:
        raise AlgorithmKeyMismatch("the header alg is not the algorithm bound to this key")
    typ = header.get("typ")
    if typ is not None and not isinstance(typ, str):
        raise MalformedJwt("the header typ is not a string")
    return bound


def verify_jwt(token: str, *, keys: JwkSet, profile: TokenProfile, now: int) -> VerifiedJwt:
    """Validate a compact JWS JWT against ``profile`` with ``keys``, at time ``now`` (epoch seconds).

    Returns the header and claims, or raises the :class:`JwtRejected` subclass of the first rule
    that fails (order in the module docstring). Messages never contain the token or key material.
    """
    # 1. Structure (RFC 7515 §7.1, RFC 7519 §7.2 steps 1–10): an ASCII string with exactly two
    #    dots; no ``+``, ``/`` or ``=`` (the decoder would take them); each segment ends in a
    #    canonical character; the decoder refuses anything else outside the alphabet. An empty
    #    signature parses (an unsecured JWS, RFC 7515 §A.5) so ``alg: none`` is refused as such.
    if type(token) is not str or len(token) > MAX_TOKEN_CHARS or not token.isascii():
        raise MalformedJwt("the token is not an ASCII string of acceptable length")
    raw = token.encode("ascii")
    size = len(raw)
    header_end = raw.find(b".")
    payload_end = raw.find(b".", header_end + 1)
    if header_end <= 0 or payload_end <= header_end + 1 or raw.find(b".", payload_end + 1) >= 0:
        raise _malformed_structure(token)
    payload_rem = (payload_end - header_end - 1) & 3
    signature_rem = (size - payload_end - 1) & 3
    if (raw[payload_end - 1] not in LAST_CHAR_OK[payload_rem] or raw[size - 1] not in LAST_CHAR_OK[signature_rem]
            or b"+" in raw or b"/" in raw or b"=" in raw):
        raise MalformedJwt("a segment is not canonical unpadded base64url")
    try:
        payload = urlsafe_decode(raw[header_end + 1:payload_end] + PAD[payload_rem], b"-_", True)
        signature = urlsafe_decode(raw[payload_end + 1:] + PAD[signature_rem], b"-_", True)
    except (binascii.Error, ValueError):
        raise MalformedJwt("a segment is not base64url") from None
    # A header segment that already passed every header rule for this profile under this
    # (immutable) key set is reused as parsed, with its key: same bytes, same verdict.
    memo = keys._header_memo
    header_key = raw[:header_end]
    entry = memo.get(header_key)
    if entry is None:
        try:
            header = _json_object(decode_segment(header_key), "header")
        except Base64UrlError:
            raise MalformedJwt("the header is not canonical unpadded base64url") from None
    else:
        header = entry[0]
    try:  # fast path: one C scan of an unpadded object; anything else takes the explaining path
        text = payload.decode("utf-8")
        claims, end = STRICT_SCAN(text, 0)
        if end != len(text) or type(claims) is not dict:
            claims = None
    except Exception:
        claims = None
    if claims is None:
        claims = _json_object(payload, "payload")

    # 2–6. Header rules; the key, not the header, decides the algorithm.
    verdict_known = entry is not None and entry[2] is profile
    bound = entry[1] if verdict_known else _check_header(header, keys, profile)

    # 7. Signature over ASCII(header "." payload) (RFC 7515 §5.2 step 8).
    try:
        bound.check_signature(raw[:payload_end], signature)
    except (InvalidSignature, ValueError):
        raise BadSignature("the signature does not verify") from None

    # 8. Explicit typing (RFC 8725 §3.11).
    if not verdict_known:
        if not profile.typ_accepted(header.get("typ")):
            raise WrongTokenType(f"the token's typ does not fit a {profile.name}")
        if len(memo) >= _HEADER_MEMO_SIZE:
            memo.clear()
        memo[header_key] = (header, bound, profile)

    # 9. Claims.
    _check_claims(claims, profile, now)
    return VerifiedJwt(header=dict(header), claims=claims)
