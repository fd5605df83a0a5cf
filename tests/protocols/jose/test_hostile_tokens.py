"""Hostile tokens (RFC 8725 §2–§3, RFC 7515/7519 validation, OIDC Core §3.1.3.7, RFC 9068 §4).

Every test asserts the *exact* JwtRejected subclass, and that the message repeats neither the
token nor any part of it.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from protocols.entropy import SeededEntropy
from protocols.jose.encoding import b64url_encode, canonical_json
from protocols.jose.jwks import JwkSet
from protocols.jose.jwt import (
    MAX_TOKEN_CHARS, AlgorithmKeyMismatch, AlgorithmNotAllowed, BadSignature, ForbiddenClaim, ForbiddenKeyReference,
    IssuedInFuture, JwtRejected, LifetimeTooLong, MalformedJwt, MissingClaim, TokenExpired, TokenNotYetValid,
    TokenProfile, UnknownKeyId, UnsupportedCritical, WrongAudience, WrongIssuer, WrongTokenType, sign_jwt, verify_jwt,
)
from protocols.jose.keys import Algorithm, SigningKey

NOW = 1_736_150_400
IDP = "https://idp.trustbench.example"
AS = "https://as.trustbench.example"
RS = "https://mcp.crm.trustbench.example"
CLIENT = "agent-sales-7"


@pytest.fixture(scope="module")
def keys() -> dict[Algorithm, SigningKey]:
    return {alg: SigningKey.generate(alg=alg, entropy=SeededEntropy.for_actor(run_seed=11, actor="hostile"),
                                     created_at=NOW) for alg in Algorithm}


@pytest.fixture(scope="module")
def attacker() -> SigningKey:
    return SigningKey.generate(alg=Algorithm.ES256, entropy=SeededEntropy.for_actor(run_seed=666, actor="mallory"),
                               created_at=NOW)


@pytest.fixture(scope="module")
def trusted(keys) -> JwkSet:
    return JwkSet.from_json({"keys": [k.public_jwk() for k in keys.values()]})


AT = TokenProfile.access_token(issuer=AS, audience=RS)
ID = TokenProfile.id_token(issuer=IDP, client_id=CLIENT)
CA = TokenProfile.client_assertion(audience=AS, client_id=CLIENT)
JAG = TokenProfile.id_jag(issuer=IDP, audience=AS)


def at_claims(**overrides) -> dict:
    claims = {"iss": AS, "aud": RS, "sub": "user:alice", "client_id": CLIENT, "iat": NOW, "exp": NOW + 300,
              "jti": "at-1", "scope": "crm.read"}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def id_claims(**overrides) -> dict:
    claims = {"iss": IDP, "aud": CLIENT, "sub": "user:alice", "iat": NOW, "exp": NOW + 300, "nonce": "n-1"}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def jag_claims(**overrides) -> dict:
    claims = {"iss": IDP, "sub": "user:alice", "aud": AS, "client_id": CLIENT, "jti": "jag-1", "exp": NOW + 300,
              "iat": NOW}
    claims.update(overrides)
    return claims


def _segment(part: dict | bytes) -> str:
    return b64url_encode(part if isinstance(part, bytes) else canonical_json(part))


def forge(header: dict | bytes, payload: dict | bytes, *, key: SigningKey | None = None,
          signature: bytes | None = None) -> str:
    """A compact JWS with arbitrary header/payload bytes, signed with ``key`` or given ``signature``."""
    signing_input = f"{_segment(header)}.{_segment(payload)}"
    if signature is None:
        signature = key.sign(signing_input.encode()) if key is not None else b""
    return f"{signing_input}.{b64url_encode(signature)}"


def rejected(token: str, expected: type[JwtRejected], *, keys: JwkSet, profile: TokenProfile = AT,
             now: int = NOW) -> JwtRejected:
    with pytest.raises(JwtRejected) as info:
        verify_jwt(token, keys=keys, profile=profile, now=now)
    assert type(info.value) is expected, f"{type(info.value).__name__}: {info.value}"
    message = str(info.value)
    assert "\n" not in message
    for part in token.split("."):
        if len(part) >= 8:
            assert part not in message
    return info.value


# -- RFC 8725 §2.1/§3.1: alg none and algorithm substitution ------------------------------------------

@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_in_any_spelling(keys, trusted, alg: str) -> None:
    token = forge({"alg": alg, "kid": keys[Algorithm.RS256].kid, "typ": "at+jwt"}, at_claims())
    assert token.endswith(".")
    rejected(token, AlgorithmNotAllowed, keys=trusted)


def test_alg_none_with_a_signature_attached(keys, trusted) -> None:
    token = forge({"alg": "none", "kid": keys[Algorithm.RS256].kid, "typ": "at+jwt"}, at_claims(),
                  signature=b"\x00" * 32)
    rejected(token, AlgorithmNotAllowed, keys=trusted)


@pytest.mark.parametrize("alg", [Algorithm.RS256, Algorithm.ES256, Algorithm.EdDSA])
def test_hs256_signed_with_the_public_key_as_hmac_secret(keys, trusted, alg: Algorithm) -> None:
    """Key confusion: the attacker HMACs with the published public key (PEM and raw JWK bytes)."""
    public = keys[alg].public_key()
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    for secret in (pem, json.dumps(keys[alg].public_jwk()).encode()):
        header = {"alg": "HS256", "kid": keys[alg].kid, "typ": "at+jwt"}
        signing_input = f"{_segment(header)}.{_segment(at_claims())}".encode()
        mac = hmac.new(secret, signing_input, hashlib.sha256).digest()
        rejected(forge(header, at_claims(), signature=mac), AlgorithmNotAllowed, keys=trusted)


@pytest.mark.parametrize("alg", ["HS256", "HS512", "RS384", "PS256", "ES384", "ES256K", "Ed25519", "rs256", "es256",
                                 "", " RS256"])
def test_algorithms_outside_the_allow_list(keys, trusted, alg: str) -> None:
    rejected(forge({"alg": alg, "kid": keys[Algorithm.RS256].kid, "typ": "at+jwt"}, at_claims(),
                   key=keys[Algorithm.RS256]), AlgorithmNotAllowed, keys=trusted)


@pytest.mark.parametrize("alg", [None, 256, ["RS256"], {"RS256": True}])
def test_alg_missing_or_not_a_string(keys, trusted, alg) -> None:
    header = {"kid": keys[Algorithm.RS256].kid, "typ": "at+jwt"} | ({} if alg is None else {"alg": alg})
    rejected(forge(header, at_claims(), key=keys[Algorithm.RS256]), AlgorithmNotAllowed, keys=trusted)


def test_profile_narrower_than_the_key_set(keys, trusted) -> None:
    es_only = TokenProfile.access_token(issuer=AS, audience=RS, algorithms=frozenset({Algorithm.ES256}))
    token = sign_jwt(claims=at_claims(), key=keys[Algorithm.RS256], typ="at+jwt")
    rejected(token, AlgorithmNotAllowed, keys=trusted, profile=es_only)


def test_es256_header_on_an_rsa_kid(keys, trusted, attacker) -> None:
    header = {"alg": "ES256", "kid": keys[Algorithm.RS256].kid, "typ": "at+jwt"}
    rejected(forge(header, at_claims(), key=attacker), AlgorithmKeyMismatch, keys=trusted)


@pytest.mark.parametrize("header_alg,kid_alg", [("RS256", Algorithm.ES256), ("EdDSA", Algorithm.RS256),
                                                ("ES256", Algorithm.EdDSA), ("RS256", Algorithm.EdDSA)])
def test_header_alg_other_than_the_bound_one(keys, trusted, header_alg: str, kid_alg: Algorithm) -> None:
    signer = next(k for k in keys.values() if k.alg.value == header_alg)
    header = {"alg": header_alg, "kid": keys[kid_alg].kid, "typ": "at+jwt"}
    rejected(forge(header, at_claims(), key=signer), AlgorithmKeyMismatch, keys=trusted)


# -- RFC 8725 §3.10: kid and key references --------------------------------------------------------

def test_unknown_kid(trusted, attacker) -> None:
    rejected(sign_jwt(claims=at_claims(), key=attacker, typ="at+jwt"), UnknownKeyId, keys=trusted)


@pytest.mark.parametrize("kid", ["../../dev/null", "/dev/null", "' OR 1=1--", "x'; DROP TABLE keys;--",
                                 "$(rm -rf /)", "file:///etc/passwd", "kid\u0000", "", " ", "*", "%2e%2e%2f"])
def test_injected_kids(trusted, attacker, kid: str) -> None:
    token = forge({"alg": "ES256", "kid": kid, "typ": "at+jwt"}, at_claims(), key=attacker)
    error = rejected(token, UnknownKeyId, keys=trusted)
    if kid.strip():
        assert kid not in str(error)


def test_kid_differing_only_in_case(keys, trusted) -> None:
    kid = keys[Algorithm.ES256].kid
    token = forge({"alg": "ES256", "kid": kid.swapcase(), "typ": "at+jwt"}, at_claims(), key=keys[Algorithm.ES256])
    rejected(token, UnknownKeyId, keys=trusted)


def test_missing_kid(keys, trusted) -> None:
    token = forge({"alg": "ES256", "typ": "at+jwt"}, at_claims(), key=keys[Algorithm.ES256])
    rejected(token, UnknownKeyId, keys=trusted)


@pytest.mark.parametrize("kid", [7, None, ["a"], {"$ne": ""}])
def test_kid_not_a_string(keys, trusted, kid) -> None:
    token = forge({"alg": "ES256", "kid": kid, "typ": "at+jwt"}, at_claims(), key=keys[Algorithm.ES256])
    rejected(token, MalformedJwt if kid is not None else UnknownKeyId, keys=trusted)


@pytest.mark.parametrize("crit", [["exp"], ["b64"], [], "x", ["urn:example:ext"]])
def test_crit_header(keys, trusted, crit) -> None:
    key = keys[Algorithm.ES256]
    token = forge({"alg": "ES256", "kid": key.kid, "typ": "at+jwt", "crit": crit, "exp": 1}, at_claims(), key=key)
    rejected(token, UnsupportedCritical, keys=trusted)


def test_b64_false_header(keys, trusted) -> None:
    key = keys[Algorithm.ES256]
    rejected(forge({"alg": "ES256", "kid": key.kid, "typ": "at+jwt", "b64": False}, at_claims(), key=key),
             UnsupportedCritical, keys=trusted)


@pytest.mark.parametrize("member", ["jku", "x5u", "jwk", "x5c"])
def test_key_reference_headers(keys, trusted, attacker, member: str) -> None:
    """The attacker embeds (or points at) its own key and signs with it, using a trusted kid."""
    values = {"jku": "https://mallory.example/jwks.json", "x5u": "https://mallory.example/cert.pem",
              "jwk": attacker.public_jwk(), "x5c": ["MIIBszCCAVmgAwIBAgIU"]}
    header = {"alg": "ES256", "kid": keys[Algorithm.ES256].kid, "typ": "at+jwt", member: values[member]}
    rejected(forge(header, at_claims(), key=attacker), ForbiddenKeyReference, keys=trusted)


# -- RFC 8725 §3.11/§3.12: cross-JWT confusion -----------------------------------------------------

def test_access_token_presented_as_id_token(keys, trusted) -> None:
    token = sign_jwt(claims=at_claims(iss=IDP, aud=CLIENT), key=keys[Algorithm.RS256], typ="at+jwt")
    rejected(token, WrongTokenType, keys=trusted, profile=ID)


def test_id_token_presented_as_access_token(keys, trusted) -> None:
    token = sign_jwt(claims=id_claims(iss=AS, aud=RS, client_id=CLIENT, jti="x"), key=keys[Algorithm.RS256])
    rejected(token, WrongTokenType, keys=trusted, profile=AT)


def test_id_jag_presented_as_access_token(keys, trusted) -> None:
    token = sign_jwt(claims=jag_claims(iss=AS, aud=RS), key=keys[Algorithm.ES256], typ="oauth-id-jag+jwt")
    rejected(token, WrongTokenType, keys=trusted, profile=AT)


def test_id_token_presented_as_id_jag(keys, trusted) -> None:
    token = sign_jwt(claims=jag_claims(), key=keys[Algorithm.ES256])
    rejected(token, WrongTokenType, keys=trusted, profile=JAG)


def test_access_token_presented_as_client_assertion(keys, trusted) -> None:
    claims = {"iss": CLIENT, "sub": CLIENT, "aud": AS, "exp": NOW + 60, "jti": "j", "client_id": CLIENT, "iat": NOW}
    token = sign_jwt(claims=claims, key=keys[Algorithm.EdDSA], typ="at+jwt")
    rejected(token, WrongTokenType, keys=trusted, profile=CA)


@pytest.mark.parametrize("typ", ["at+jwt", "application/at+jwt", "oauth-id-jag+jwt", "secevent+jwt", "logout+jwt",
                                 "client-authentication+jwt", "dpop+jwt", "JOSE", "jwt+secret"])
def test_typed_tokens_of_other_kinds_presented_as_id_token(keys, trusted, typ: str) -> None:
    token = sign_jwt(claims=id_claims(), key=keys[Algorithm.RS256], typ=typ)
    rejected(token, WrongTokenType, keys=trusted, profile=ID)


def test_untyped_access_token_claims_presented_as_id_token(keys, trusted) -> None:
    """No typ to tell them apart: RFC 9068 markers (client_id, scope) are forbidden in ID tokens."""
    token = sign_jwt(claims=id_claims(client_id=CLIENT, scope="crm.read"), key=keys[Algorithm.RS256])
    rejected(token, ForbiddenClaim, keys=trusted, profile=ID)


def test_nonce_in_access_token(keys, trusted) -> None:
    rejected(sign_jwt(claims=at_claims(nonce="n"), key=keys[Algorithm.ES256], typ="at+jwt"), ForbiddenClaim,
             keys=trusted)


def test_typ_not_a_string(keys, trusted) -> None:
    key = keys[Algorithm.ES256]
    rejected(forge({"alg": "ES256", "kid": key.kid, "typ": ["at+jwt"]}, at_claims(), key=key), MalformedJwt,
             keys=trusted)


# -- claims -------------------------------------------------------------------------------------------

def test_expired(keys, trusted) -> None:
    token = sign_jwt(claims=at_claims(iat=NOW - 400, exp=NOW - 31), key=keys[Algorithm.ES256], typ="at+jwt")
    rejected(token, TokenExpired, keys=trusted)


def test_not_yet_valid(keys, trusted) -> None:
    token = sign_jwt(claims=at_claims(nbf=NOW + 120), key=keys[Algorithm.ES256], typ="at+jwt")
    rejected(token, TokenNotYetValid, keys=trusted)


def test_issued_in_the_future(keys, trusted) -> None:
    token = sign_jwt(claims=at_claims(iat=NOW + 120, exp=NOW + 400), key=keys[Algorithm.ES256], typ="at+jwt")
    rejected(token, IssuedInFuture, keys=trusted)


@pytest.mark.parametrize("iss", ["https://evil.example", AS + "/", AS.upper(), "", 7, [AS]])
def test_wrong_issuer(keys, trusted, iss) -> None:
    token = sign_jwt(claims=at_claims(iss=iss), key=keys[Algorithm.ES256], typ="at+jwt")
    rejected(token, WrongIssuer, keys=trusted)


@pytest.mark.parametrize("aud", ["https://other-rs.example", RS + "/", [AS], ["https://a.example", "https://b.ex"]])
def test_wrong_audience(keys, trusted, aud) -> None:
    token = sign_jwt(claims=at_claims(aud=aud), key=keys[Algorithm.ES256], typ="at+jwt")
    rejected(token, WrongAudience, keys=trusted)


def test_multiple_audiences_where_one_is_required(keys, trusted) -> None:
    token = sign_jwt(claims=jag_claims(aud=[AS, "https://other-as.example"]), key=keys[Algorithm.ES256],
                     typ="oauth-id-jag+jwt")
    rejected(token, WrongAudience, keys=trusted, profile=JAG)
    assertion = sign_jwt(claims={"iss": CLIENT, "sub": CLIENT, "aud": [AS, AS + "/token"], "exp": NOW + 60,
                                 "jti": "j"}, key=keys[Algorithm.ES256])
    rejected(assertion, WrongAudience, keys=trusted, profile=CA)


@pytest.mark.parametrize("claim", ["client_id", "jti", "sub", "iat", "aud", "iss", "exp"])
def test_missing_required_claim(keys, trusted, claim: str) -> None:
    token = sign_jwt(claims=at_claims(**{claim: None}), key=keys[Algorithm.ES256], typ="at+jwt")
    rejected(token, MissingClaim, keys=trusted)


def test_lifetime_too_long(keys, trusted) -> None:
    claims = {"iss": CLIENT, "sub": CLIENT, "aud": AS, "iat": NOW, "exp": NOW + 601, "jti": "j"}
    rejected(sign_jwt(claims=claims, key=keys[Algorithm.ES256]), LifetimeTooLong, keys=trusted, profile=CA)
    no_iat = {k: v for k, v in claims.items() if k != "iat"}
    rejected(sign_jwt(claims=no_iat, key=keys[Algorithm.ES256]), LifetimeTooLong, keys=trusted, profile=CA)


# -- signature ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("alg", list(Algorithm))
def test_tampered_payload(keys, trusted, alg: Algorithm) -> None:
    header, _, signature = sign_jwt(claims=at_claims(), key=keys[alg], typ="at+jwt").split(".")
    tampered = f"{header}.{_segment(at_claims(sub='user:admin', scope='crm.admin'))}.{signature}"
    rejected(tampered, BadSignature, keys=trusted)


@pytest.mark.parametrize("alg", list(Algorithm))
def test_tampered_header(keys, trusted, alg: Algorithm) -> None:
    _, payload, signature = sign_jwt(claims=at_claims(), key=keys[alg], typ="at+jwt").split(".")
    header = _segment({"alg": alg.value, "kid": keys[alg].kid, "typ": "AT+JWT"})
    rejected(f"{header}.{payload}.{signature}", BadSignature, keys=trusted)


def test_signature_from_a_different_key_with_the_same_kid(keys, trusted, attacker) -> None:
    header = {"alg": "ES256", "kid": keys[Algorithm.ES256].kid, "typ": "at+jwt"}
    rejected(forge(header, at_claims(), key=attacker), BadSignature, keys=trusted)


@pytest.mark.parametrize("alg", list(Algorithm))
def test_empty_signature(keys, trusted, alg: Algorithm) -> None:
    header = {"alg": alg.value, "kid": keys[alg].kid, "typ": "at+jwt"}
    rejected(forge(header, at_claims()), BadSignature, keys=trusted)


def test_es256_signature_in_der_form(keys, trusted) -> None:
    """RFC 7518 §3.4 requires raw R || S; a DER signature (valid for OpenSSL) must not pass."""
    key = keys[Algorithm.ES256]
    header = {"alg": "ES256", "kid": key.kid, "typ": "at+jwt"}
    signing_input = f"{_segment(header)}.{_segment(at_claims())}".encode()
    der = key.private_key.sign(signing_input, ec.ECDSA(hashes.SHA256()))
    rejected(forge(header, at_claims(), signature=der), BadSignature, keys=trusted)


def test_es256_signature_with_zero_r_and_s(keys, trusted) -> None:
    key = keys[Algorithm.ES256]
    header = {"alg": "ES256", "kid": key.kid, "typ": "at+jwt"}
    rejected(forge(header, at_claims(), signature=bytes(64)), BadSignature, keys=trusted)
    assert encode_dss_signature(0, 0)  # the DER encoder accepts it; OpenSSL refuses it


def test_signature_truncated_by_one_byte(keys, trusted) -> None:
    key = keys[Algorithm.RS256]
    header = {"alg": "RS256", "kid": key.kid, "typ": "at+jwt"}
    signing_input = f"{_segment(header)}.{_segment(at_claims())}".encode()
    rejected(forge(header, at_claims(), signature=key.sign(signing_input)[:-1]), BadSignature, keys=trusted)


# -- structure (RFC 7515 §7.1, RFC 7519 §7.2, RFC 8725 §3.7) -------------------------------------------

def _valid(keys) -> str:
    return sign_jwt(claims=at_claims(), key=keys[Algorithm.ES256], typ="at+jwt")


@pytest.mark.parametrize("make", [
    lambda t: "",
    lambda t: "abc",
    lambda t: "a.b",
    lambda t: ".".join(t.split(".")[:2]),             # signature segment dropped entirely
    lambda t: t + ".",                                # four segments
    lambda t: t + ".x.y",                             # five segments: JWE shape
    lambda t: "..",
    lambda t: "." + t.split(".", 1)[1],               # empty header
    lambda t: t.split(".")[0] + ".." + t.split(".")[2],  # empty payload
    lambda t: "!!!.@@@.###",
    lambda t: t.split(".")[0][:-1] + "." + t.split(".", 1)[1],  # truncated header
    lambda t: t.split(".")[0] + "." + t.split(".")[1][:-3] + "." + t.split(".")[2],  # truncated payload
    lambda t: t.replace(".", " .", 1),
    lambda t: t + "\n",
    lambda t: " " + t,
    lambda t: t + "=",                                # padding
    lambda t: t.split(".")[0] + "==." + t.split(".", 1)[1],
    lambda t: t.replace("-", "+").replace("_", "/") if ("-" in t or "_" in t) else t[:-1] + "+",  # std alphabet
    lambda t: t[:-1] + "é",                           # non-ASCII
    lambda t: "Bearer " + t,
    lambda t: "A" * (MAX_TOKEN_CHARS + 1),
])
def test_garbage_and_truncated_segments(keys, trusted, make) -> None:
    rejected(make(_valid(keys)), MalformedJwt, keys=trusted)


@pytest.mark.parametrize("token", [None, b"a.b.c", 42, ["a", "b", "c"]])
def test_token_not_a_string(trusted, token) -> None:
    with pytest.raises(MalformedJwt):
        verify_jwt(token, keys=trusted, profile=AT, now=NOW)  # type: ignore[arg-type]


def test_non_canonical_base64_last_character(keys, trusted) -> None:
    """Unused low bits set: decodes to the same bytes as the canonical spelling, so it is refused."""
    token = _valid(keys)
    header, payload, signature = token.split(".")
    assert len(signature) % 4 == 2  # 64-byte ES256 signature → 86 characters
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    bumped = alphabet[alphabet.index(signature[-1]) + 1]
    rejected(f"{header}.{payload}.{signature[:-1]}{bumped}", MalformedJwt, keys=trusted)


def test_duplicate_member_in_payload(keys, trusted) -> None:
    """A validly signed payload with two "sub" members: parsers disagree on which wins (RFC 8725 §3.7)."""
    key = keys[Algorithm.ES256]
    body = canonical_json(at_claims())[:-1] + b',"sub":"user:admin"}'
    rejected(forge({"alg": "ES256", "kid": key.kid, "typ": "at+jwt"}, body, key=key), MalformedJwt, keys=trusted)


def test_duplicate_member_nested_in_payload(keys, trusted) -> None:
    key = keys[Algorithm.ES256]
    body = canonical_json(at_claims())[:-1] + b',"act":{"sub":"a","sub":"b"}}'
    rejected(forge({"alg": "ES256", "kid": key.kid, "typ": "at+jwt"}, body, key=key), MalformedJwt, keys=trusted)


def test_duplicate_member_in_header(keys, trusted) -> None:
    key = keys[Algorithm.ES256]
    header = b'{"alg":"ES256","alg":"none","kid":"%s","typ":"at+jwt"}' % key.kid.encode()
    rejected(forge(header, at_claims(), key=key), MalformedJwt, keys=trusted)


@pytest.mark.parametrize("body", [b'{"iss":"\xff\xfe"}', b"\xef\xbb\xbf{}", "{\"sub\":\"é\"}".encode("latin-1"),
                                  '{"sub":"x"}'.encode("utf-16")])
def test_payload_not_utf8(keys, trusted, body: bytes) -> None:
    key = keys[Algorithm.ES256]
    rejected(forge({"alg": "ES256", "kid": key.kid, "typ": "at+jwt"}, body, key=key), MalformedJwt, keys=trusted)


@pytest.mark.parametrize("body", [b"[1,2,3]", b'"claims"', b"null", b"42", b'{"a":1} {"b":2}', b'{"exp":NaN}',
                                  b"{'iss': 'x'}", b'{"a":1,}', b""])
def test_payload_not_a_json_object(keys, trusted, body: bytes) -> None:
    key = keys[Algorithm.ES256]
    if not body:
        token = _segment({"alg": "ES256", "kid": key.kid, "typ": "at+jwt"}) + "..sig"
    else:
        token = forge({"alg": "ES256", "kid": key.kid, "typ": "at+jwt"}, body, key=key)
    rejected(token, MalformedJwt, keys=trusted)


@pytest.mark.parametrize("header", [b"[]", b'"ES256"', b"{", b'{"alg":"ES256"}garbage', b"\xff"])
def test_header_not_a_json_object(keys, trusted, header: bytes) -> None:
    rejected(forge(header, at_claims(), key=keys[Algorithm.ES256]), MalformedJwt, keys=trusted)


def test_number_too_long_to_convert(keys, trusted) -> None:
    """int() refuses > 4300 digits with a bare ValueError; it must surface as MalformedJwt."""
    key = keys[Algorithm.ES256]
    body = b'{"exp":' + b"9" * 5000 + b"}"
    rejected(forge({"alg": "ES256", "kid": key.kid, "typ": "at+jwt"}, body, key=key), MalformedJwt, keys=trusted)


def test_deeply_nested_payload(keys, trusted) -> None:
    key = keys[Algorithm.ES256]
    body = b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}"
    rejected(forge({"alg": "ES256", "kid": key.kid, "typ": "at+jwt"}, body, key=key), MalformedJwt, keys=trusted)


def test_messages_carry_no_key_material(keys, trusted, attacker) -> None:
    """Across a spread of rejections, no message contains any public or private key member."""
    material = set()
    for key in (*keys.values(), attacker):
        material |= {v for k, v in key.public_jwk().items() if k in ("n", "x", "y")}
    tokens = [
        (forge({"alg": "HS256", "kid": keys[Algorithm.RS256].kid}, at_claims(), signature=b"x" * 32), AT),
        (forge({"alg": "ES256", "kid": keys[Algorithm.ES256].kid, "typ": "at+jwt", "jwk": attacker.public_jwk()},
               at_claims(), key=attacker), AT),
        (forge({"alg": "ES256", "kid": keys[Algorithm.ES256].kid, "typ": "at+jwt"}, at_claims(), key=attacker), AT),
        (sign_jwt(claims=at_claims(exp=NOW - 100), key=keys[Algorithm.RS256], typ="at+jwt"), AT),
        (sign_jwt(claims=at_claims(), key=keys[Algorithm.RS256], typ="at+jwt"), ID),
    ]
    for token, profile in tokens:
        with pytest.raises(JwtRejected) as info:
            verify_jwt(token, keys=trusted, profile=profile, now=NOW)
        text = str(info.value) + repr(info.value)
        assert not any(m[:16] in text for m in material)
