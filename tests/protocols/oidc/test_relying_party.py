"""Relying-party checks: callback (state, RFC 9207 iss, error responses) and ID token validation
(OIDC Core §3.1.3.7)."""

import attrs
import pytest

from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest, HttpResponse
from protocols.jose.errors import (
    AlgorithmNotAllowed, BadSignature, ForbiddenClaim, IssuedInFuture, TokenExpired, UnknownKeyId, WrongAudience,
    WrongIssuer, WrongTokenType,
)
from protocols.jose.jwt import sign_jwt
from protocols.jose.keys import Algorithm, KeyRing
from protocols.jose.jwks import JwkSet
from protocols.oauth.errors import AccessDenied, InvalidGrant, LoginRequired, ServerError
from protocols.oauth.token_response import TokenResponse, TokenResponseRejected
from protocols.oidc.id_token import AuthenticationTooOld, NonceMismatch
from protocols.oidc.relying_party import CallbackRejected, IssuerMismatch, MissingCode, StateMismatch
from tests.protocols.oidc.harness import (
    AGENT_REDIRECT, ISSUER, NOW, add_query_params, full_login, key, make_provider, make_rp, provider_keys,
)


@pytest.fixture(scope="module")
def world():
    provider = make_provider()
    rp = make_rp(provider)
    pending = rp.start(entropy=SeededEntropy.for_actor(run_seed=1, actor="rp"), now=NOW, max_age=3600)
    return provider, rp, pending


def callback(**params):
    return add_query_params(AGENT_REDIRECT, {k: v for k, v in params.items() if v is not None})


def test_authorization_url_carries_state_nonce_and_s256(world):
    _, rp, pending = world
    assert pending.url.startswith(ISSUER + "/authorize?")
    for value in (pending.state, pending.nonce, "code_challenge_method=S256", "max_age=3600"):
        assert value in pending.url
    assert pending.code_verifier not in pending.url and pending.code_verifier not in repr(pending)


def test_good_callback_yields_the_code(world):
    _, rp, pending = world
    assert rp.parse_callback(pending, callback(code="c", state=pending.state, iss=ISSUER)) == "c"
    request = HttpRequest.get(callback(code="c", state=pending.state, iss=ISSUER))
    assert rp.parse_callback(pending, request) == "c"


@pytest.mark.parametrize(("params", "error"), [
    ({"code": "c", "state": "forged", "iss": ISSUER}, StateMismatch),
    ({"code": "c", "iss": ISSUER}, StateMismatch),
    ({"code": "c", "state": "STATE", "iss": "https://evil.test"}, IssuerMismatch),
    ({"code": "c", "state": "STATE"}, IssuerMismatch),                     # iss required: OP advertises it
    ({"state": "STATE", "iss": ISSUER}, MissingCode),
    ({"error": "access_denied", "state": "forged", "iss": ISSUER}, StateMismatch),   # state checked first
    ({"error": "access_denied", "state": "STATE", "iss": "https://evil.test"}, IssuerMismatch),
])
def test_bad_callbacks_are_rejected(world, params, error):
    _, rp, pending = world
    params = {k: (pending.state if v == "STATE" else v) for k, v in params.items()}
    with pytest.raises(error):
        rp.parse_callback(pending, callback(**params))


def test_callbacks_at_other_urls_or_with_duplicates_are_rejected(world):
    _, rp, pending = world
    with pytest.raises(CallbackRejected):
        rp.parse_callback(pending, f"https://evil.test/callback?code=c&state={pending.state}&iss={ISSUER}")
    with pytest.raises(CallbackRejected):
        rp.parse_callback(pending, callback(code="c", state=pending.state, iss=ISSUER) + "&code=d")


@pytest.mark.parametrize(("code", "error"), [
    ("access_denied", AccessDenied), ("login_required", LoginRequired), ("made_up", ServerError)])
def test_error_responses_raise_the_counterpart(world, code, error):
    _, rp, pending = world
    with pytest.raises(error):
        rp.parse_callback(pending, callback(error=code, error_description="no", state=pending.state, iss=ISSUER))


# ----------------------------------------------------------------------------- ID token


@pytest.fixture(scope="module")
def login():
    provider = make_provider()
    rp = make_rp(provider)
    result, _ = full_login(provider, rp)
    return provider, rp, result


