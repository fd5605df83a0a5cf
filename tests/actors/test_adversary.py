"""The adversary's forging tools produce what they claim (and nothing a verifier should accept):
an unsecured JWT, HS256 keyed with public-key bytes, a correctly signed token under a foreign kid."""

import hashlib
import hmac
import json

from actors.adversary import claims_of, forge_hmac_with_public_key, forge_unsecured, forge_with_own_key
from protocols.entropy import SeededEntropy
from protocols.jose.encoding import b64url_decode
from protocols.jose.jwks import JwkSet
from protocols.jose.keys import Algorithm, SigningKey

CLAIMS = {"iss": "https://idp.example", "sub": "auth0|john", "aud": "https://mcp.example/mcp", "exp": 2_000_000_000}


def test_unsecured_token_has_alg_none_and_no_signature():
    token = forge_unsecured(CLAIMS)
    header, claims = claims_of(token)
    assert header == {"alg": "none", "typ": "at+jwt"} and claims == CLAIMS and token.endswith(".")


def test_key_confusion_token_is_an_hmac_over_the_public_key_bytes():
    token = forge_hmac_with_public_key(CLAIMS, public_key_bytes=b"-----BEGIN PUBLIC KEY-----x", kid="k1")
    signing_input, _, signature = token.rpartition(".")
    expected = hmac.new(b"-----BEGIN PUBLIC KEY-----x", signing_input.encode(), hashlib.sha256).digest()
    assert b64url_decode(signature) == expected
    assert json.loads(b64url_decode(token.split(".")[0])) == {"alg": "HS256", "typ": "at+jwt", "kid": "k1"}


def test_own_key_token_verifies_only_with_the_attackers_key():
    key = SigningKey.generate(alg=Algorithm.ES256, entropy=SeededEntropy.for_actor(run_seed=1, actor="adv"),
                              created_at=0)
    token = forge_with_own_key(CLAIMS, key=key, kid="rotated-2025-02")
    signing_input, _, signature = token.rpartition(".")
    own = JwkSet.from_json({"keys": [{**key.public_jwk(), "kid": "rotated-2025-02"}]}).lookup("rotated-2025-02")
    assert own is not None and own.verify(signing_input.encode(), b64url_decode(signature))
    assert claims_of(token)[0]["kid"] == "rotated-2025-02"
