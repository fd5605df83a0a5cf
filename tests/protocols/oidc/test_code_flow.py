"""The full authorization code flow, relying party core against provider core, no I/O."""

import json

from joserfc import jwt as joserfc_jwt
from joserfc.jwk import KeySet

from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest
from protocols.jose.keys import Algorithm
from protocols.oidc.authentication import totp
from protocols.oidc.provider import Decision
from protocols.oidc.userinfo import parse_userinfo_response, userinfo_request
from tests.protocols.oidc.harness import (
    AGENT_REDIRECT, ISSUER, NOW, SARAH_TOTP, Browser, call, full_login, hosts, key, make_provider, make_rp,
    provider_keys, query_of, sarah_login,
)


def test_full_code_flow_with_mfa_custom_claims_and_userinfo():
    provider = make_provider()
    rp = make_rp(provider)
    result, _ = full_login(provider, rp)
    claims = result.id_token.claims
    assert claims["iss"] == ISSUER and claims["sub"] == "u-sarah" and claims["aud"] == "sales-agent"
    assert claims["azp"] == "sales-agent" and claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["auth_time"] == NOW and claims["exp"] == NOW + 3600 and claims["iat"] == NOW
    assert claims["name"] == "Sarah Johnson" and claims["email"] == "sarah@acme.test" and claims["email_verified"]
    assert claims["role"] == "sales_rep" and claims["territory"] == "EMEA"
    assert claims["sid"] and claims["jti"] and claims["nonce"]
    assert result.id_token.kid == provider.keyring.active.kid
    assert result.tokens.scope == ("openid", "profile", "email") and result.tokens.expires_in == 900

    handled = call(provider, userinfo_request(url=rp.metadata.userinfo_endpoint,
                                              access_token=result.tokens.access_token), now=NOW + 60)
    assert handled.outcome.event == "userinfo.served"
    info = parse_userinfo_response(handled.response, expected_subject="u-sarah")
    assert info == {"sub": "u-sarah", "name": "Sarah Johnson", "email": "sarah@acme.test", "email_verified": True,
                    "role": "sales_rep", "territory": "EMEA"}


def test_id_token_verifies_with_an_independent_jose_library():
    provider = make_provider()
    result, _ = full_login(provider, make_rp(provider))
    jwks = call(provider, HttpRequest.get(provider.metadata.jwks_uri)).response.json()
    token = joserfc_jwt.decode(result.tokens.id_token, KeySet.import_key_set(jwks), algorithms=["RS256"])
    assert token.header["kid"] == provider.keyring.active.kid and token.claims["sub"] == "u-sarah"
    access = joserfc_jwt.decode(result.tokens.access_token, KeySet.import_key_set(jwks), algorithms=["RS256"])
    assert access.header["typ"] == "at+jwt" and access.claims["aud"] == ISSUER + "/userinfo"
    assert access.claims["client_id"] == "sales-agent" and "nonce" not in access.claims


def test_outcomes_name_each_step_and_carry_the_minted_secrets():
    provider = make_provider()
    rp = make_rp(provider)
    entropy = SeededEntropy.for_actor(run_seed=3, actor="rp")
    pending = rp.start(entropy=entropy, now=NOW)
    browser = Browser()
    world = hosts(provider)
    page = browser.get(world, pending.url, now=NOW)
    back = browser.submit_login(world, page, username="sarah", password="correct horse battery staple",
                                otp=totp(SARAH_TOTP, now=NOW), now=NOW)
    requested, login = browser.outcomes
    assert requested.event == "auth.login_requested" and requested.client_id == "sales-agent"
    assert login.event == "auth.login_succeeded" and login.decision is Decision.ALLOW
    assert login.subject == "u-sarah" and login.details["amr"] == ["pwd", "otp", "mfa"]
    code = query_of(back.header("location"))["code"]
    assert code in login.secrets and browser.cookies["idp.acme.test"].split("=", 1)[1] in login.secrets
    assert code not in repr(login)
    token = call(provider, rp.token_request(pending, code=code, entropy=entropy, now=NOW))
    body = token.response.json()
    assert token.outcome.event == "token.issued" and token.outcome.subject == "u-sarah"
    assert set(token.outcome.secrets) == {body["access_token"], body["id_token"]}
    assert body["access_token"] not in json.dumps(dict(token.outcome.details))


