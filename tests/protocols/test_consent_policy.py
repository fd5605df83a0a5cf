"""Granular consent, connected apps and tenant policy at the authorization server, with no I/O:
partial grants narrow the code and the token (RFC 6749 §3.3), nothing ticked or Cancel is
``access_denied`` at the redirect URI (§4.1.2.1), a revoked consent stops the refresh token, and a
managed domain's users never see a screen — approved apps get approved scopes, the rest is refused."""

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from protocols.consent_policy import (
    CONNECTIONS_PATH, REVOKE_PATH, ConsentingAuthorizationServer, TenantPolicy,
)
from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest
from protocols.jose.keys import Algorithm, KeyRing, SigningKey
from protocols.oauth.authorization_server import ApiResource, OAuthClient, ServerConfig
from protocols.oauth.client_auth import ClientAuthMethod, ClientRegistration, basic_authorization, hash_client_secret
from protocols.oauth.consent import is_consent_page, parse_consent_page
from protocols.oauth.pkce import PkcePair
from protocols.oidc.authentication import PasswordHash, UserAccount, parse_login_page, read_cookie, totp

ISSUER = "https://accounts.example"
CAL = ISSUER + "/calendar"
REDIRECT = "https://travelbot.example/callback"
NOW = 1_748_851_200
SCOPES = {"cal.read": "See your calendars", "cal.write": "Edit your events", "mail.read": "Read your e-mail"}
PEOPLE = {"u-emma": "emma@consumer.example", "u-sarah": "sarah@acme.example"}
TOTP = b"12345678901234567890"


def build():
    entropy = SeededEntropy.for_actor(run_seed=5, actor="accounts")
    key = SigningKey.generate(alg=Algorithm.ES256, entropy=entropy.child("key"), created_at=NOW)
    server = ConsentingAuthorizationServer(
        config=ServerConfig(issuer=ISSUER, display_name="Accounts", scopes=SCOPES,
                            resources=(ApiResource(uri=CAL, scopes=set(SCOPES)),)),
        keyring=KeyRing.start(key), entropy=entropy.child("as"),
        policies={"acme.example": TenantPolicy(domain="acme.example", approved={"scheduler": frozenset({"cal.read"})})})
    for subject, email in PEOPLE.items():
        password = PasswordHash.create("pw-" + subject, entropy=entropy.child(subject), n=2**10)
        server.add_user(UserAccount(subject=subject, username=email, name=email, email=email, password=password,
                                    totp_secret=TOTP))
    for client_id in ("travelbot", "scheduler"):
        server.register_client(OAuthClient(registration=ClientRegistration(
            client_id=client_id, name=client_id.title(), redirect_uris=(REDIRECT,),
            auth_method=ClientAuthMethod.CLIENT_SECRET_BASIC,
            client_secret_sha256=hash_client_secret("secret-" + client_id),
            grant_types={"authorization_code", "refresh_token"}, scopes=set(SCOPES))))
    return server


@pytest.fixture
def pair():
    return PkcePair.generate(SeededEntropy.for_actor(run_seed=5, actor="client"))


def authorize(server, pair, *, client="travelbot", scope="cal.read cal.write", cookie=None, now=NOW):
    params = {"response_type": "code", "client_id": client, "redirect_uri": REDIRECT, "scope": scope, "state": "s-1",
              "code_challenge": pair.challenge, "code_challenge_method": "S256"}
    headers = {"cookie": f"op_session={cookie}"} if cookie else None
    return server.handle(HttpRequest.get(f"{ISSUER}/authorize?{urlencode(params)}", headers=headers), now=now)


def post(server, path, params, *, cookie=None, auth=None, now=NOW):
    headers = {**({"cookie": f"op_session={cookie}"} if cookie else {}), **({"authorization": auth} if auth else {})}
    return server.handle(HttpRequest.form_post(url=ISSUER + path, params=params, headers=headers), now=now)


def sign_in(server, pair, subject, **extra):
    page = parse_login_page(authorize(server, pair, **extra).response.body.decode())
    handled = post(server, "/login", {**page.hidden, "username": PEOPLE[subject], "password": "pw-" + subject,
                                      "otp": totp(TOTP, now=NOW)})
    cookie = read_cookie(next(v for k, v in handled.response.headers if k == "set-cookie").split(";")[0])
    return handled, cookie


def redirect_params(handled):
    assert handled.response.status == 302
    return {k: v[0] for k, v in parse_qs(urlsplit(handled.response.header("location")).query).items()}


def redeem(server, code, pair, client="travelbot"):
    return post(server, "/token", {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                                   "code_verifier": pair.verifier}, auth=basic_authorization(client, "secret-" + client))


