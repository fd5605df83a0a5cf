"""JWK Set parsing, algorithm binding and key lookup (RFC 7517 §5, RFC 7518 §6, RFC 8725 §3.1/§3.4)."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from protocols.entropy import SeededEntropy
from protocols.jose.encoding import b64url_encode
from protocols.jose.errors import UnknownKeyId
from protocols.jose.jwks import MAX_KEYS, PRIVATE_MEMBERS, BoundKey, InvalidJwkSet, JwkSet
from protocols.jose.keys import Algorithm, KeyRing, SigningKey

NOW = 1_736_150_400


@pytest.fixture(scope="module")
def keys() -> dict[Algorithm, SigningKey]:
    return {alg: SigningKey.generate(alg=alg, entropy=SeededEntropy.for_actor(run_seed=3, actor="jwks"),
                                     created_at=NOW) for alg in Algorithm}


@pytest.fixture(scope="module")
def jwks_doc(keys) -> dict:
    return {"keys": [keys[alg].public_jwk() for alg in Algorithm]}


def _without(jwk: dict, *names: str) -> dict:
    return {k: v for k, v in jwk.items() if k not in names}


def test_round_trip_binds_each_key_to_its_algorithm(keys, jwks_doc) -> None:
    jwk_set = JwkSet.from_json(jwks_doc)
    assert jwk_set.kids() == frozenset(k.kid for k in keys.values())
    assert jwk_set.ignored == ()
    assert len(jwk_set) == 3
    types = {Algorithm.ES256: ec.EllipticCurvePublicKey, Algorithm.RS256: rsa.RSAPublicKey,
             Algorithm.EdDSA: ed25519.Ed25519PublicKey}
    for alg, key in keys.items():
        bound_alg, public = jwk_set.key_for(key.kid)
        assert bound_alg is alg
        assert isinstance(public, types[alg])
    assert {j["kid"]: j for j in jwk_set.to_json()["keys"]} == {j["kid"]: j for j in jwks_doc["keys"]}


@pytest.mark.parametrize("alg", list(Algorithm))
def test_algorithm_inferred_from_key_type_when_alg_absent(keys, alg: Algorithm) -> None:
    jwk_set = JwkSet.from_json({"keys": [_without(keys[alg].public_jwk(), "alg", "use")]})
    assert jwk_set.key_for(keys[alg].kid)[0] is alg


def test_json_text_and_bytes_are_accepted(jwks_doc) -> None:
    text = json.dumps(jwks_doc)
    assert JwkSet.from_json(text).kids() == JwkSet.from_json(text.encode()).kids()


@pytest.mark.parametrize("doc", [[], "[]", {}, {"keys": {}}, {"keys": "x"}, b'{"keys": [], "keys": []}', b"\xff",
                                 "{not json", b'{"keys": [], "n": ' + b"1" * 5000 + b"}",
                                 b'{"keys": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"])
def test_documents_that_are_not_key_sets_are_refused(doc) -> None:
    with pytest.raises(InvalidJwkSet):
        JwkSet.from_json(doc)


@pytest.mark.parametrize("member", sorted(PRIVATE_MEMBERS))
def test_private_members_fail_the_whole_set(keys, jwks_doc, member: str) -> None:
    leaked = {**keys[Algorithm.ES256].public_jwk(), member: "AAAA"}
    with pytest.raises(InvalidJwkSet, match="private") as info:
        JwkSet.from_json({"keys": [*jwks_doc["keys"], leaked]})
    assert "AAAA" not in str(info.value)


def test_private_members_of_a_real_key_are_refused(keys) -> None:
    numbers = keys[Algorithm.ES256].private_key.private_numbers()
    jwk = {**keys[Algorithm.ES256].public_jwk(), "d": b64url_encode(numbers.private_value.to_bytes(32, "big"))}
    with pytest.raises(InvalidJwkSet) as info:
        JwkSet.from_json({"keys": [jwk]})
    assert jwk["d"] not in str(info.value)


def _unusable_variants(keys) -> dict[str, object]:
    ec_jwk = keys[Algorithm.ES256].public_jwk()
    rsa_jwk = keys[Algorithm.RS256].public_jwk()
    ed_jwk = keys[Algorithm.EdDSA].public_jwk()
    x = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers().x
    off_curve = {**ec_jwk, "x": b64url_encode(x.to_bytes(32, "big")), "y": b64url_encode((12345).to_bytes(32, "big"))}
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key().public_numbers()
    return dict([
        ("unknown kty", {**ec_jwk, "kty": "XYZ"}),
        ("missing kty", _without(ec_jwk, "kty")),
        ("P-384 curve", {**ec_jwk, "crv": "P-384"}),
        ("X25519 curve", {**ed_jwk, "crv": "X25519"}),
        ("Ed448 curve", {**ed_jwk, "crv": "Ed448"}),
        ("missing y", _without(ec_jwk, "y")),
        ("missing n", _without(rsa_jwk, "n")),
        ("missing kid", _without(ec_jwk, "kid")),
        ("empty kid", {**ec_jwk, "kid": ""}),
        ("numeric kid", {**ec_jwk, "kid": 7}),
        ("padded base64", {**ec_jwk, "x": ec_jwk["x"] + "="}),
        ("standard alphabet", {**ed_jwk, "x": ed_jwk["x"].replace("-", "+").replace("_", "/") + "+"}),
        ("short EC coordinate", {**ec_jwk, "x": b64url_encode(b"\x01" * 31)}),
        ("off-curve point", off_curve),
        ("short Ed25519 key", {**ed_jwk, "x": b64url_encode(b"\x01" * 31)}),
        ("1024-bit RSA", {**rsa_jwk, "n": b64url_encode(small.n.to_bytes(128, "big"))}),
        ("even RSA exponent", {**rsa_jwk, "e": b64url_encode((65536).to_bytes(3, "big"))}),
        ("encryption key", {**ec_jwk, "use": "enc"}),
        ("key_ops without verify", {**ec_jwk, "key_ops": ["encrypt"]}),
        ("HS256 alg", {**rsa_jwk, "alg": "HS256"}),
        ("RS384 alg", {**rsa_jwk, "alg": "RS384"}),
        ("alg does not match key type", {**rsa_jwk, "alg": "ES256"}),
        ("not an object", "just a string"),
    ])


UNUSABLE = ("unknown kty", "missing kty", "P-384 curve", "X25519 curve", "Ed448 curve", "missing y", "missing n",
            "missing kid", "empty kid", "numeric kid", "padded base64", "standard alphabet", "short EC coordinate",
            "off-curve point", "short Ed25519 key", "1024-bit RSA", "even RSA exponent", "encryption key",
            "key_ops without verify", "HS256 alg", "RS384 alg", "alg does not match key type", "not an object")


def test_unusable_keys_are_ignored_not_fatal(keys) -> None:
    variants = _unusable_variants(keys)
    good = keys[Algorithm.EdDSA].public_jwk()
    assert set(variants) == set(UNUSABLE)
    jwk_set = JwkSet.from_json({"keys": [*variants.values(), good]})
    assert jwk_set.kids() == {good["kid"]}
    assert len(jwk_set.ignored) == len(variants)
    for reason in jwk_set.ignored:  # reasons never echo key material
        assert good["x"] not in reason


@pytest.mark.parametrize("label", UNUSABLE)
def test_unusable_keys_fail_a_strict_set(keys, label: str) -> None:
    jwk = _unusable_variants(keys)[label]
    with pytest.raises(InvalidJwkSet):
        JwkSet.from_json({"keys": [jwk]}, strict=True)


def test_off_curve_key_with_our_kid_cannot_be_selected(keys) -> None:
    off_curve = _unusable_variants(keys)["off-curve point"]
    jwk_set = JwkSet.from_json({"keys": [off_curve]})
    with pytest.raises(UnknownKeyId):
        jwk_set.key_for(off_curve["kid"])


def test_shared_kid_drops_every_key_that_uses_it(keys) -> None:
    ec_jwk = keys[Algorithm.ES256].public_jwk()
    impostor = {**keys[Algorithm.EdDSA].public_jwk(), "kid": ec_jwk["kid"]}
    rsa_jwk = keys[Algorithm.RS256].public_jwk()
    jwk_set = JwkSet.from_json({"keys": [ec_jwk, impostor, rsa_jwk]})
    assert jwk_set.kids() == {rsa_jwk["kid"]}
    assert any("shared" in reason for reason in jwk_set.ignored)
    with pytest.raises(InvalidJwkSet):
        JwkSet.from_json({"keys": [ec_jwk, impostor]}, strict=True)


def test_too_many_keys_is_refused(keys) -> None:
    jwk = keys[Algorithm.EdDSA].public_jwk()
    with pytest.raises(InvalidJwkSet):
        JwkSet.from_json({"keys": [jwk] * (MAX_KEYS + 1)})


@pytest.mark.parametrize("kid", ["nope", "", "../../dev/null", "' OR 1=1--", None, 42, ["x"]])
def test_key_for_unknown_kid(jwks_doc, kid) -> None:
    with pytest.raises(UnknownKeyId) as info:
        JwkSet.from_json(jwks_doc).key_for(kid)
    assert type(info.value) is UnknownKeyId
    if isinstance(kid, str) and kid:
        assert kid not in str(info.value)


def test_kid_lookup_is_exact_and_case_sensitive(keys, jwks_doc) -> None:
    jwk_set = JwkSet.from_json(jwks_doc)
    kid = keys[Algorithm.ES256].kid
    for variant in (kid.lower(), kid.upper(), kid + " ", " " + kid, kid[:-1]):
        if variant != kid:
            assert jwk_set.lookup(variant) is None


def test_from_ring_follows_rotation(keys) -> None:
    old = keys[Algorithm.ES256]
    new = SigningKey.generate(alg=Algorithm.ES256, entropy=SeededEntropy.for_actor(run_seed=4, actor="jwks"),
                              created_at=NOW)
    ring = KeyRing.start(old).rotate(new_key=new, now=NOW, retire_after=300)
    assert JwkSet.from_ring(ring, now=NOW + 300).kids() == {old.kid, new.kid}
    assert JwkSet.from_ring(ring, now=NOW + 301).kids() == {new.kid}
    assert JwkSet.from_json(ring.jwks(now=NOW)).kids() == JwkSet.from_ring(ring, now=NOW).kids()


def test_from_keys_refuses_duplicates_and_mismatched_binding(keys) -> None:
    key = keys[Algorithm.ES256]
    bound = BoundKey(kid=key.kid, alg=key.alg, public_key=key.public_key())
    with pytest.raises(InvalidJwkSet):
        JwkSet.from_keys([bound, bound])
    with pytest.raises(ValueError):
        BoundKey(kid="x", alg=Algorithm.RS256, public_key=key.public_key())


@pytest.mark.parametrize("alg", list(Algorithm))
def test_bound_key_verify_never_raises(keys, alg: Algorithm) -> None:
    key = keys[alg]
    bound = JwkSet.from_json({"keys": [key.public_jwk()]}).lookup(key.kid)
    data = b"header.payload"
    assert bound.verify(data, key.sign(data))
    for bad in (b"", b"\x00" * 64, key.sign(data)[:-1], key.sign(data) + b"\x00", key.sign(b"other")):
        assert bound.verify(data, bad) is False
