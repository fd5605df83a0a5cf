"""Signing keys, RFC 7638 thumbprints, deterministic generation and key-ring rotation."""

from __future__ import annotations

import ast
import pathlib

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from protocols.entropy import SeededEntropy
from protocols.jose.jwks import PRIVATE_MEMBERS
from protocols.jose.keys import (
    DETERMINISTIC_ES256, Algorithm, KeyRing, RetiredKey, SigningKey, jwk_thumbprint,
)

NOW = 1_736_150_400
ALGS = list(Algorithm)


def _entropy(seed: int = 1, actor: str = "idp") -> SeededEntropy:
    return SeededEntropy.for_actor(run_seed=seed, actor=actor)


@pytest.fixture(scope="module")
def keys_seed1() -> dict[Algorithm, SigningKey]:
    return {alg: SigningKey.generate(alg=alg, entropy=_entropy(1), created_at=NOW) for alg in ALGS}


@pytest.fixture(scope="module")
def keys_seed1_again() -> dict[Algorithm, SigningKey]:
    return {alg: SigningKey.generate(alg=alg, entropy=_entropy(1), created_at=NOW) for alg in ALGS}


@pytest.fixture(scope="module")
def keys_seed2() -> dict[Algorithm, SigningKey]:
    return {alg: SigningKey.generate(alg=alg, entropy=_entropy(2), created_at=NOW) for alg in ALGS}


# -- RFC 7638 ------------------------------------------------------------------------------------