def test_partial_consent_narrows_the_grant_and_is_remembered(pair):
    server = build()
    screen, cookie = sign_in(server, pair, "u-emma")
    assert screen.outcome.event == "consent.requested" and is_consent_page(screen.response.body.decode())
    page = parse_consent_page(screen.response.body.decode())
    assert page.scopes == ("cal.read", "cal.write") and 'name="grant:cal.write"' in screen.response.body.decode()
    # Emma ticks only cal.read; a forged tick for a scope never requested is ignored.
    granted = post(server, "/consent", {**page.hidden, "grant:cal.read": "on", "grant:mail.read": "on",
                                        "decision": "allow"}, cookie=cookie)
    assert granted.outcome.event == "consent.granted"
    assert granted.outcome.details["scope"] == "cal.read" and granted.outcome.details["declined_scope"] == "cal.write"
    tokens = redeem(server, redirect_params(granted)["code"], pair).response.json()
    assert tokens["scope"] == "cal.read"  # RFC 6749 §5.1: the narrower scope is said
    claims = server.authenticate_api(HttpRequest.get(CAL, headers={"authorization": f"Bearer {tokens['access_token']}"}),
                                     resource=CAL, now=NOW + 1)
    assert claims.scope == ("cal.read",)
    # The same request within the consent on record: no screen; asking for more shows it again.
    assert authorize(server, pair, scope="cal.read", cookie=cookie).outcome.event == "consent.reused"
    assert authorize(server, pair, cookie=cookie).outcome.event == "consent.requested"


@pytest.mark.parametrize("form", [{"decision": "deny"}, {"decision": "allow"}], ids=["cancel", "nothing-ticked"])
def test_declining_is_access_denied_at_the_redirect_uri(pair, form):
    server = build()
    screen, cookie = sign_in(server, pair, "u-emma")
    handled = post(server, "/consent", {**parse_consent_page(screen.response.body.decode()).hidden, **form},
                   cookie=cookie)
    params = redirect_params(handled)
    assert params["error"] == "access_denied" and params["state"] == "s-1" and params["iss"] == ISSUER
    assert "code" not in params and handled.outcome.event == "consent.denied"


def test_connected_apps_listed_and_revocation_stops_the_refresh(pair):
    server = build()
    screen, cookie = sign_in(server, pair, "u-emma")
    granted = post(server, "/consent", {**parse_consent_page(screen.response.body.decode()).hidden,
                                        "grant:cal.read": "on", "grant:cal.write": "on", "decision": "allow"},
                   cookie=cookie, now=NOW)
    tokens = redeem(server, redirect_params(granted)["code"], pair).response.json()
    listing = server.handle(HttpRequest.get(ISSUER + CONNECTIONS_PATH, headers={"cookie": f"op_session={cookie}"}),
                            now=NOW + 10)
    body = listing.response.json()
    assert [(a["client_id"], a["scopes"]) for a in body["apps"]] == [("travelbot", ["cal.read", "cal.write"])]
    # Without the page's anti-forgery value, or without a session: refused, nothing revoked.
    forged = post(server, REVOKE_PATH, {"client_id": "travelbot", "revoke_guard": "x" * 32}, cookie=cookie)
    assert (forged.response.status, forged.response.json()["error"]) == (400, "invalid_request")
    anonymous = server.handle(HttpRequest.get(ISSUER + CONNECTIONS_PATH), now=NOW + 10)
    assert (anonymous.response.status, anonymous.response.json()["error"]) == (400, "login_required")
    wrong_method = server.handle(HttpRequest.get(ISSUER + REVOKE_PATH), now=NOW + 10)
    assert wrong_method.response.status == 405
    revoked = post(server, REVOKE_PATH, {"client_id": "travelbot", "revoke_guard": body["revoke_guard"]},
                   cookie=cookie, now=NOW + 20)
    assert revoked.response.status == 200 and revoked.outcome.event == "consent.revoked"
    refresh = post(server, "/token", {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                   auth=basic_authorization("travelbot", "secret-travelbot"), now=NOW + 30)
    assert (refresh.response.status, refresh.response.json()["error"]) == (400, "invalid_grant")
    assert server.consents_of("u-emma") == []
    # The consent is forgotten: the next request shows the screen again.
    assert authorize(server, pair, scope="cal.read", cookie=cookie, now=NOW + 40).outcome.event == "consent.requested"


def test_managed_domain_policy_decides_without_a_screen(pair):
    server = build()
    allowed, cookie = sign_in(server, pair, "u-sarah", client="scheduler", scope="cal.read")
    assert allowed.outcome.event == "policy.allowed" and "code" in redirect_params(allowed)
    assert not is_consent_page(allowed.response.body.decode())
    beyond = authorize(server, pair, client="scheduler", scope="cal.read mail.read", cookie=cookie)
    assert beyond.outcome.event == "policy.denied" and redirect_params(beyond)["error"] == "access_denied"
    assert beyond.outcome.details["refused_scope"] == "mail.read"
    unapproved = authorize(server, pair, client="travelbot", scope="cal.read", cookie=cookie)
    assert unapproved.outcome.event == "policy.denied" and redirect_params(unapproved)["error"] == "access_denied"
    assert "not approved" in unapproved.outcome.reason
