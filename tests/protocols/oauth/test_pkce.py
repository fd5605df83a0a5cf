"""RFC 7636 PKCE: the Appendix B vector, S256-only policy, and the RFC 9700 §2.1.1 downgrade defence."""

import pytest

from protocols.entropy import SeededEntropy
from protocols.oauth import pkce
from protocols.oauth.errors import InvalidGrant, InvalidRequest

APPENDIX_B_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
APPENDIX_B_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_rfc7636_appendix_b_vector():
    assert pkce.s256_challenge(APPENDIX_B_VERIFIER) == APPENDIX_B_CHALLENGE
    pkce.verify(code_verifier=APPENDIX_B_VERIFIER, code_challenge=APPENDIX_B_CHALLENGE)


def test_generated_pair_is_43_chars_deterministic_and_verifies():
    pair = pkce.PkcePair.generate(SeededEntropy.for_actor(run_seed=1, actor="rp"))
    again = pkce.PkcePair.generate(SeededEntropy.for_actor(run_seed=1, actor="rp"))
    assert len(pair.verifier) == 43 and pair == again and pair.method == "S256"
    assert pair.verifier not in repr(pair)
    pkce.verify(code_verifier=pair.verifier, code_challenge=pair.challenge)
    assert pkce.validate_challenge(code_challenge=pair.challenge, code_challenge_method="S256") == pair.challenge


@pytest.mark.parametrize(("challenge", "method"), [
    (None, "S256"),                      # missing challenge
    (APPENDIX_B_CHALLENGE, None),        # omitted method means plain (§4.3)
    (APPENDIX_B_CHALLENGE, "plain"),     # plain refused
    (APPENDIX_B_CHALLENGE, "s256"),      # method names are case-sensitive
    ("too-short", "S256"),               # not a SHA-256 digest
    (APPENDIX_B_CHALLENGE + "=", "S256"),
])
def test_authorization_request_challenge_refused(challenge, method):
    with pytest.raises(InvalidRequest) as info:
        pkce.validate_challenge(code_challenge=challenge, code_challenge_method=method)
    assert info.value.status == 400


@pytest.mark.parametrize(("verifier", "challenge"), [
    ("wrong-verifier-wrong-verifier-wrong-verifier-x", APPENDIX_B_CHALLENGE),  # mismatch
    (APPENDIX_B_VERIFIER, None),         # verifier without a recorded challenge (downgrade)
    (None, APPENDIX_B_CHALLENGE),        # challenge recorded, verifier withheld (downgrade)
    (None, None),                        # no PKCE at all
    ("short", pkce.s256_challenge("short")),  # below 43 characters (§4.1)
    ("a" * 129, pkce.s256_challenge("a" * 129)),
    ("é" * 43, APPENDIX_B_CHALLENGE),    # outside the unreserved set
])
def test_token_request_verifier_refused(verifier, challenge):
    with pytest.raises(InvalidGrant) as info:
        pkce.verify(code_verifier=verifier, code_challenge=challenge)
    assert info.value.error == "invalid_grant" and info.value.status == 400