def finish_with(provider, rp, result, *, signing_key=None, keys=None, now=NOW, typ=None, pending_changes=None,
                **claim_changes):
    """Re-sign the real ID token's claims with changes and run the RP's finish on it."""
    claims = {**result.id_token.claims, **claim_changes}
    claims = {k: v for k, v in claims.items() if v is not None}
    id_token = sign_jwt(claims=claims, key=signing_key or provider.keyring.active, typ=typ)
    response = TokenResponse(access_token="at", expires_in=60, id_token=id_token).to_response()
    pending = attrs.evolve(_pending_for(result), **(pending_changes or {}))
    return rp.finish(pending, response, keys=keys or provider_keys(provider), now=now)


def _pending_for(result):
    from protocols.oidc.relying_party import PendingAuthorization

    return PendingAuthorization(url="", state="s", nonce=result.id_token.nonce, code_verifier="v", issuer=ISSUER,
                                redirect_uri=AGENT_REDIRECT, max_age=None, created_at=NOW)


def test_resigned_token_is_accepted(login):
    provider, rp, result = login
    assert finish_with(provider, rp, result).id_token.subject == "u-sarah"


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"nonce": "replayed-nonce"}, NonceMismatch),
    ({"nonce": None}, NonceMismatch),
    ({"aud": "someone-else"}, WrongAudience),
    ({"aud": ["someone-else", "sales-agent"], "azp": None}, WrongAudience),   # multi-audience without azp
    ({"azp": "someone-else"}, WrongAudience),
    ({"iss": "https://evil.test"}, WrongIssuer),
    ({"now": NOW + 3600 + 31}, TokenExpired),
    ({"iat": NOW + 3600}, IssuedInFuture),
    ({"scope": "openid"}, ForbiddenClaim),                                     # access-token marker
    ({"typ": "at+jwt"}, WrongTokenType),
    ({"signing_key": key("op:https://impostor.test", Algorithm.RS256)}, UnknownKeyId),
    ({"signing_key": key("intruder"), "keys": JwkSet.from_json({"keys": [key("intruder").public_jwk()]})},
     AlgorithmNotAllowed),                                                     # ES256 where RS256 is expected
    ({"auth_time": NOW - 7200, "pending_changes": {"max_age": 600}}, AuthenticationTooOld),
    ({"auth_time": None, "pending_changes": {"max_age": 600}}, AuthenticationTooOld),
])
def test_id_token_validation_failures(login, kwargs, error):
    provider, rp, result = login
    with pytest.raises(error):
        finish_with(provider, rp, result, **kwargs)


def test_signature_from_a_key_with_the_same_kid_fails():
    provider = make_provider()
    impostor = make_provider(issuer="https://impostor.test")
    result, _ = full_login(provider, make_rp(provider))
    token = result.tokens.id_token
    other = full_login(impostor, make_rp(impostor))[0].tokens.id_token
    spliced = token.rsplit(".", 1)[0] + "." + other.rsplit(".", 1)[1]
    response = TokenResponse(access_token="at", expires_in=60, id_token=spliced).to_response()
    with pytest.raises(BadSignature):
        make_rp(provider).finish(_pending_for(result), response, keys=provider_keys(provider), now=NOW)


def test_unknown_nonce_when_none_was_sent(login):
    provider, rp, result = login
    with pytest.raises(NonceMismatch):
        finish_with(provider, rp, result, pending_changes={"nonce": None})


def test_token_errors_and_bad_responses(login):
    provider, rp, result = login
    pending = _pending_for(result)
    with pytest.raises(InvalidGrant):
        rp.finish(pending, InvalidGrant("used").to_response(), keys=provider_keys(provider), now=NOW)
    no_id_token = TokenResponse(access_token="at", expires_in=60).to_response()
    with pytest.raises(TokenResponseRejected):
        rp.finish(pending, no_id_token, keys=provider_keys(provider), now=NOW)
    cached = HttpResponse.json_body({"access_token": "a", "token_type": "Bearer", "id_token": "x"})
    with pytest.raises(TokenResponseRejected):
        rp.finish(pending, cached, keys=provider_keys(provider), now=NOW)


def test_rotated_out_key_no_longer_verifies(login):
    provider, rp, result = login
    ring = KeyRing.start(key("op:next", Algorithm.RS256))
    with pytest.raises(UnknownKeyId):
        finish_with(provider, rp, result, keys=JwkSet.from_ring(ring, now=NOW))
