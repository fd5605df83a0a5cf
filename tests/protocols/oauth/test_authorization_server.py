"""The SaaS providers' OAuth 2.0 authorization server core, driven with no I/O: authorization code
+ PKCE through login and the consent screen, refresh with RFC 8707 narrowing, revocation (RFC 7009),
client credentials, RFC 6750 checks — and every bad input with its exact error and status."""

from urllib.parse import parse_qs, urlsplit

import pytest

from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest
from protocols.jose.keys import Algorithm, KeyRing, SigningKey
from protocols.access_token import require_any_scope
from protocols.oauth.authorization_server import ApiResource, AuthorizationServer, OAuthClient, ServerConfig
from protocols.oauth.client_auth import ClientAuthMethod, ClientRegistration, basic_authorization, hash_client_secret
from protocols.oauth.consent import ALLOW, DENY, is_consent_page, parse_consent_page
from protocols.oauth.errors import InsufficientScope, InvalidToken
from protocols.oauth.metadata import AuthorizationServerMetadata, metadata_url
from protocols.oauth.pkce import PkcePair
from protocols.oidc.authentication import PasswordHash, UserAccount, parse_login_page, read_cookie, totp

ISSUER = "https://saas.example"
DRIVE, MAIL = ISSUER + "/drive", ISSUER + "/mail"
REDIRECT = "https://vault.example/callback"
NOW = 1_736_150_400


def build(*, admin_consented=False):
    entropy = SeededEntropy.for_actor(run_seed=3, actor="saas")
    key = SigningKey.generate(alg=Algorithm.ES256, entropy=entropy.child("key"), created_at=NOW)
    server = AuthorizationServer(
        config=ServerConfig(issuer=ISSUER, display_name="SaaS", scopes={"d.read": "Read files", "d.write": "Write",
                                                                        "m.send": "Send mail"},
                            resources=(ApiResource(uri=DRIVE, scopes={"d.read", "d.write"}),
                                       ApiResource(uri=MAIL, scopes={"m.send"}))),
        keyring=KeyRing.start(key), entropy=entropy.child("as"))
    server.add_user(UserAccount(subject="u-1", username="ann@example.com", name="Ann", email="ann@example.com",
                                password=PasswordHash.create("correct horse", entropy=entropy.child("pw"), n=2**10),
                                totp_secret=b"12345678901234567890"))
    server.register_client(OAuthClient(admin_consented=admin_consented, registration=ClientRegistration(
        client_id="vault", name="The Vault", redirect_uris=(REDIRECT,), auth_method=ClientAuthMethod.CLIENT_SECRET_BASIC,
        client_secret_sha256=hash_client_secret("s3cret-s3cret"), grant_types={"authorization_code", "refresh_token"},
        scopes={"d.read", "d.write", "m.send"})))
    server.register_client(OAuthClient(service_account="sa-admin", registration=ClientRegistration(
        client_id="admin", name="Admin", redirect_uris=(), auth_method=ClientAuthMethod.CLIENT_SECRET_BASIC,
        client_secret_sha256=hash_client_secret("admin-secret"), grant_types={"client_credentials"},
        scopes={"d.read"})))
    return server


AUTH = {"authorization": basic_authorization("vault", "s3cret-s3cret")}


def authorize_url(pair, scope="d.read m.send", **extra):
    from urllib.parse import urlencode
    params = {"response_type": "code", "client_id": "vault", "redirect_uri": REDIRECT, "scope": scope,
              "state": "st-1", "code_challenge": pair.challenge, "code_challenge_method": "S256", **extra}
    return f"{ISSUER}/authorize?{urlencode(params)}"


def post(server, path, params, *, now=NOW, headers=None):
    return server.handle(HttpRequest.form_post(url=ISSUER + path, params=params, headers=headers), now=now)


def login(server, pair, *, now=NOW, **extra):
    """Authorize → login page → credentials: the response after the login form."""
    page = server.handle(HttpRequest.get(authorize_url(pair, **extra)), now=now).response
    form = parse_login_page(page.body.decode())
    return post(server, "/login", {**form.hidden, "username": "ann@example.com", "password": "correct horse",
                                   "otp": totp(b"12345678901234567890", now=now)}, now=now)


def code_of(response):
    query = parse_qs(urlsplit(response.header("location")).query)
    assert query["iss"] == [ISSUER] and query["state"] == ["st-1"]
    return query["code"][0]


def redeem(server, code, pair, **extra):
    return post(server, "/token", {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                                   "code_verifier": pair.verifier, **extra}, headers=AUTH)


@pytest.fixture
def pair():
    return PkcePair.generate(SeededEntropy.for_actor(run_seed=3, actor="client"))


