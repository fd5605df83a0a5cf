"""Client authentication at the token endpoint: private_key_jwt (RFC 7523 §3, rfc7523bis) and
client_secret_basic (RFC 6749 §2.3.1)."""

import base64

import attrs
import pytest

from protocols.entropy import SeededEntropy
from protocols.jose.jwt import sign_jwt
from protocols.jose.keys import Algorithm
from protocols.oauth.client_auth import (
    JWT_BEARER_ASSERTION_TYPE, AssertionReplayCache, ClientAuthMethod, ClientRegistration, authenticate_client,
    basic_authorization, claimed_client_id, build_client_assertion, client_assertion_params, hash_client_secret,
)
from protocols.oauth.errors import InvalidClient, InvalidRequest
from tests.protocols.oidc.harness import NOW, jwks_of, key

ISSUER = "https://as.acme.test"
TOKEN_ENDPOINT = ISSUER + "/token"
SECRET = "p@ss:w%rd+&="

CLIENTS = {
    "agent": ClientRegistration(client_id="agent", name="Agent", redirect_uris=("https://a/cb",),
                                jwks=jwks_of(key("agent"), key("agent-ed", Algorithm.EdDSA))),
    "basic": ClientRegistration(client_id="basic", name="Basic", redirect_uris=("https://b/cb",),
                                auth_method=ClientAuthMethod.CLIENT_SECRET_BASIC,
                                client_secret_sha256=hash_client_secret(SECRET)),
}


def entropy() -> SeededEntropy:
    return SeededEntropy.for_actor(run_seed=5, actor="client")


def authenticate(form, *, authorization=None, cache=None, now=NOW, compat=False):
    return authenticate_client(form=form, authorization=authorization, lookup_client=CLIENTS.get, issuer=ISSUER,
                               token_endpoint=TOKEN_ENDPOINT, now=now,
                               replay_cache=cache if cache is not None else AssertionReplayCache(),
                               accept_token_endpoint_audience=compat)


def assertion_form(claims_override=None, *, signing_key=None, typ="client-authentication+jwt", drop=()):
    claims = {"iss": "agent", "sub": "agent", "aud": ISSUER, "iat": NOW, "exp": NOW + 60, "jti": "jti-1"}
    claims.update(claims_override or {})
    for name in drop:
        claims.pop(name)
    token = sign_jwt(claims=claims, key=signing_key or key("agent"), typ=typ)
    return {"client_assertion_type": JWT_BEARER_ASSERTION_TYPE, "client_assertion": token}


def test_private_key_jwt_round_trip():
    form = client_assertion_params(client_id="agent", audience=ISSUER, key=key("agent"), now=NOW, entropy=entropy())
    client = authenticate(form)
    assert client.client_id == "agent" and client.method is ClientAuthMethod.PRIVATE_KEY_JWT
    assert client.assertion_jti


def test_any_registered_key_works_and_untyped_assertions_are_accepted():
    assert authenticate(assertion_form(signing_key=key("agent-ed", Algorithm.EdDSA), typ=None)).client_id == "agent"


def test_single_element_aud_array_is_accepted():
    assert authenticate(assertion_form({"aud": [ISSUER]})).client_id == "agent"


@pytest.mark.parametrize(("override", "kwargs"), [
    ({"exp": NOW - 120}, {}),                                     # expired
    ({"aud": "https://elsewhere.test"}, {}),                       # wrong audience
    ({"aud": TOKEN_ENDPOINT}, {}),                                 # token endpoint needs the compat flag
    ({"aud": [ISSUER, "https://evil.test"]}, {}),                  # multi-valued audience
    ({"sub": "someone-else"}, {}),                                 # iss != sub
    ({"iss": "basic", "sub": "basic"}, {}),                        # claims another client
    ({"exp": NOW + 3600}, {}),                                     # lifetime beyond our cap
    ({}, {"signing_key": key("intruder")}),                        # key not registered for the client
    ({}, {"typ": "at+jwt"}),                                       # another kind of token
    ({}, {"drop": ("jti",)}),                                      # jti required (OIDC Core §9)
    ({}, {"drop": ("exp",)}),
])
def test_bad_client_assertions_are_invalid_client(override, kwargs):
    with pytest.raises(InvalidClient) as info:
        authenticate(assertion_form(override, **kwargs))
    assert info.value.status == 401
    response = info.value.to_response()
    assert response.status == 401 and response.header("www-authenticate")


def test_token_endpoint_audience_only_behind_the_compatibility_flag():
    assert authenticate(assertion_form({"aud": TOKEN_ENDPOINT}), compat=True).client_id == "agent"
    with pytest.raises(InvalidClient):
        authenticate(assertion_form({"aud": "https://elsewhere.test"}), compat=True)


def test_replayed_jti_is_refused_until_it_expires():
    cache = AssertionReplayCache()
    authenticate(assertion_form(), cache=cache)
    with pytest.raises(InvalidClient, match="already used"):
        authenticate(assertion_form(), cache=cache, now=NOW + 10)
    assert cache.size == 1
    cache.purge(now=NOW + 60 + 31)
    assert cache.size == 0


