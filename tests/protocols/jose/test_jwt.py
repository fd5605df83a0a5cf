"""sign_jwt / verify_jwt: round trips, profiles, typing, time rules, rotation, interop, internals."""

from __future__ import annotations

import json
import warnings

import jwt as pyjwt
import pytest
from joserfc import jwt as joserfc_jwt
from joserfc.jwk import KeySet

from protocols.entropy import SeededEntropy
from protocols.http import MalformedBody, parse_json
from protocols.jose import encoding
from protocols.jose.encoding import (
    Base64UrlError, StrictJsonError, b64url_decode, b64url_encode, canonical_json, decode_segment, strict_json,
)
from protocols.jose.jwks import JwkSet
from protocols.jose.jwt import (
    ALL_REJECTIONS, ForbiddenClaim, IssuedInFuture, JwtRejected, LifetimeTooLong, MalformedJwt, MissingClaim,
    TokenExpired, TokenNotYetValid, TokenProfile, UnknownKeyId, VerifiedJwt, WrongAudience, WrongTokenType,
    sign_jwt, verify_jwt,
)
from protocols.jose.keys import DETERMINISTIC_ES256, Algorithm, KeyRing, SigningKey
from protocols.jose.profiles import MAX_LEEWAY, normalize_typ

NOW = 1_736_150_400
IDP = "https://idp.trustbench.example"
AS = "https://as.trustbench.example"
RS = "https://mcp.crm.trustbench.example"
CLIENT = "agent-sales-7"


@pytest.fixture(scope="module")
def keys() -> dict[Algorithm, SigningKey]:
    return {alg: SigningKey.generate(alg=alg, entropy=SeededEntropy.for_actor(run_seed=5, actor="jwt"),
                                     created_at=NOW) for alg in Algorithm}


@pytest.fixture(scope="module")
def ring(keys) -> KeyRing:
    return KeyRing.start(keys[Algorithm.RS256])


def _set(*keys: SigningKey) -> JwkSet:
    return JwkSet.from_json({"keys": [k.public_jwk() for k in keys]})


def at_claims(**overrides) -> dict:
    claims = {"iss": AS, "aud": RS, "sub": "user:alice", "client_id": CLIENT, "iat": NOW, "exp": NOW + 300,
              "jti": "at-1", "scope": "crm.read"}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def id_claims(**overrides) -> dict:
    claims = {"iss": IDP, "aud": CLIENT, "sub": "user:alice", "iat": NOW, "exp": NOW + 300, "nonce": "n-1"}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


PROFILE_CASES = {
    "id_token": (lambda: TokenProfile.id_token(issuer=IDP, client_id=CLIENT), None, id_claims()),
    "access_token": (lambda: TokenProfile.access_token(issuer=AS, audience=RS), "at+jwt", at_claims()),
    "client_assertion": (lambda: TokenProfile.client_assertion(audience=AS, client_id=CLIENT),
                         "client-authentication+jwt",
                         {"iss": CLIENT, "sub": CLIENT, "aud": AS, "exp": NOW + 60, "iat": NOW, "jti": "ca-1"}),
    "id_jag": (lambda: TokenProfile.id_jag(issuer=IDP, audience=AS), "oauth-id-jag+jwt",
               {"iss": IDP, "sub": "user:alice", "aud": AS, "client_id": CLIENT, "jti": "jag-1", "exp": NOW + 300,
                "iat": NOW, "scope": "crm.read"}),
    "security_event": (lambda: TokenProfile.security_event(issuer=IDP, audience=AS), "secevent+jwt",
                       {"iss": IDP, "aud": AS, "iat": NOW, "jti": "set-1",
                        "events": {"https://schemas.openid.net/secevent/caep/event-type/session-revoked": {}}}),
    "logout_token": (lambda: TokenProfile.logout_token(issuer=IDP, client_id=CLIENT), "logout+jwt",
                     {"iss": IDP, "aud": CLIENT, "iat": NOW, "exp": NOW + 120, "jti": "lo-1", "sid": "s-1",
                      "events": {"http://schemas.openid.net/event/backchannel-logout": {}}}),
}


# -- round trips ----------------------------------------------------------------------------------

