"""Authorization request validation (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.2) and the code ledger."""

import pytest

from protocols.entropy import SeededEntropy
from protocols.oauth import pkce
from protocols.oauth.authorization_code import (
    AuthorizationRequest, CodeLedger, CodeReuseDetected, NonRedirectableError, RedirectableError,
    TokenRequestParams, add_query, success_redirect,
)
from protocols.oauth.client_auth import ClientRegistration
from protocols.oauth.errors import InvalidGrant, InvalidRequest
from tests.protocols.oidc.harness import NOW, jwks_of, key, query_of

REDIRECT = "https://app.test/cb?tenant=1"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
CHALLENGE = pkce.s256_challenge(VERIFIER)
CLIENTS = {
    "app": ClientRegistration(client_id="app", name="App", redirect_uris=(REDIRECT,), jwks=jwks_of(key("agent"))),
    "cc-only": ClientRegistration(client_id="cc-only", name="CC", redirect_uris=(REDIRECT,), jwks=jwks_of(key("agent")),
                                  grant_types={"client_credentials"}),
}
VALID = {"response_type": "code", "client_id": "app", "redirect_uri": REDIRECT, "scope": "openid email",
         "state": "st", "nonce": "no", "code_challenge": CHALLENGE, "code_challenge_method": "S256"}


def parse(**changes):
    params = {**VALID, **changes}
    params = {k: v for k, v in params.items() if v is not None}
    return AuthorizationRequest.from_query(params, lookup_client=CLIENTS.get)


def test_valid_request_round_trips_through_the_query():
    request = parse(prompt="login", max_age="300", login_hint="sarah")
    assert request.scope == ("openid", "email") and request.max_age == 300 and request.prompt == {"login"}
    assert AuthorizationRequest.from_query(request.to_query(), lookup_client=CLIENTS.get) == request


def test_an_omitted_scope_is_the_clients_registered_scope():
    """RFC 6749 §3.3: the server processes the request with its pre-defined default."""
    assert parse(scope=None).scope == ("email", "openid", "profile")
    no_openid = ClientRegistration(client_id="api", name="API", redirect_uris=(REDIRECT,), jwks=jwks_of(key("agent")),
                                   scopes={"email"})
    with pytest.raises(RedirectableError) as info:
        params = {k: v for k, v in VALID.items() if k != "scope"}
        AuthorizationRequest.from_query({**params, "client_id": "api"}, lookup_client={"api": no_openid}.get)
    assert info.value.error.error == "invalid_scope"


@pytest.mark.parametrize("changes", [
    {"client_id": None},
    {"client_id": "unknown"},
    {"redirect_uri": None},
    {"redirect_uri": "https://app.test/cb"},                  # no prefix or partial matching
    {"redirect_uri": REDIRECT + "&extra=1"},
    {"redirect_uri": "https://evil.test/cb?tenant=1"},
])
def test_client_and_redirect_uri_errors_are_not_redirected(changes):
    with pytest.raises(NonRedirectableError) as info:
        parse(**changes)
    response = info.value.to_response()
    assert response.status == 400 and response.header("location") is None
    assert info.value.error.error == "invalid_request"


@pytest.mark.parametrize(("changes", "error"), [
    ({"response_type": None}, "invalid_request"),
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"response_type": "code id_token"}, "unsupported_response_type"),
    ({"response_mode": "fragment"}, "invalid_request"),
    ({"scope": "email"}, "invalid_scope"),
    ({"scope": ""}, "invalid_scope"),
    ({"scope": "openid admin"}, "invalid_scope"),
    ({"code_challenge": None}, "invalid_request"),
    ({"code_challenge_method": None}, "invalid_request"),
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"prompt": "none login"}, "invalid_request"),
    ({"prompt": "sometimes"}, "invalid_request"),
    ({"max_age": "-1"}, "invalid_request"),
    ({"max_age": "soon"}, "invalid_request"),
    ({"request": "eyJ..."}, "invalid_request"),
    ({"request_uri": "urn:x"}, "invalid_request"),
    ({"client_id": "cc-only"}, "unauthorized_client"),
])
def test_other_errors_redirect_with_state_and_iss(changes, error):
    with pytest.raises(RedirectableError) as info:
        parse(**changes)
    response = info.value.to_response(issuer="https://idp.test")
    assert response.status == 302
    location = response.header("location")
    assert location.startswith(REDIRECT + "&")  # the registered query is kept
    params = query_of(location)
    assert params["error"] == error and params["state"] == "st" and params["iss"] == "https://idp.test"
    assert params["tenant"] == "1"