RFC7638_RSA = {
    "kty": "RSA",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRX"
         "jBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaS"
         "qzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINH"
         "aQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}


def test_thumbprint_rfc7638_section_3_1_vector() -> None:
    assert jwk_thumbprint(RFC7638_RSA) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_thumbprint_ignores_optional_members() -> None:
    bare = {k: RFC7638_RSA[k] for k in ("kty", "n", "e")}
    assert jwk_thumbprint(bare) == jwk_thumbprint({**RFC7638_RSA, "use": "sig", "x5t": "zzz"})


def test_thumbprint_rfc8037_ed25519_vector() -> None:
    # RFC 8037 Appendix A.3.
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    assert jwk_thumbprint(jwk) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


@pytest.mark.parametrize("jwk", [{"kty": "XYZ"}, {"kty": "RSA", "n": "AQAB"}, {}, {"kty": 7},
                                 {"kty": "EC", "crv": "P-256", "x": "a", "y": 5}])
def test_thumbprint_refuses_unknown_or_incomplete_keys(jwk: dict) -> None:
    with pytest.raises(ValueError):
        jwk_thumbprint(jwk)


# -- deterministic generation ---------------------------------------------------------------------

@pytest.mark.parametrize("alg", ALGS)
def test_same_entropy_same_key(alg: Algorithm, keys_seed1, keys_seed1_again) -> None:
    a, b = keys_seed1[alg], keys_seed1_again[alg]
    assert a.kid == b.kid
    assert a.public_jwk() == b.public_jwk()
    assert a == b
    assert a.alg is alg and a.created_at == NOW


@pytest.mark.parametrize("alg", ALGS)
def test_different_seed_different_key(alg: Algorithm, keys_seed1, keys_seed2) -> None:
    assert keys_seed1[alg].kid != keys_seed2[alg].kid
    assert keys_seed1[alg].public_jwk() != keys_seed2[alg].public_jwk()


@pytest.mark.parametrize("alg", [Algorithm.ES256, Algorithm.EdDSA])
def test_different_actor_and_next_draw_differ(alg: Algorithm) -> None:
    stream = _entropy(1, "idp")
    first = SigningKey.generate(alg=alg, entropy=stream, created_at=NOW)
    second = SigningKey.generate(alg=alg, entropy=stream, created_at=NOW)
    other_actor = SigningKey.generate(alg=alg, entropy=_entropy(1, "as"), created_at=NOW)
    assert len({first.kid, second.kid, other_actor.kid}) == 3


def test_ec_key_derivation_matches_documented_rule() -> None:
    stream = _entropy(9)
    expected_scalar = int.from_bytes(_entropy(9).bytes(48), "big") % (
        0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551 - 1) + 1
    key = SigningKey.generate(alg=Algorithm.ES256, entropy=stream, created_at=NOW)
    assert key.private_key.private_numbers().private_value == expected_scalar


def test_rsa_key_is_2048_bits_with_standard_exponent(keys_seed1) -> None:
    public = keys_seed1[Algorithm.RS256].public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.key_size == 2048
    assert public.public_numbers().e == 65537


# -- JWK and signatures ---------------------------------------------------------------------------

@pytest.mark.parametrize("alg", ALGS)
def test_public_jwk_shape(alg: Algorithm, keys_seed1) -> None:
    key = keys_seed1[alg]
    jwk = key.public_jwk()
    assert not PRIVATE_MEMBERS.intersection(jwk)
    assert jwk["kid"] == key.kid == jwk_thumbprint(jwk)
    assert jwk["alg"] == alg.value and jwk["use"] == "sig"
    expected = {Algorithm.ES256: {"kty", "crv", "x", "y"}, Algorithm.RS256: {"kty", "n", "e"},
                Algorithm.EdDSA: {"kty", "crv", "x"}}[alg]
    assert set(jwk) == expected | {"kid", "alg", "use"}


@pytest.mark.parametrize("alg", [Algorithm.ES256, Algorithm.RS256])
def test_repr_has_no_private_material(alg: Algorithm, keys_seed1) -> None:
    key = keys_seed1[alg]
    numbers = key.private_key.private_numbers()
    secret = numbers.private_value if alg is Algorithm.ES256 else numbers.d
    text = repr(key)
    assert "private_key" not in text
    assert str(secret) not in text and format(secret, "x") not in text


@pytest.mark.parametrize("alg", ALGS)
def test_sign_produces_jws_signature_bytes(alg: Algorithm, keys_seed1) -> None:
    key = keys_seed1[alg]
    data = b"eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UifQ"
    signature = key.sign(data)
    public = key.public_key()
    if alg is Algorithm.ES256:
        assert len(signature) == 64  # RFC 7518 §3.4: R || S, 32 octets each
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        public.verify(der, data, ec.ECDSA(hashes.SHA256()))
    elif alg is Algorithm.RS256:
        assert len(signature) == 256
        public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    else:
        assert len(signature) == 64
        public.verify(signature, data)
    with pytest.raises(InvalidSignature):
        if alg is Algorithm.RS256:
            public.verify(signature, data + b"x", padding.PKCS1v15(), hashes.SHA256())
        elif alg is Algorithm.EdDSA:
            public.verify(signature, data + b"x")
        else:
            public.verify(der, data + b"x", ec.ECDSA(hashes.SHA256()))


@pytest.mark.parametrize("alg", ALGS)
def test_signatures_are_deterministic(alg: Algorithm, keys_seed1) -> None:
    if alg is Algorithm.ES256 and not DETERMINISTIC_ES256:
        pytest.skip("this OpenSSL build has no RFC 6979 ECDSA")
    assert keys_seed1[alg].sign(b"same input") == keys_seed1[alg].sign(b"same input")


def test_from_private_key_checks_the_algorithm() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(ValueError):
        SigningKey.from_private_key(private_key=ec_key, alg=Algorithm.RS256, created_at=NOW)
    with pytest.raises(ValueError):
        SigningKey.from_private_key(private_key=ec.generate_private_key(ec.SECP384R1()), alg=Algorithm.ES256,
                                    created_at=NOW)
    with pytest.raises(ValueError):
        SigningKey.from_private_key(private_key=ed25519.Ed25519PrivateKey.generate(), alg=Algorithm.ES256,
                                    created_at=NOW)
    wrapped = SigningKey.from_private_key(private_key=ec_key, alg=Algorithm.ES256, created_at=NOW)
    assert wrapped.kid == jwk_thumbprint(wrapped.public_jwk())


def test_short_rsa_keys_are_refused() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(ValueError, match="2048"):
        SigningKey.from_private_key(private_key=small, alg=Algorithm.RS256, created_at=NOW)


# -- key ring -------------------------------------------------------------------------------------

def _ec(n: int) -> SigningKey:
    return SigningKey.generate(alg=Algorithm.ES256, entropy=_entropy(100 + n), created_at=NOW + n)


def test_ring_starts_with_one_published_key() -> None:
    ring = KeyRing.start(_ec(0))
    assert ring.active == _ec(0)
    assert ring.jwks(now=NOW) == {"keys": [_ec(0).public_jwk()]}


def test_rotation_keeps_old_key_published_until_its_deadline() -> None:
    old, new = _ec(0), _ec(1)
    ring = KeyRing.start(old).rotate(new_key=new, now=NOW + 1000, retire_after=600)
    assert ring.active == new
    assert ring.retired == (RetiredKey(key=old, published_until=NOW + 1600),)
    kids = lambda t: [k["kid"] for k in ring.jwks(now=t)["keys"]]  # noqa: E731
    assert kids(NOW + 1000) == [new.kid, old.kid]  # active first
    assert kids(NOW + 1600) == [new.kid, old.kid]  # still published at the deadline
    assert kids(NOW + 1601) == [new.kid]


def test_multiple_rotations_order_and_pruning() -> None:
    k0, k1, k2, k3 = (_ec(i) for i in range(4))
    ring = KeyRing.start(k0).rotate(new_key=k1, now=NOW, retire_after=100)
    ring = ring.rotate(new_key=k2, now=NOW + 50, retire_after=200)  # k1 published until NOW + 250
    assert [k.kid for k in ring.published(now=NOW + 60)] == [k2.kid, k1.kid, k0.kid]
    assert ring.kids(now=NOW + 120) == {k2.kid, k1.kid}
    ring = ring.rotate(new_key=k3, now=NOW + 200, retire_after=100)  # k0's window has closed: pruned
    assert [r.key for r in ring.retired] == [k2, k1]
    assert [k.kid for k in ring.published(now=NOW + 200)] == [k3.kid, k2.kid, k1.kid]
    assert [k.kid for k in ring.published(now=NOW + 251)] == [k3.kid, k2.kid]


def test_rotation_refuses_bad_input() -> None:
    ring = KeyRing.start(_ec(0))
    with pytest.raises(ValueError):
        ring.rotate(new_key=_ec(1), now=NOW, retire_after=-1)
    with pytest.raises(ValueError):
        ring.rotate(new_key=_ec(0), now=NOW, retire_after=10)


# -- purity (DESIGN.md §1) ------------------------------------------------------------------------

FORBIDDEN_MODULES = {"trio", "httpx", "logging", "structlog", "time", "random", "sqlite3", "datetime",
                     "asyncio", "os", "secrets", "socket"}


def test_jose_package_is_sans_io() -> None:
    package = pathlib.Path(__file__).resolve().parents[3] / "protocols" / "jose"
    offenders = []
    for path in sorted(package.glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN_MODULES]
            if isinstance(node, ast.Attribute) and node.attr in {"now", "utcnow", "time", "urandom"} \
                    and isinstance(node.value, ast.Name) and node.value.id in {"datetime", "time", "os"}:
                offenders.append(f"{path.name}: {node.value.id}.{node.attr}")
    assert offenders == []