@pytest.mark.parametrize("alg", list(Algorithm))
@pytest.mark.parametrize("kind", list(PROFILE_CASES))
def test_round_trip_every_profile_and_algorithm(keys, alg: Algorithm, kind: str) -> None:
    make_profile, typ, claims = PROFILE_CASES[kind]
    token = sign_jwt(claims=claims, key=keys[alg], typ=typ)
    verified = verify_jwt(token, keys=_set(*keys.values()), profile=make_profile(), now=NOW + 10)
    assert isinstance(verified, VerifiedJwt)
    assert verified.claims == claims
    assert verified.kid == keys[alg].kid and verified.alg == alg.value
    expected_header = {"alg": alg.value, "kid": keys[alg].kid} | ({"typ": typ} if typ else {})
    assert verified.header == expected_header


@pytest.mark.parametrize("kind", list(PROFILE_CASES))
def test_every_kind_is_refused_by_every_other_profile(keys, kind: str) -> None:
    """RFC 8725 §3.12: the kinds are mutually exclusive."""
    _, typ, claims = PROFILE_CASES[kind]
    token = sign_jwt(claims=claims, key=keys[Algorithm.ES256], typ=typ)
    jwk_set = _set(keys[Algorithm.ES256])
    for other, (make_profile, _, _) in PROFILE_CASES.items():
        if other == kind:
            continue
        with pytest.raises(JwtRejected):
            verify_jwt(token, keys=jwk_set, profile=make_profile(), now=NOW + 10)


def test_compact_serialization_is_deterministic_and_canonical(keys) -> None:
    key = keys[Algorithm.EdDSA]
    claims = {"b": 1, "a": "ü", "c": [1, {"z": 0, "y": 1}]}
    token = sign_jwt(claims=claims, key=key, typ="at+jwt")
    header_segment, payload_segment, signature_segment = token.split(".")
    assert b64url_decode(header_segment) == b'{"alg":"EdDSA","kid":"%s","typ":"at+jwt"}' % key.kid.encode()
    assert b64url_decode(payload_segment) == '{"a":"ü","b":1,"c":[1,{"y":1,"z":0}]}'.encode()
    assert "=" not in token
    assert token == sign_jwt(claims=dict(reversed(claims.items())), key=key, typ="at+jwt")


@pytest.mark.parametrize("alg", list(Algorithm))
def test_same_inputs_same_token(keys, alg: Algorithm) -> None:
    if alg is Algorithm.ES256 and not DETERMINISTIC_ES256:
        pytest.skip("no RFC 6979 ECDSA in this OpenSSL build")
    assert sign_jwt(claims=at_claims(), key=keys[alg], typ="at+jwt") == sign_jwt(claims=at_claims(), key=keys[alg],
                                                                                  typ="at+jwt")


def test_extra_headers(keys) -> None:
    key = keys[Algorithm.ES256]
    token = sign_jwt(claims=at_claims(), key=key, typ="at+jwt", extra_headers={"cty": "x"})
    assert verify_jwt(token, keys=_set(key), profile=TokenProfile.access_token(issuer=AS, audience=RS),
                      now=NOW).header["cty"] == "x"
    for reserved in ("alg", "kid", "typ", "crit", "b64"):
        with pytest.raises(ValueError):
            sign_jwt(claims=at_claims(), key=key, extra_headers={reserved: "none"})


def test_claims_must_be_json(keys) -> None:
    with pytest.raises(ValueError):
        sign_jwt(claims={"exp": float("nan")}, key=keys[Algorithm.ES256])


# -- interop --------------------------------------------------------------------------------------