def test_error_redirect_omits_state_when_none_was_sent():
    with pytest.raises(RedirectableError) as info:
        parse(state=None, response_type="token")
    assert "state" not in query_of(info.value.to_response(issuer="https://idp.test").header("location"))


def test_success_redirect_carries_code_state_iss():
    location = success_redirect(parse(), code="c0de", issuer="https://idp.test").header("location")
    assert query_of(location) == {"tenant": "1", "code": "c0de", "state": "st", "iss": "https://idp.test"}
    assert add_query("https://x.test/cb", {"a": "b c"}) == "https://x.test/cb?a=b+c"


def issue(ledger, now=NOW):
    return ledger.issue(request=parse(), subject="u1", auth_time=now, amr=("pwd",), sid="s1", now=now,
                        entropy=SeededEntropy.for_actor(run_seed=1, actor="as"))


def params(issued_code, **changes):
    return TokenRequestParams(**{"code": issued_code, "redirect_uri": REDIRECT, "code_verifier": VERIFIER, **changes})


def test_code_is_single_use_and_reuse_reports_bound_tokens():
    ledger = CodeLedger()
    code, grant = issue(ledger)
    assert ledger.redeem(params(code), client_id="app", now=NOW + 5) == grant
    ledger.bind_tokens(code, ("jti-a", "jti-b"))
    with pytest.raises(CodeReuseDetected) as info:
        ledger.redeem(params(code), client_id="app", now=NOW + 6)
    assert info.value.error == "invalid_grant" and info.value.reuse.revoked == ("jti-a", "jti-b")


@pytest.mark.parametrize(("changes", "client_id", "now"), [
    ({}, "app", NOW + 600),                                   # expired (10 minutes)
    ({}, "other", NOW),                                       # issued to another client
    ({"redirect_uri": "https://app.test/cb"}, "app", NOW),     # not identical
    ({"code_verifier": None}, "app", NOW),
    ({"code_verifier": "x" * 43}, "app", NOW),
    ({"code": "guess"}, "app", NOW),
])
def test_redeem_failures_are_invalid_grant(changes, client_id, now):
    ledger = CodeLedger()
    code, _ = issue(ledger)
    with pytest.raises(InvalidGrant):
        ledger.redeem(params(code, **changes), client_id=client_id, now=now)


def test_failed_redemption_leaves_the_code_usable_and_purge_forgets_old_codes():
    ledger = CodeLedger()
    code, _ = issue(ledger)
    with pytest.raises(InvalidGrant):
        ledger.redeem(params(code, code_verifier=None), client_id="app", now=NOW)
    ledger.redeem(params(code), client_id="app", now=NOW)
    assert ledger.purge(now=NOW + 600) == 0 and ledger.size == 1   # used codes kept for reuse detection
    assert ledger.purge(now=NOW + 1200) == 1 and ledger.size == 0


def test_token_request_params_require_code_and_redirect_uri():
    with pytest.raises(InvalidRequest):
        TokenRequestParams.from_form({"redirect_uri": REDIRECT})
    with pytest.raises(InvalidRequest):
        TokenRequestParams.from_form({"code": "c"})
    assert "c0de" not in repr(TokenRequestParams.from_form({"code": "c0de", "redirect_uri": REDIRECT}))