def test_id_token_presented_as_client_assertion_is_refused():
    id_token_like = sign_jwt(claims={"iss": "https://idp.test", "sub": "agent", "aud": ISSUER, "exp": NOW + 60,
                                     "iat": NOW, "jti": "x", "nonce": "n"}, key=key("agent"))
    form = {"client_id": "agent", "client_assertion_type": JWT_BEARER_ASSERTION_TYPE, "client_assertion": id_token_like}
    with pytest.raises(InvalidClient):
        authenticate(form)


@pytest.mark.parametrize("form", [
    {"client_assertion_type": "urn:example:other", "client_assertion": "a.b.c"},
    {"client_assertion_type": JWT_BEARER_ASSERTION_TYPE},
])
def test_malformed_assertion_parameters_are_invalid_request(form):
    with pytest.raises(InvalidRequest):
        authenticate(form)


@pytest.mark.parametrize("assertion", ["not-a-jwt", "a.b.c", "e30.e30.", "x" * 20000])
def test_garbage_assertions_are_invalid_client(assertion):
    with pytest.raises(InvalidClient):
        authenticate({"client_assertion_type": JWT_BEARER_ASSERTION_TYPE, "client_assertion": assertion})


def test_client_id_in_body_must_match_the_assertion():
    form = {**assertion_form(), "client_id": "basic"}
    with pytest.raises(InvalidClient):
        authenticate(form)


def test_client_secret_basic_round_trip_with_urlencoded_parts():
    header = basic_authorization("basic", SECRET)
    raw = base64.b64decode(header.split()[1]).decode()
    assert raw == "basic:p%40ss%3Aw%25rd%2B%26%3D"  # each part form-urlencoded before base64
    assert authenticate({}, authorization=header).method is ClientAuthMethod.CLIENT_SECRET_BASIC


@pytest.mark.parametrize("header", [
    basic_authorization("basic", "wrong"),
    basic_authorization("nobody", SECRET),
    basic_authorization("agent", SECRET),          # registered for private_key_jwt
    "Basic !!!not-base64!!!",
    "Basic " + base64.b64encode(b"no-colon").decode(),
    "Bearer some-token",
])
def test_bad_basic_credentials_are_invalid_client(header):
    with pytest.raises(InvalidClient):
        authenticate({}, authorization=header)


def test_basic_with_mismatched_body_client_id_is_refused():
    with pytest.raises(InvalidClient):
        authenticate({"client_id": "agent"}, authorization=basic_authorization("basic", SECRET))


def test_two_methods_at_once_is_invalid_request():
    with pytest.raises(InvalidRequest) as info:
        authenticate(assertion_form(), authorization=basic_authorization("basic", SECRET))
    assert info.value.status == 400
    with pytest.raises(InvalidRequest):
        authenticate({**assertion_form(), "client_secret": SECRET})


def test_no_authentication_and_client_secret_post_are_invalid_client():
    with pytest.raises(InvalidClient):
        authenticate({"client_id": "agent"})
    with pytest.raises(InvalidClient):
        authenticate({"client_id": "basic", "client_secret": SECRET})


def test_registration_requires_credentials_for_its_method_and_hides_the_secret():
    with pytest.raises(ValueError):
        ClientRegistration(client_id="x", name="x", redirect_uris=("https://x/cb",))
    with pytest.raises(ValueError):
        ClientRegistration(client_id="x", name="x", redirect_uris=("https://x/cb",),
                           auth_method=ClientAuthMethod.CLIENT_SECRET_BASIC)
    assert "client_secret_sha256" not in repr(CLIENTS["basic"])


def test_build_client_assertion_claims():
    from protocols.jose.jwt import verify_jwt
    from protocols.jose.profiles import TokenProfile

    token = build_client_assertion(client_id="agent", audience=ISSUER, key=key("agent"), now=NOW, entropy=entropy())
    verified = verify_jwt(token, keys=CLIENTS["agent"].jwks, now=NOW,
                          profile=TokenProfile.client_assertion(audience=ISSUER, client_id="agent"))
    assert verified.header["typ"] == "client-authentication+jwt"
    assert attrs.asdict(verified)["claims"].keys() >= {"iss", "sub", "aud", "exp", "iat", "jti"}
    assert verified.claims["exp"] - verified.claims["iat"] == 60


@pytest.mark.parametrize(("form", "authorization", "claimed"), [
    ({"client_id": "agent", "client_secret": "x"}, None, "agent"),
    ({}, basic_authorization("basic", SECRET), "basic"),
    (assertion_form({"iss": "stolen-agent"}), None, "stolen-agent"),
    ({"client_assertion": "not-a-jws"}, None, None),
    ({}, "Basic !!!", None),
    ({}, None, None),
    ({"client_id": "x" * 300}, None, "x" * 128),
], ids=["body", "basic", "assertion-iss", "garbage-assertion", "garbage-basic", "nothing", "truncated"])
def test_claimed_client_id_names_who_a_request_claims_to_be(form, authorization, claimed):
    """For the audit line of a refused request: what it claims, unverified, never raising."""
    assert claimed_client_id(form=form, authorization=authorization) == claimed