@pytest.mark.parametrize("alg", list(Algorithm))
def test_joserfc_verifies_our_tokens_from_the_jwks(keys, alg: Algorithm) -> None:
    ring = KeyRing.start(keys[alg])
    claims = at_claims()
    token = sign_jwt(claims=claims, key=keys[alg], typ="at+jwt")
    key_set = KeySet.import_key_set(json.loads(json.dumps(ring.jwks(now=NOW))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joserfc flags "EdDSA" as deprecated by RFC 9864
        decoded = joserfc_jwt.decode(token, key_set, algorithms=[alg.value])
    assert decoded.claims == claims
    assert decoded.header["kid"] == keys[alg].kid


@pytest.mark.parametrize("alg", list(Algorithm))
def test_pyjwt_verifies_our_tokens_and_we_verify_pyjwt_tokens(keys, alg: Algorithm) -> None:
    key = keys[alg]
    ours = sign_jwt(claims=at_claims(), key=key, typ="at+jwt")
    decoded = pyjwt.decode(ours, key.public_key(), algorithms=[alg.value], options={"verify_exp": False},
                           audience=RS, issuer=AS)
    assert decoded == at_claims()
    theirs = pyjwt.encode(at_claims(), key.private_key, algorithm=alg.value, headers={"kid": key.kid, "typ": "at+jwt"})
    verified = verify_jwt(theirs, keys=_set(key), profile=TokenProfile.access_token(issuer=AS, audience=RS), now=NOW)
    assert verified.claims == at_claims()


# -- rotation -------------------------------------------------------------------------------------

def test_rotation_overlap_then_unknown_kid(keys) -> None:
    old = keys[Algorithm.ES256]
    new = SigningKey.generate(alg=Algorithm.ES256, entropy=SeededEntropy.for_actor(run_seed=6, actor="jwt"),
                              created_at=NOW + 100)
    profile = TokenProfile.access_token(issuer=AS, audience=RS)
    ring = KeyRing.start(old)
    token = sign_jwt(claims=at_claims(iat=NOW + 90, exp=NOW + 390), key=ring.active, typ="at+jwt")
    ring = ring.rotate(new_key=new, now=NOW + 100, retire_after=300 + profile.leeway)
    fresh = sign_jwt(claims=at_claims(iat=NOW + 100, exp=NOW + 400), key=ring.active, typ="at+jwt")
    for t in (NOW + 100, NOW + 300, NOW + 410):  # overlap: both verify against the published set
        published = JwkSet.from_json(ring.jwks(now=t))
        assert verify_jwt(token, keys=published, profile=profile, now=t).kid == old.kid
        assert verify_jwt(fresh, keys=published, profile=profile, now=t).kid == new.kid
    after = NOW + 100 + 300 + profile.leeway + 1
    published = JwkSet.from_json(ring.jwks(now=after))
    assert published.kids() == {new.kid}
    with pytest.raises(UnknownKeyId):
        verify_jwt(token, keys=published, profile=profile, now=after)


# -- typing ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt", "Application/AT+JWT"])
def test_access_token_typ_spellings(keys, typ: str) -> None:
    token = sign_jwt(claims=at_claims(), key=keys[Algorithm.ES256], typ=typ)
    verify_jwt(token, keys=_set(keys[Algorithm.ES256]), profile=TokenProfile.access_token(issuer=AS, audience=RS),
               now=NOW)


@pytest.mark.parametrize("typ", [None, "JWT", "jwt", "application/jwt"])
def test_id_token_accepts_absent_or_jwt_typ(keys, typ) -> None:
    token = sign_jwt(claims=id_claims(), key=keys[Algorithm.RS256], typ=typ)
    verify_jwt(token, keys=_set(keys[Algorithm.RS256]), profile=TokenProfile.id_token(issuer=IDP, client_id=CLIENT),
               now=NOW)


@pytest.mark.parametrize("typ", [None, "JWT", "client-authentication+jwt", "application/client-authentication+jwt"])
def test_client_assertion_typed_or_untyped(keys, typ) -> None:
    claims = PROFILE_CASES["client_assertion"][2]
    token = sign_jwt(claims=claims, key=keys[Algorithm.EdDSA], typ=typ)
    verify_jwt(token, keys=_set(keys[Algorithm.EdDSA]), profile=TokenProfile.client_assertion(audience=AS), now=NOW)


@pytest.mark.parametrize("typ", [None, "JWT", "text/at+jwt", "at+jwt ", "secevent+jwt", "jose", "JOSE+JSON"])
def test_access_token_wrong_typ(keys, typ: str | None) -> None:
    token = sign_jwt(claims=at_claims(), key=keys[Algorithm.ES256], typ=typ)
    with pytest.raises(WrongTokenType):
        verify_jwt(token, keys=_set(keys[Algorithm.ES256]),
                   profile=TokenProfile.access_token(issuer=AS, audience=RS), now=NOW)


def test_normalize_typ() -> None:
    assert normalize_typ("AT+JWT") == normalize_typ("application/at+jwt") == "application/at+jwt"
    assert normalize_typ("text/plain") == "text/plain"


# -- time rules -----------------------------------------------------------------------------------

def _verify_at(keys, claims: dict, now: int, **profile_args) -> VerifiedJwt:
    token = sign_jwt(claims=claims, key=keys[Algorithm.ES256], typ="at+jwt")
    profile = TokenProfile.access_token(issuer=AS, audience=RS, **profile_args)
    return verify_jwt(token, keys=_set(keys[Algorithm.ES256]), profile=profile, now=now)


def test_exp_boundary_with_leeway(keys) -> None:
    claims = at_claims(exp=NOW + 300)
    _verify_at(keys, claims, NOW + 329)
    with pytest.raises(TokenExpired):
        _verify_at(keys, claims, NOW + 330)
    _verify_at(keys, claims, NOW + 299, leeway=0)
    with pytest.raises(TokenExpired):
        _verify_at(keys, claims, NOW + 300, leeway=0)


def test_nbf_and_iat_boundaries(keys) -> None:
    _verify_at(keys, at_claims(nbf=NOW + 30), NOW)
    with pytest.raises(TokenNotYetValid):
        _verify_at(keys, at_claims(nbf=NOW + 31), NOW)
    _verify_at(keys, at_claims(iat=NOW + 30), NOW)
    with pytest.raises(IssuedInFuture):
        _verify_at(keys, at_claims(iat=NOW + 31), NOW)


def test_float_numeric_dates_are_accepted(keys) -> None:
    _verify_at(keys, at_claims(exp=NOW + 300.5, iat=NOW - 0.25, nbf=NOW + 0.0), NOW)


@pytest.mark.parametrize("claim,value", [("exp", "1736150700"), ("exp", True), ("exp", None), ("iat", [NOW]),
                                         ("nbf", {"t": 1}), ("iat", None), ("nbf", None), ("exp", 1e400)])
def test_numeric_dates_must_be_numbers(keys, claim: str, value) -> None:
    claims = at_claims()
    claims[claim] = value
    raw = b64url_encode(json.dumps(claims).replace("Infinity", "1e400").encode())
    key = keys[Algorithm.ES256]
    header = b64url_encode(canonical_json({"alg": "ES256", "kid": key.kid, "typ": "at+jwt"}))
    signing_input = f"{header}.{raw}"
    token = f"{signing_input}.{b64url_encode(key.sign(signing_input.encode()))}"
    with pytest.raises(MalformedJwt):
        verify_jwt(token, keys=_set(key), profile=TokenProfile.access_token(issuer=AS, audience=RS), now=NOW)


def test_lifetime_cap_uses_now_without_iat(keys) -> None:
    _verify_at(keys, at_claims(exp=NOW + 300), NOW, max_lifetime=300)
    with pytest.raises(LifetimeTooLong):
        _verify_at(keys, at_claims(exp=NOW + 301), NOW, max_lifetime=300)
    with pytest.raises(LifetimeTooLong):  # without iat, exp − now counts
        profile = TokenProfile(name="x", typ="at+jwt", issuer=AS, audience=RS, max_lifetime=300)
        key = keys[Algorithm.ES256]
        token = sign_jwt(claims=at_claims(iat=None, exp=NOW + 400), key=key, typ="at+jwt")
        verify_jwt(token, keys=_set(key), profile=profile, now=NOW)


def test_security_event_rules(keys) -> None:
    make_profile, typ, claims = PROFILE_CASES["security_event"]
    key = keys[Algorithm.ES256]
    later = NOW + 86_400 * 365  # SETs have no exp: still valid (replay is the receiver's jti check)
    verify_jwt(sign_jwt(claims=claims, key=key, typ=typ), keys=_set(key), profile=make_profile(), now=later)
    with pytest.raises(ForbiddenClaim):
        verify_jwt(sign_jwt(claims={**claims, "exp": NOW + 60}, key=key, typ=typ), keys=_set(key),
                   profile=make_profile(), now=NOW)
    with pytest.raises(MissingClaim):
        verify_jwt(sign_jwt(claims={k: v for k, v in claims.items() if k != "events"}, key=key, typ=typ),
                   keys=_set(key), profile=make_profile(), now=NOW)
    aged = TokenProfile.security_event(issuer=IDP, audience=AS, max_age=600)
    verify_jwt(sign_jwt(claims=claims, key=key, typ=typ), keys=_set(key), profile=aged, now=NOW + 630)
    with pytest.raises(LifetimeTooLong):
        verify_jwt(sign_jwt(claims=claims, key=key, typ=typ), keys=_set(key), profile=aged, now=NOW + 631)


def test_missing_exp_is_a_missing_claim(keys) -> None:
    with pytest.raises(MissingClaim):
        _verify_at(keys, at_claims(exp=None), NOW)


# -- audience -------------------------------------------------------------------------------------

def test_audience_array_membership(keys) -> None:
    assert _verify_at(keys, at_claims(aud=["https://other.example", RS]), NOW).claims["aud"][1] == RS
    with pytest.raises(WrongAudience):
        _verify_at(keys, at_claims(aud=["https://other.example"]), NOW)
    for bad in ([], [RS, 7], 7, {"aud": RS}):
        with pytest.raises(MalformedJwt):
            _verify_at(keys, at_claims(aud=bad), NOW)


def test_id_token_authorized_party(keys) -> None:
    key = keys[Algorithm.RS256]
    profile = TokenProfile.id_token(issuer=IDP, client_id=CLIENT)
    check = lambda claims: verify_jwt(sign_jwt(claims=claims, key=key), keys=_set(key), profile=profile,  # noqa: E731
                                      now=NOW)
    check(id_claims(aud=[CLIENT, "other"], azp=CLIENT))
    check(id_claims(azp=CLIENT))
    with pytest.raises(WrongAudience):
        check(id_claims(aud=[CLIENT, "other"]))
    with pytest.raises(WrongAudience):
        check(id_claims(azp="other"))


def test_single_audience_accepts_one_element_array(keys) -> None:
    make_profile, typ, claims = PROFILE_CASES["client_assertion"]
    key = keys[Algorithm.ES256]
    verify_jwt(sign_jwt(claims={**claims, "aud": [AS]}, key=key, typ=typ), keys=_set(key), profile=make_profile(),
               now=NOW)


# -- profile construction -------------------------------------------------------------------------

def test_profile_validation() -> None:
    with pytest.raises(ValueError):
        TokenProfile(name="x", typ=None, issuer=None, audience=None, leeway=MAX_LEEWAY + 1)
    with pytest.raises(ValueError):
        TokenProfile(name="x", typ=None, issuer=None, audience=None, leeway=-1)
    with pytest.raises(ValueError):
        TokenProfile(name="x", typ=None, issuer=None, audience=None, algorithms=frozenset())
    with pytest.raises(ValueError):
        TokenProfile(name="x", typ=None, issuer=None, audience=None, algorithms={"HS256"})
    with pytest.raises(ValueError):
        TokenProfile(name="x", typ=None, issuer=None, audience=None, required_claims={"a"}, forbidden_claims={"a"})
    with pytest.raises(ValueError):
        TokenProfile(name="x", typ=None, issuer=None, audience=None, allow_untyped=True)
    with pytest.raises(ValueError):
        TokenProfile(name="x", typ=None, issuer=None, audience=None, max_lifetime=0)
    profile = TokenProfile.access_token(issuer=AS, audience=RS)
    assert profile.typ == "at+jwt" and profile.leeway == 30
    assert profile.required_claims == {"iss", "exp", "aud", "sub", "client_id", "iat", "jti"}
    assert "nonce" in profile.forbidden_claims
    assert TokenProfile.id_token(issuer=IDP, client_id=CLIENT).forbidden_claims >= {"client_id", "scope"}


# -- header memo ----------------------------------------------------------------------------------

def test_header_memo_never_skips_signature_or_typ(keys) -> None:
    key = keys[Algorithm.ES256]
    jwk_set = _set(key)
    at_profile = TokenProfile.access_token(issuer=AS, audience=RS)
    token = sign_jwt(claims=at_claims(), key=key, typ="at+jwt")
    verify_jwt(token, keys=jwk_set, profile=at_profile, now=NOW)
    assert len(jwk_set._header_memo) == 1
    # Same header bytes, other profile: the typ rule runs again.
    id_profile = TokenProfile(name="id_token", typ=None, issuer=AS, audience=RS)
    with pytest.raises(WrongTokenType):
        verify_jwt(token, keys=jwk_set, profile=id_profile, now=NOW)
    # Same header bytes, forged payload: the signature is still checked.
    header, _, signature = token.split(".")
    forged = f"{header}.{b64url_encode(canonical_json(at_claims(sub='admin')))}.{signature}"
    from protocols.jose.jwt import BadSignature
    with pytest.raises(BadSignature):
        verify_jwt(forged, keys=jwk_set, profile=at_profile, now=NOW)
    # Mutating a result does not leak into the next verification.
    result = verify_jwt(token, keys=jwk_set, profile=at_profile, now=NOW)
    result.header["alg"] = "none"
    assert verify_jwt(token, keys=jwk_set, profile=at_profile, now=NOW).header["alg"] == "ES256"


def test_header_memo_is_bounded(keys) -> None:
    key = keys[Algorithm.EdDSA]
    jwk_set = _set(key)
    profile = TokenProfile.access_token(issuer=AS, audience=RS)
    for i in range(300):
        token = sign_jwt(claims=at_claims(), key=key, typ="at+jwt", extra_headers={"n": i})
        verify_jwt(token, keys=jwk_set, profile=profile, now=NOW)
    assert 0 < len(jwk_set._header_memo) <= 128


def test_unauthenticated_headers_are_not_memoized(keys) -> None:
    key = keys[Algorithm.EdDSA]
    jwk_set = _set(key)
    token = sign_jwt(claims=at_claims(), key=key, typ="at+jwt")
    header, payload, _ = token.split(".")
    with pytest.raises(JwtRejected):
        verify_jwt(f"{header}.{payload}.{b64url_encode(bytes(64))}", keys=jwk_set,
                   profile=TokenProfile.access_token(issuer=AS, audience=RS), now=NOW)
    assert jwk_set._header_memo == {}


# -- encoding internals ---------------------------------------------------------------------------

JSON_CORPUS = [b'{"a":1}', b' {"a":1} ', b'{"a":1,"a":2}', b'{"a":{"b":1,"b":1}}', b'[{"x":1,"x":1}]', b"\xff{}",
               b'{"a":"\xc3\xa9"}', b"{}", b"", b"{", b'{"a":1}x', b"\xef\xbb\xbf{}", b"[1,2]", b'"s"', b"1e5",
               b'{"a":[1,{"b":{"c":[{"d":1,"d":2}]}}]}', b'{"a" : 1 ,\n "b":2}', b'{"\\u0061":1,"a":2}']


@pytest.mark.parametrize("raw", JSON_CORPUS)
def test_strict_json_agrees_with_parse_json(raw: bytes) -> None:
    try:
        expected = parse_json(raw)
    except MalformedBody:
        with pytest.raises(StrictJsonError):
            strict_json(raw)
    else:
        assert strict_json(raw) == expected


@pytest.mark.parametrize("raw", [b"NaN", b'{"exp":Infinity}', b"-Infinity"])
def test_strict_json_refuses_non_json_constants(raw: bytes) -> None:
    with pytest.raises(StrictJsonError):
        strict_json(raw)


B64_CORPUS = ["", "QQ", "QUI", "QUJD", "QR", "QUJ", "QQ=", "QQ==", "Q", "QU+D", "QU/D", "QU-_", "QU D", "QU.D",
              "QU\nD", "QUJDRA", "QUJDRB", "__8", "__9", "_-8"]


@pytest.mark.parametrize("text", B64_CORPUS)
def test_decoders_agree(text: str, monkeypatch) -> None:
    def run() -> bytes | str:
        try:
            return decode_segment(text.encode())
        except Base64UrlError:
            return "error"
    first = run()
    monkeypatch.setattr(encoding, "urlsafe_decode", encoding._binascii_decode)
    assert run() == first
    if first != "error":
        assert b64url_encode(first) == text  # canonical: exactly one accepted spelling


def test_rejections_have_distinct_stable_reasons() -> None:
    reasons = [cls.reason for cls in ALL_REJECTIONS]
    assert len(set(reasons)) == len(reasons) == 16
    assert all(issubclass(cls, JwtRejected) for cls in ALL_REJECTIONS)
    assert MalformedJwt().message == "malformed"
