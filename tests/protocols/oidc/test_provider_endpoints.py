"""Hostile HTTP input to every provider endpoint: exact error code and status, never a 5xx."""

import pytest

from protocols.entropy import SeededEntropy
from protocols.http import MAX_BODY_BYTES, HttpRequest
from protocols.jose.jwt import sign_jwt
from protocols.oauth.authorization_code import add_query
from protocols.oauth.client_auth import JWT_BEARER_ASSERTION_TYPE, basic_authorization
from protocols.oidc.authentication import totp
from protocols.oidc.provider import Decision
from protocols.oidc.userinfo import userinfo_request
from tests.protocols.oidc.harness import (
    AGENT_REDIRECT, BASIC_SECRET, BOB_PASSWORD, ISSUER, NOW, OTHER_REDIRECT, SARAH_PASSWORD, SARAH_TOTP, Browser,
    call, full_login, hosts, key, make_provider, make_rp, query_of, sarah_login,
)

TOKEN = ISSUER + "/token"


# ----------------------------------------------------------------------------- authorize


def authorize_url(**changes):
    provider = make_provider()
    pending = make_rp(provider).start(entropy=SeededEntropy.for_actor(run_seed=1, actor="rp"), now=NOW)
    params = {**query_of(pending.url), **changes}
    params = {k: v for k, v in params.items() if v is not None}
    return provider, add_query(ISSUER + "/authorize", params), pending


@pytest.mark.parametrize("changes", [
    {"client_id": "nobody"},
    {"client_id": None},
    {"redirect_uri": "https://evil.test/callback"},
    {"redirect_uri": AGENT_REDIRECT + "/"},
    {"redirect_uri": None},
])
def test_authorize_unknown_client_or_bad_redirect_is_not_redirected(changes):
    provider, url, _ = authorize_url(**changes)
    handled = call(provider, HttpRequest.get(url))
    assert handled.response.status == 400 and handled.response.header("location") is None
    assert handled.outcome.reason == "invalid_request" and handled.outcome.details["redirected"] is False


def test_authorize_duplicate_parameter_is_not_redirected():
    provider, url, _ = authorize_url()
    handled = call(provider, HttpRequest.get(url + "&redirect_uri=https%3A%2F%2Fevil.test%2Fcb"))
    assert handled.response.status == 400 and handled.response.header("location") is None


@pytest.mark.parametrize(("changes", "error"), [
    ({"code_challenge": None}, "invalid_request"),
    ({"code_challenge_method": None}, "invalid_request"),
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"scope": "profile email"}, "invalid_scope"),
    ({"scope": "openid crm:admin"}, "invalid_scope"),
    ({"prompt": "none login"}, "invalid_request"),
    ({"max_age": "a-while"}, "invalid_request"),
])
def test_authorize_errors_redirect_with_state_and_iss(changes, error):
    provider, url, pending = authorize_url(**changes)
    handled = call(provider, HttpRequest.get(url))
    assert handled.response.status == 302
    params = query_of(handled.response.header("location"))
    assert params == {"error": error, "error_description": params["error_description"], "state": pending.state,
                      "iss": ISSUER}
    assert handled.outcome.event == "auth.request_rejected" and handled.outcome.decision is Decision.DENY


# ----------------------------------------------------------------------------- login


def login_page(provider, **changes):
    rp = make_rp(provider)
    pending = rp.start(entropy=SeededEntropy.for_actor(run_seed=1, actor="rp"), now=NOW)
    browser = Browser()
    return browser, browser.get(hosts(provider), pending.url, now=NOW), pending


@pytest.mark.parametrize(("username", "password", "otp", "reason"), [
    ("sarah", "wrong", None, "bad_password"),
    ("sarah", SARAH_PASSWORD, None, "otp_required"),
    ("sarah", SARAH_PASSWORD, "000000", "bad_otp"),
    ("nobody", "whatever", None, "unknown_user"),
])
def test_failed_logins_rerender_the_page(username, password, otp, reason):
    provider = make_provider()
    browser, page, _ = login_page(provider)
    response = browser.submit_login(hosts(provider), page, username=username, password=password, otp=otp, now=NOW)
    assert response.status == 401 and response.header("location") is None and response.header("set-cookie") is None
    outcome = browser.outcomes[-1]
    assert outcome.event == "auth.login_failed" and outcome.reason == reason and outcome.decision is Decision.DENY
    assert b"Invalid credentials" in response.body or b"one-time code" in response.body