def test_code_flow_with_consent_refresh_and_revocation(pair):
    server = build()
    after_login = login(server, pair)
    body = after_login.response.body.decode()
    assert is_consent_page(body) and after_login.outcome.event == "consent.requested"
    consent = parse_consent_page(body)
    assert consent.scopes == ("d.read", "m.send")
    cookie = read_cookie(next(v for k, v in after_login.response.headers if k == "set-cookie").split(";")[0])
    granted = post(server, "/consent", {**consent.hidden, "decision": ALLOW}, headers={"cookie": f"op_session={cookie}"})
    assert granted.outcome.event == "consent.granted"
    tokens = redeem(server, code_of(granted.response), pair).response.json()
    assert set(tokens) == {"access_token", "token_type", "expires_in", "scope", "refresh_token"}
    bearer = {"authorization": f"Bearer {tokens['access_token']}"}
    claims = server.authenticate_api(HttpRequest.get(DRIVE + "/files", headers=bearer), resource=DRIVE, now=NOW + 1)
    assert claims.scope == ("d.read", "m.send") and claims.subject == "u-1"
    assert require_any_scope(claims, ("d.write", "d.read")) == "d.read"
    with pytest.raises(InsufficientScope):
        require_any_scope(claims, ("d.write",))

    # Refresh narrowed to one API (RFC 8707): one audience, only that API's scopes; the token rotates.
    narrowed = post(server, "/token", {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
                                       "resource": MAIL}, headers=AUTH)
    assert narrowed.outcome.event == "token.refreshed"
    mail = narrowed.response.json()
    assert mail["scope"] == "m.send" and mail["refresh_token"] != tokens["refresh_token"]
    mail_bearer = {"authorization": f"Bearer {mail['access_token']}"}
    with pytest.raises(InvalidToken, match="wrong_audience"):
        server.authenticate_api(HttpRequest.get(DRIVE, headers=mail_bearer), resource=DRIVE, now=NOW + 2)

    # A second authorization reuses the session and the consent on record: straight to the code.
    again = server.handle(HttpRequest.get(authorize_url(pair), headers={"cookie": f"op_session={cookie}"}), now=NOW + 5)
    assert again.response.status == 302 and again.outcome.event == "auth.session_reused"

    # Revoking the refresh token revokes its grant: refresh tokens and access tokens of the family.
    revoked = post(server, "/revoke", {"token": mail["refresh_token"], "token_type_hint": "refresh_token"}, headers=AUTH)
    assert revoked.response.status == 200 and revoked.response.body == b""
    with pytest.raises(InvalidToken, match="revoked"):
        server.authenticate_api(HttpRequest.get(MAIL, headers=mail_bearer), resource=MAIL, now=NOW + 3)
    dead = post(server, "/token", {"grant_type": "refresh_token", "refresh_token": mail["refresh_token"]}, headers=AUTH)
    assert dead.response.json()["error"] == "invalid_grant"
    # Unknown tokens are "revoked" too (RFC 7009 §2.2): 200, nothing revealed.
    assert post(server, "/revoke", {"token": "nonsense"}, headers=AUTH).response.status == 200


def test_admin_consented_client_gets_no_consent_screen_and_declining_is_access_denied(pair):
    assert login(build(admin_consented=True), pair).response.status == 302
    server = build()
    after_login = login(server, pair)
    consent = parse_consent_page(after_login.response.body.decode())
    cookie = read_cookie(next(v for k, v in after_login.response.headers if k == "set-cookie").split(";")[0])
    declined = post(server, "/consent", {**consent.hidden, "decision": DENY}, headers={"cookie": f"op_session={cookie}"})
    query = parse_qs(urlsplit(declined.response.header("location")).query)
    assert query["error"] == ["access_denied"] and query["iss"] == [ISSUER]
    # Without the session that saw the screen, the consent form is refused.
    other = login(server, pair)
    form = parse_consent_page(other.response.body.decode())
    assert post(server, "/consent", {**form.hidden, "decision": ALLOW}).response.status == 400


def test_client_credentials_for_service_accounts_only(pair):
    server = build()
    admin = {"authorization": basic_authorization("admin", "admin-secret")}
    issued = post(server, "/token", {"grant_type": "client_credentials"}, headers=admin)
    assert issued.response.json()["scope"] == "d.read" and issued.outcome.subject == "sa-admin"
    beyond = post(server, "/token", {"grant_type": "client_credentials", "scope": "d.write"}, headers=admin)
    assert beyond.response.json()["error"] == "invalid_scope"
    vault = post(server, "/token", {"grant_type": "client_credentials"}, headers=AUTH)
    assert (vault.response.status, vault.response.json()["error"]) == (400, "unauthorized_client")


