"""UserInfo as an RFC 6750 bearer resource (OIDC Core §5.3)."""

import pytest

from protocols.http import HttpRequest, HttpResponse
from protocols.jose.jwt import sign_jwt
from protocols.oidc.userinfo import UserInfoRejected, parse_userinfo_response, userinfo_request
from tests.protocols.oidc.harness import ISSUER, NOW, call, full_login, key, make_provider, make_rp

USERINFO = ISSUER + "/userinfo"


@pytest.fixture(scope="module")
def logged_in():
    provider = make_provider()
    result, _ = full_login(provider, make_rp(provider))
    return provider, result


def challenge(handled):
    return handled.response.header("www-authenticate") or ""


def test_missing_token_is_401_with_realm_and_no_error(logged_in):
    provider, _ = logged_in
    for request in (HttpRequest.get(USERINFO),
                    HttpRequest.get(USERINFO, headers={"authorization": "Basic dXNlcjpwdw=="})):
        handled = call(provider, request)
        assert handled.response.status == 401
        assert challenge(handled) == f'Bearer realm="{ISSUER}"' and "error" not in challenge(handled)
        assert handled.outcome.reason == "missing_token"


def test_valid_token_by_get_and_post(logged_in):
    provider, result = logged_in
    get = call(provider, userinfo_request(url=USERINFO, access_token=result.tokens.access_token))
    assert get.response.status == 200 and get.response.header("cache-control") == "no-store"
    post = HttpRequest(method="POST", url=USERINFO, headers={"authorization": f"Bearer {result.tokens.access_token}"})
    assert call(provider, post).response.json()["sub"] == "u-sarah"


def invalid_token(provider, token, *, now=NOW):
    handled = call(provider, userinfo_request(url=USERINFO, access_token=token), now=now)
    assert handled.response.status == 401, handled.response.body
    assert challenge(handled).startswith(f'Bearer realm="{ISSUER}", error="invalid_token"')
    assert handled.response.json()["error"] == "invalid_token"
    return handled


def test_id_token_as_access_token_is_invalid_token(logged_in):
    provider, result = logged_in
    handled = invalid_token(provider, result.tokens.id_token)
    assert "wrong_token_type" in handled.outcome.details["description"]


def test_expired_access_token_is_invalid_token(logged_in):
    provider, result = logged_in
    invalid_token(provider, result.tokens.access_token, now=NOW + 900 + 31)


def test_tokens_for_another_audience_or_issuer_are_invalid_token(logged_in):
    provider, _ = logged_in
    base = {"iss": ISSUER, "sub": "u-sarah", "aud": USERINFO, "client_id": "sales-agent", "scope": "openid",
            "iat": NOW, "exp": NOW + 300, "jti": "forged"}
    op_key = provider.keyring.active
    invalid_token(provider, sign_jwt(claims={**base, "aud": "https://crm.acme.test"}, key=op_key, typ="at+jwt"))
    invalid_token(provider, sign_jwt(claims={**base, "iss": "https://evil.test"}, key=op_key, typ="at+jwt"))
    invalid_token(provider, sign_jwt(claims=base, key=key("intruder"), typ="at+jwt"))
    invalid_token(provider, "not.a.jwt")
    invalid_token(provider, "abc")


def test_token_without_openid_scope_is_insufficient_scope(logged_in):
    provider, _ = logged_in
    token = sign_jwt(claims={"iss": ISSUER, "sub": "u-sarah", "aud": USERINFO, "client_id": "sales-agent",
                             "scope": "email", "iat": NOW, "exp": NOW + 300, "jti": "scoped"},
                     key=provider.keyring.active, typ="at+jwt")
    handled = call(provider, userinfo_request(url=USERINFO, access_token=token))
    assert handled.response.status == 403 and 'error="insufficient_scope"' in challenge(handled)


@pytest.mark.parametrize("make_request", [
    lambda token: HttpRequest.get(f"{USERINFO}?access_token={token}"),
    lambda token: HttpRequest.form_post(url=USERINFO, params={"access_token": token}),
    lambda token: HttpRequest.get(f"{USERINFO}?access_token={token}", headers={"authorization": f"Bearer {token}"}),
    lambda token: HttpRequest(method="GET", url=USERINFO,
                              headers=(("authorization", f"Bearer {token}"), ("authorization", f"Bearer {token}"))),
    lambda token: HttpRequest.get(f"{USERINFO}?a=1&a=2", headers={"authorization": f"Bearer {token}"}),
])
def test_token_outside_the_authorization_header_is_invalid_request(logged_in, make_request):
    provider, result = logged_in
    handled = call(provider, make_request(result.tokens.access_token))
    assert handled.response.status == 400 and handled.response.json()["error"] == "invalid_request"
    assert 'error="invalid_request"' in challenge(handled)


def test_put_is_not_allowed(logged_in):
    provider, _ = logged_in
    assert call(provider, HttpRequest(method="PUT", url=USERINFO)).response.status == 405


def test_client_checks_sub_and_raises_remote_errors():
    ok = HttpResponse.json_body({"sub": "u-sarah", "name": "S"})
    assert parse_userinfo_response(ok, expected_subject="u-sarah")["name"] == "S"
    with pytest.raises(UserInfoRejected):
        parse_userinfo_response(ok, expected_subject="u-bob")
    from protocols.oauth.errors import InvalidToken

    with pytest.raises(InvalidToken):
        parse_userinfo_response(InvalidToken("expired").to_response(), expected_subject="u-sarah")