def test_otp_cannot_be_replayed_for_a_second_login():
    provider = make_provider()
    sarah_login(provider, make_rp(provider))
    browser, page, _ = login_page(provider)
    response = browser.submit_login(hosts(provider), page, username="sarah", password=SARAH_PASSWORD,
                                    otp=totp(SARAH_TOTP, now=NOW), now=NOW + 5)
    assert response.status == 401 and browser.outcomes[-1].reason == "bad_otp"


def test_too_many_failures_end_the_transaction_with_access_denied():
    provider = make_provider()
    browser, page, pending = login_page(provider)
    for _ in range(4):
        assert browser.submit_login(hosts(provider), page, username="sarah", password="x", otp=None,
                                    now=NOW).status == 401
    final = browser.submit_login(hosts(provider), page, username="sarah", password="x", otp=None, now=NOW)
    params = query_of(final.header("location"))
    assert params["error"] == "access_denied" and params["state"] == pending.state and params["iss"] == ISSUER
    again = browser.submit_login(hosts(provider), page, username="sarah", password=SARAH_PASSWORD,
                                 otp=totp(SARAH_TOTP, now=NOW), now=NOW)
    assert again.status == 400 and browser.outcomes[-1].reason == "unknown_transaction"


def test_step_up_client_refuses_password_only_users():
    provider = make_provider()
    rp = make_rp(provider, client_id="mfa-app", redirect_uri=OTHER_REDIRECT, signing_key=key("mfa-app"))
    pending = rp.start(entropy=SeededEntropy.for_actor(run_seed=1, actor="rp"), now=NOW)
    browser = Browser()
    page = browser.get(hosts(provider), pending.url, now=NOW)
    response = browser.submit_login(hosts(provider), page, username="bob", password=BOB_PASSWORD, otp=None, now=NOW)
    assert response.status == 401 and browser.outcomes[-1].reason == "mfa_not_enrolled"


def test_password_session_must_step_up_for_an_mfa_client():
    provider = make_provider()
    browser = Browser()
    bob = make_rp(provider)
    pending = bob.start(entropy=SeededEntropy.for_actor(run_seed=1, actor="rp"), now=NOW)
    page = browser.get(hosts(provider), pending.url, now=NOW)
    assert browser.submit_login(hosts(provider), page, username="bob", password=BOB_PASSWORD, otp=None,
                                now=NOW).status == 302
    mfa = make_rp(provider, client_id="mfa-app", redirect_uri=OTHER_REDIRECT, signing_key=key("mfa-app"))
    pending = mfa.start(entropy=SeededEntropy.for_actor(run_seed=2, actor="rp"), now=NOW + 10)
    assert browser.get(hosts(provider), pending.url, now=NOW + 10).status == 200   # login page again


@pytest.mark.parametrize("request_", [
    HttpRequest.form_post(url=ISSUER + "/login", params={"txn": "forged", "username": "sarah", "password": "x"}),
    HttpRequest.form_post(url=ISSUER + "/login", params={}),
    HttpRequest(method="POST", url=ISSUER + "/login", headers={"content-type": "application/json"}, body=b"{}"),
    HttpRequest(method="POST", url=ISSUER + "/login",
                headers={"content-type": "application/x-www-form-urlencoded"}, body=b"txn=a&txn=b"),
])
def test_login_post_garbage_is_400(request_):
    handled = call(make_provider(), request_)
    assert handled.response.status == 400 and handled.outcome.event == "auth.login_failed"


def test_login_with_missing_fields_keeps_the_transaction():
    provider = make_provider()
    browser, page, _ = login_page(provider)
    from protocols.oidc.authentication import parse_login_page

    txn = parse_login_page(page.body.decode()).hidden["txn"]
    handled = call(provider, HttpRequest.form_post(url=ISSUER + "/login", params={"txn": txn, "username": "sarah"}))
    assert handled.response.status == 400 and handled.outcome.reason == "incomplete_form"


# ----------------------------------------------------------------------------- token endpoint


def issued_code(provider, *, client="sales-agent"):
    """A fresh code for Sarah, plus the pending authorization it answers."""
    entropy = SeededEntropy.for_actor(run_seed=3, actor="rp")
    rp = make_rp(provider)
    pending, back = sarah_login(provider, rp, entropy=entropy)
    return rp, pending, rp.parse_callback(pending, back.header("location"))


def assertion(client_id="sales-agent", *, signing_key=None, now=NOW, jti="j1", **claims):
    body = {"iss": client_id, "sub": client_id, "aud": ISSUER, "iat": now, "exp": now + 60, "jti": jti, **claims}
    return sign_jwt(claims=body, key=signing_key or key("agent"), typ="client-authentication+jwt")