def test_code_reuse_revokes_the_tokens_it_produced(pair):
    server = build(admin_consented=True)
    code = code_of(login(server, pair).response)
    tokens = redeem(server, code, pair).response.json()
    replay = redeem(server, code, pair)
    assert replay.outcome.event == "code.reused" and replay.response.json()["error"] == "invalid_grant"
    with pytest.raises(InvalidToken):
        server.authenticate_api(HttpRequest.get(DRIVE, headers={"authorization": f"Bearer {tokens['access_token']}"}),
                                resource=DRIVE, now=NOW + 1)
    refresh = post(server, "/token", {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                   headers=AUTH)
    assert refresh.response.json()["error"] == "invalid_grant"


def test_metadata_document(pair):
    server = build()
    response = server.handle(HttpRequest.get(metadata_url(ISSUER)), now=NOW).response
    metadata = AuthorizationServerMetadata.from_json(response.json(), expected_issuer=ISSUER)
    assert metadata.revocation_endpoint == ISSUER + "/revoke" and "S256" in metadata.code_challenge_methods_supported
    assert "refresh_token" in metadata.grant_types_supported


AUTHORIZE_ERRORS = [
    # (extra or replaced parameters, expected error in the redirect)
    ({"code_challenge": None}, "invalid_request"),
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"scope": "d.read admin"}, "invalid_scope"),
    ({"scope": None}, "invalid_scope"),
    ({"response_type": "token"}, "unsupported_response_type"),
]


@pytest.mark.parametrize("change,error", AUTHORIZE_ERRORS)
def test_authorization_errors_redirect_with_the_code(pair, change, error):
    from urllib.parse import urlencode
    params = {"response_type": "code", "client_id": "vault", "redirect_uri": REDIRECT, "scope": "d.read",
              "state": "st-1", "code_challenge": pair.challenge, "code_challenge_method": "S256"}
    for k, v in change.items():
        if v is None:
            params.pop(k)
        else:
            params[k] = v
    response = build().handle(HttpRequest.get(f"{ISSUER}/authorize?{urlencode(params)}"), now=NOW).response
    query = parse_qs(urlsplit(response.header("location")).query)
    assert response.status == 302 and query["error"] == [error] and query["iss"] == [ISSUER]


def test_unknown_client_or_redirect_is_never_redirected(pair):
    server = build()
    for url in (authorize_url(pair).replace("client_id=vault", "client_id=evil"),
                authorize_url(pair).replace("vault.example", "evil.example")):
        response = server.handle(HttpRequest.get(url), now=NOW).response
        assert response.status == 400 and response.header("location") is None


TOKEN_ERRORS = [
    ({"grant_type": "authorization_code", "redirect_uri": REDIRECT}, AUTH, 400, "invalid_request"),
    ({"grant_type": "authorization_code", "code": "forged", "redirect_uri": REDIRECT, "code_verifier": "v" * 43},
     AUTH, 400, "invalid_grant"),
    ({"grant_type": "password"}, AUTH, 400, "unsupported_grant_type"),
    ({"grant_type": "refresh_token"}, AUTH, 400, "invalid_request"),
    ({"grant_type": "refresh_token", "refresh_token": "x"}, AUTH, 400, "invalid_grant"),
    ({"grant_type": "refresh_token"}, {"authorization": basic_authorization("vault", "wrong")}, 401, "invalid_client"),
    ({"grant_type": "refresh_token"}, {}, 401, "invalid_client"),
    ({"token": "x"}, {}, 401, "invalid_client"),
]


@pytest.mark.parametrize("form,headers,status,error", TOKEN_ERRORS)
def test_token_endpoint_errors(form, headers, status, error):
    path = "/revoke" if "token" in form else "/token"
    response = post(build(), path, form, headers=headers).response
    assert (response.status, response.json()["error"]) == (status, error)


def test_refresh_for_an_unknown_resource_is_invalid_target(pair):
    server = build(admin_consented=True)
    tokens = redeem(server, code_of(login(server, pair).response), pair).response.json()
    response = post(server, "/token", {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
                                       "resource": "https://elsewhere.example/api"}, headers=AUTH).response
    assert (response.status, response.json()["error"]) == (400, "invalid_target")


def test_wrong_pkce_verifier_is_invalid_grant(pair):
    server = build(admin_consented=True)
    code = code_of(login(server, pair).response)
    other = PkcePair.generate(SeededEntropy.for_actor(run_seed=4, actor="attacker"))
    response = redeem(server, code, other).response
    assert (response.status, response.json()["error"]) == (400, "invalid_grant")


def test_a_sign_in_for_a_client_removed_meanwhile_is_refused_with_a_page(pair):
    """The login step shared with the OpenID Provider (protocols/oidc/sign_in.py): 400, no traceback."""
    server = build()
    page = server.handle(HttpRequest.get(authorize_url(pair)), now=NOW).response
    form = parse_login_page(page.body.decode())
    del server.clients["vault"]
    handled = post(server, "/login", {**form.hidden, "username": "ann@example.com", "password": "correct horse"})
    assert handled.response.status == 400
    assert (handled.outcome.event, handled.outcome.reason) == ("auth.login_failed", "unknown_client")
    again = post(server, "/login", {**form.hidden, "username": "ann@example.com", "password": "correct horse"})
    assert again.outcome.reason == "unknown_transaction"