def test_single_sign_on_reuses_the_session_without_a_login_page():
    provider = make_provider()
    rp = make_rp(provider)
    browser = Browser()
    pending, back = sarah_login(provider, rp, browser=browser)
    second = rp.start(entropy=SeededEntropy.for_actor(run_seed=9, actor="rp"), now=NOW + 600)
    response = browser.get(hosts(provider), second.url, now=NOW + 600)
    assert response.status == 302 and browser.outcomes[-1].event == "code.issued"
    assert rp.parse_callback(second, response.header("location"))


def test_prompt_login_and_max_age_force_a_new_login():
    provider = make_provider()
    rp = make_rp(provider)
    browser = Browser()
    sarah_login(provider, rp, browser=browser)
    for start in ({"prompt": "login"}, {"max_age": 60}):
        pending = rp.start(entropy=SeededEntropy.for_actor(run_seed=9, actor="rp"), now=NOW + 600, **start)
        assert browser.get(hosts(provider), pending.url, now=NOW + 600).status == 200   # the login page
        assert browser.outcomes[-1].event == "auth.login_requested"


def test_max_age_is_checked_by_the_relying_party_too():
    provider = make_provider()
    rp = make_rp(provider)
    entropy = SeededEntropy.for_actor(run_seed=3, actor="rp")
    pending, back = sarah_login(provider, rp, entropy=entropy, max_age=300)
    code = rp.parse_callback(pending, back.header("location"))
    response = call(provider, rp.token_request(pending, code=code, entropy=entropy, now=NOW)).response
    assert rp.finish(pending, response, keys=provider_keys(provider), now=NOW).id_token.auth_time == NOW


def test_prompt_none_without_a_session_is_login_required():
    provider = make_provider()
    rp = make_rp(provider)
    pending = rp.start(entropy=SeededEntropy.for_actor(run_seed=1, actor="rp"), now=NOW, prompt="none")
    handled = call(provider, HttpRequest.get(pending.url))
    params = query_of(handled.response.header("location"))
    assert params["error"] == "login_required" and params["state"] == pending.state and params["iss"] == ISSUER
    assert handled.outcome.event == "auth.request_rejected" and handled.outcome.reason == "login_required"


def test_same_seed_gives_byte_identical_tokens():
    first, _ = full_login(make_provider(seed=11), make_rp(make_provider(seed=11)))
    second, _ = full_login(make_provider(seed=11), make_rp(make_provider(seed=11)))
    assert first.tokens.id_token == second.tokens.id_token
    assert first.tokens.access_token == second.tokens.access_token


def test_key_rotation_new_kid_and_old_tokens_still_verify():
    provider = make_provider()
    rp = make_rp(provider)
    old, _ = full_login(provider, rp)
    new_key = key("op:rotated", Algorithm.RS256)
    outcome = provider.rotate_key(new_key, now=NOW + 100, retire_after=3600 + 60)
    assert outcome.event == "key.rotated" and outcome.details["new_kid"] == new_key.kid
    fresh, _ = full_login(provider, rp, now=NOW + 200)
    assert fresh.id_token.kid == new_key.kid != old.id_token.kid
    keys = provider_keys(provider, now=NOW + 200)
    assert keys.kids() == {new_key.kid, old.id_token.kid}
    from protocols.oidc.id_token import validate_id_token

    assert validate_id_token(old.tokens.id_token, issuer=ISSUER, client_id="sales-agent", keys=keys, now=NOW + 200,
                             nonce=old.id_token.nonce).subject == "u-sarah"


def test_revoke_subject_ends_sessions_and_tokens():
    provider = make_provider()
    rp = make_rp(provider)
    result, _ = full_login(provider, rp)
    outcome = provider.revoke_subject("u-sarah", now=NOW + 10)
    assert outcome.event == "session.revoked" and outcome.details["sessions"] == 1
    assert result.tokens.access_token and result.id_token.jti in provider.revoked_jtis
    handled = call(provider, userinfo_request(url=rp.metadata.userinfo_endpoint,
                                              access_token=result.tokens.access_token), now=NOW + 20)
    assert handled.response.status == 401 and 'error="invalid_token"' in handled.response.header("www-authenticate")


def test_redirect_goes_to_the_registered_uri():
    provider = make_provider()
    pending, back = sarah_login(provider, make_rp(provider))
    assert back.header("location").startswith(AGENT_REDIRECT + "?")