def token_form(pending, issued, **changes):
    form = {"grant_type": "authorization_code", "code": issued, "redirect_uri": pending.redirect_uri,
            "code_verifier": pending.code_verifier, "client_assertion_type": JWT_BEARER_ASSERTION_TYPE,
            "client_assertion": assertion()}
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def post_token(provider, form, *, now=NOW, headers=None):
    return call(provider, HttpRequest.form_post(url=TOKEN, params=form, headers=headers), now=now)


def expect(handled, status, error):
    assert handled.response.status == status, handled.response.body
    assert handled.response.json()["error"] == error
    assert handled.response.header("cache-control") == "no-store"
    assert handled.outcome.decision is Decision.DENY and handled.outcome.reason == error


def test_token_request_success_via_hand_built_form():
    provider = make_provider()
    _, pending, code = issued_code(provider)
    handled = post_token(provider, token_form(pending, code))
    assert handled.response.status == 200 and handled.response.header("pragma") == "no-cache"


@pytest.mark.parametrize(("changes", "status", "error"), [
    ({"grant_type": None}, 400, "invalid_request"),
    ({"code": None}, 400, "invalid_request"),
    ({"redirect_uri": None}, 400, "invalid_request"),
    ({"grant_type": "password"}, 400, "unsupported_grant_type"),
    ({"grant_type": "urn:ietf:params:oauth:grant-type:made-up"}, 400, "unsupported_grant_type"),
    ({"code": "not-a-code"}, 400, "invalid_grant"),
    ({"redirect_uri": AGENT_REDIRECT + "?x=1"}, 400, "invalid_grant"),
    ({"code_verifier": None}, 400, "invalid_grant"),                         # missing PKCE
    ({"code_verifier": "A" * 43}, 400, "invalid_grant"),                     # wrong verifier
    ({"client_assertion": assertion(exp=NOW - 100)}, 401, "invalid_client"),  # expired
    ({"client_assertion": assertion(aud=TOKEN)}, 401, "invalid_client"),      # token endpoint as aud
    ({"client_assertion": assertion(aud="https://other-as.test")}, 401, "invalid_client"),
    ({"client_assertion": assertion(signing_key=key("intruder"))}, 401, "invalid_client"),  # wrong key
    ({"client_assertion": assertion(sub="other-app")}, 401, "invalid_client"),  # iss != sub
    ({"client_assertion": "garbage"}, 401, "invalid_client"),
    ({"client_assertion": None, "client_assertion_type": None}, 401, "invalid_client"),   # no client auth
    ({"client_assertion_type": "urn:x"}, 400, "invalid_request"),
    ({"client_secret": "x"}, 400, "invalid_request"),                         # two methods at once
])
def test_token_endpoint_hostile_forms(changes, status, error):
    provider = make_provider()
    _, pending, code = issued_code(provider)
    handled = post_token(provider, token_form(pending, code, **changes))
    expect(handled, status, error)
    if status == 401:
        assert handled.response.header("www-authenticate")


def test_two_authentication_methods_header_and_assertion():
    provider = make_provider()
    _, pending, code = issued_code(provider)
    handled = post_token(provider, token_form(pending, code),
                         headers={"authorization": basic_authorization("basic-app", BASIC_SECRET)})
    expect(handled, 400, "invalid_request")


def test_replayed_client_assertion_is_refused():
    provider = make_provider()
    _, pending, code = issued_code(provider)
    first = post_token(provider, token_form(pending, "wrong-code"))
    expect(first, 400, "invalid_grant")            # the assertion was accepted, then the grant failed
    expect(post_token(provider, token_form(pending, code), now=NOW + 1), 401, "invalid_client")


def test_expired_code():
    provider = make_provider()
    _, pending, code = issued_code(provider)
    form = token_form(pending, code, client_assertion=assertion(now=NOW + 601))
    expect(post_token(provider, form, now=NOW + 601), 400, "invalid_grant")


def test_code_for_another_client():
    provider = make_provider()
    _, pending, code = issued_code(provider)
    form = token_form(pending, code, client_assertion=assertion("other-app", signing_key=key("other")))
    expect(post_token(provider, form), 400, "invalid_grant")


def test_basic_client_cannot_redeem_the_agents_code():
    provider = make_provider()
    _, pending, code = issued_code(provider)
    form = token_form(pending, code, client_assertion=None, client_assertion_type=None)
    handled = post_token(provider, form, headers={"authorization": basic_authorization("basic-app", BASIC_SECRET)})
    expect(handled, 400, "invalid_grant")
    handled = post_token(provider, form, headers={"authorization": basic_authorization("basic-app", "nope")})
    expect(handled, 401, "invalid_client")


def test_reused_code_is_refused_and_its_tokens_revoked():
    provider = make_provider()
    rp = make_rp(provider)
    result, code = full_login(provider, rp)
    pending_like = type("P", (), {"redirect_uri": rp.redirect_uri, "code_verifier": "x" * 43})
    handled = post_token(provider, token_form(pending_like, code, client_assertion=assertion(jti="again")))
    expect(handled, 400, "invalid_grant")
    assert handled.outcome.event == "code.reused" and handled.outcome.subject == "u-sarah"
    revoked = set(handled.outcome.details["revoked"])
    assert result.id_token.jti in revoked and revoked <= provider.revoked_jtis and len(revoked) == 2
    userinfo = call(provider, userinfo_request(url=rp.metadata.userinfo_endpoint,
                                               access_token=result.tokens.access_token))
    assert userinfo.response.status == 401
    assert 'error="invalid_token"' in userinfo.response.header("www-authenticate")


@pytest.mark.parametrize("request_", [
    HttpRequest(method="POST", url=TOKEN, headers={"content-type": "application/json"},
                body=b'{"grant_type": "authorization_code"}'),
    HttpRequest(method="POST", url=TOKEN, body=b"grant_type=authorization_code"),   # no content type
    HttpRequest(method="POST", url=TOKEN, headers={"content-type": "application/x-www-form-urlencoded"},
                body=b"grant_type=authorization_code&code=" + b"a" * MAX_BODY_BYTES),
    HttpRequest(method="POST", url=TOKEN, headers={"content-type": "application/x-www-form-urlencoded"},
                body=b"grant_type=authorization_code&code=\xff\xfe"),
    HttpRequest(method="POST", url=TOKEN, headers={"content-type": "application/x-www-form-urlencoded"},
                body=b"grant_type=authorization_code&code=%FF%FE"),
    HttpRequest(method="POST", url=TOKEN, headers={"content-type": "application/x-www-form-urlencoded"},
                body=b"grant_type=authorization_code&grant_type=authorization_code"),
])
def test_token_endpoint_malformed_bodies_are_invalid_request(request_):
    expect(call(make_provider(), request_), 400, "invalid_request")


@pytest.mark.parametrize(("request_", "status", "error"), [
    (HttpRequest.get(TOKEN), 405, "method_not_allowed"),
    (HttpRequest.get(ISSUER + "/admin"), 404, "not_found"),
    (HttpRequest.form_post(url=ISSUER + "/authorize", params={}), 405, "method_not_allowed"),
])
def test_unknown_paths_and_methods(request_, status, error):
    handled = call(make_provider(), request_)
    assert handled.response.status == status and handled.response.json()["error"] == error


# ----------------------------------------------------------------------------- extra grants


ECHO = "urn:example:grant-type:echo"


def test_registered_grants_are_dispatched_after_client_authentication():
    from protocols.oauth.client_auth import ClientRegistration
    from protocols.oauth.errors import InvalidGrant
    from protocols.oidc.provider import Handled, Outcome
    from protocols.http import HttpResponse
    from tests.protocols.oidc.harness import jwks_of

    provider = make_provider()
    seen = []

    def echo(*, client, form, now):
        seen.append((client.client_id, form.get("subject_token"), now))
        if form.get("subject_token") == "bad":
            raise InvalidGrant("subject_token rejected")
        return Handled(response=HttpResponse.json_body({"ok": True}, no_store=True),
                       outcome=Outcome(event="token.exchanged", decision=Decision.ALLOW, client_id=client.client_id))

    provider.register_grant(ECHO, echo)
    provider.register_client(ClientRegistration(client_id="exchanger", name="X", redirect_uris=(OTHER_REDIRECT,),
                                                jwks=jwks_of(key("other")), grant_types={ECHO}))
    assert ECHO in call(provider, HttpRequest.get(ISSUER + "/.well-known/openid-configuration")).response.json()[
        "grant_types_supported"]
    form = {"grant_type": ECHO, "subject_token": "t", "client_assertion_type": JWT_BEARER_ASSERTION_TYPE,
            "client_assertion": assertion("exchanger", signing_key=key("other"))}
    handled = post_token(provider, form)
    assert handled.response.status == 200 and seen == [("exchanger", "t", NOW)]
    bad = {**form, "subject_token": "bad", "client_assertion": assertion("exchanger", signing_key=key("other"),
                                                                           jti="j2")}
    expect(post_token(provider, bad), 400, "invalid_grant")
    # A client registered without the grant type may not use it.
    _, pending, code = issued_code(provider)
    expect(post_token(provider, token_form(pending, code, grant_type=ECHO)), 400, "unauthorized_client")
