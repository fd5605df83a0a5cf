"""Social login: the enterprise IdP is the relying party of a simulated Google OP."""

import pytest

from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest, HttpResponse
from protocols.jose.keys import Algorithm
from protocols.oauth.client_auth import ClientRegistration
from protocols.oidc.authentication import parse_login_page, totp
from protocols.oidc.federation import Upstream, callback_uri
from protocols.oidc.provider import Decision, Fetch, Outcome
from protocols.oidc.relying_party import RelyingParty
from tests.protocols.oidc.harness import (
    GOOGLE, ISSUER, NOW, SARAH_PASSWORD, SARAH_TOTP, Browser, call, hosts, jwks_of, key, make_provider, make_rp,
    metadata_of, provider_keys, query_of,
)


def build(*, domains=frozenset()):
    google = make_provider(issuer=GOOGLE, seed=8)
    google.register_client(ClientRegistration(client_id="acme-idp", name="Acme IdP",
                                              redirect_uris=(callback_uri(ISSUER, "google"),),
                                              jwks=jwks_of(key("idp-at-google"))))
    idp = make_provider()
    idp.claims_hook = lambda account: {"role": "sales_rep", "territory": "EMEA"} \
        if account.email == "sarah@acme.test" else {}
    idp.upstreams["google"] = Upstream(
        name="google", subject_prefix="google-oauth2", keys=provider_keys(google), allowed_email_domains=domains,
        relying_party=RelyingParty(client_id="acme-idp", redirect_uri=callback_uri(ISSUER, "google"),
                                   metadata=metadata_of(google), signing_key=key("idp-at-google")))
    agent = make_rp(idp)
    pending = agent.start(entropy=SeededEntropy.for_actor(run_seed=1, actor="agent"), now=NOW)
    return google, idp, agent, pending


def to_google(idp, google, pending, browser):
    world = hosts(idp, google)
    page = browser.get(world, pending.url, now=NOW)
    link = parse_login_page(page.body.decode()).federation_links["google"]
    redirect = browser.get(world, link, now=NOW)
    assert redirect.status == 302 and redirect.header("location").startswith(GOOGLE + "/authorize?")
    return redirect.header("location")


def google_login(idp, google, pending, browser):
    world = hosts(idp, google)
    google_page = browser.get(world, to_google(idp, google, pending, browser), now=NOW)
    back = browser.submit_login(world, google_page, username="sarah", password=SARAH_PASSWORD,
                                otp=totp(SARAH_TOTP, now=NOW), now=NOW)
    assert back.header("location").startswith(ISSUER + "/federate/google/callback?")
    return browser.get(world, back.header("location"), now=NOW)


def test_google_login_end_to_end():
    google, idp, agent, pending = build()
    browser = Browser()
    final = google_login(idp, google, pending, browser)
    code = agent.parse_callback(pending, final.header("location"))
    entropy = SeededEntropy.for_actor(run_seed=2, actor="agent")
    response = call(idp, agent.token_request(pending, code=code, entropy=entropy, now=NOW)).response
    claims = agent.finish(pending, response, keys=provider_keys(idp), now=NOW).id_token.claims
    assert claims["iss"] == ISSUER and claims["sub"] == "google-oauth2|u-sarah"
    assert claims["amr"] == ["fed", "mfa"] and claims["role"] == "sales_rep" and claims["email_verified"] is True
    events = [o.event for o in browser.outcomes]
    assert events[:2] == ["auth.login_requested", "federation.started"]
    assert events[-3:] == ["federation.code_received", "token.issued", "federation.succeeded"]
    done = browser.outcomes[-1]
    assert done.decision is Decision.ALLOW and done.subject == "google-oauth2|u-sarah"
    assert len(done.secrets) == 4   # our code, our session cookie, Google's access and ID tokens
    assert idp.user("google-oauth2|u-sarah").federated_from == "google"


def test_session_from_federation_serves_the_next_request():
    google, idp, agent, pending = build()
    browser = Browser()
    google_login(idp, google, pending, browser)
    second = agent.start(entropy=SeededEntropy.for_actor(run_seed=5, actor="agent"), now=NOW + 60)
    assert browser.get(hosts(idp, google), second.url, now=NOW + 60).status == 302


def test_upstream_key_rotation_triggers_one_jwks_refresh():
    google, idp, agent, pending = build()
    google.rotate_key(key("google:next", Algorithm.RS256), now=NOW, retire_after=3600)
    browser = Browser()
    final = google_login(idp, google, pending, browser)
    assert agent.parse_callback(pending, final.header("location"))
    assert "federation.keys_refreshed" in [o.event for o in browser.outcomes]
    assert key("google:next", Algorithm.RS256).kid in idp.upstreams["google"].keys.kids()


def test_unusable_jwks_after_unknown_kid_denies():
    google, idp, agent, pending = build()
    google.rotate_key(key("google:next", Algorithm.RS256), now=NOW, retire_after=3600)
    browser = Browser()
    world = hosts(idp, google)
    google_page = browser.get(world, to_google(idp, google, pending, browser), now=NOW)
    back = browser.submit_login(world, google_page, username="sarah", password=SARAH_PASSWORD,
                                otp=totp(SARAH_TOTP, now=NOW), now=NOW)
    step = idp.handle(HttpRequest.get(back.header("location")), now=NOW)
    assert isinstance(step, Fetch)
    step = idp.resume(step, google.handle(step.request, now=NOW).response, now=NOW)
    assert isinstance(step, Fetch) and step.request.url == GOOGLE + "/jwks"
    final = idp.resume(step, HttpResponse(status=500), now=NOW)
    assert query_of(final.response.header("location"))["error"] == "access_denied"
    assert final.outcome.reason == "upstream_jwks_unusable"


def test_upstream_error_is_reported_to_the_client_as_access_denied():
    google, idp, agent, pending = build()
    browser = Browser()
    upstream_url = to_google(idp, google, pending, browser)
    state = query_of(upstream_url)["state"]
    callback = f"{ISSUER}/federate/google/callback?error=access_denied&state={state}&iss={GOOGLE}"
    response = browser.get(hosts(idp, google), callback, now=NOW)
    params = query_of(response.header("location"))
    assert params["error"] == "access_denied" and params["state"] == pending.state and params["iss"] == ISSUER
    assert browser.outcomes[-1].reason == "upstream_access_denied"


@pytest.mark.parametrize(("query", "reason"), [
    ("code=x&state=unknown&iss=" + GOOGLE, "unknown_state"),
    ("code=x&state=STATE&iss=https://evil.test", "issuer_mismatch"),
    ("code=x&state=STATE", "issuer_mismatch"),
])
def test_bad_federation_callbacks_are_not_redirected(query, reason):
    google, idp, agent, pending = build()
    browser = Browser()
    state = query_of(to_google(idp, google, pending, browser))["state"]
    response = browser.get(hosts(idp, google), f"{ISSUER}/federate/google/callback?{query.replace('STATE', state)}",
                           now=NOW)
    assert response.status == 400 and response.header("location") is None
    assert browser.outcomes[-1].event == "federation.failed" and browser.outcomes[-1].reason == reason


def test_email_domain_policy_refuses_other_domains():
    google, idp, agent, pending = build(domains=frozenset({"partner.test"}))
    browser = Browser()
    final = google_login(idp, google, pending, browser)
    assert query_of(final.header("location"))["error"] == "access_denied"
    assert browser.outcomes[-1].reason == "email_domain_not_allowed"
    assert idp.user("google-oauth2|u-sarah") is None


@pytest.mark.parametrize("url", [
    f"{ISSUER}/federate/google?txn=forged",
    f"{ISSUER}/federate/google",
    f"{ISSUER}/federate/facebook?txn=x",
    f"{ISSUER}/federate/google/other",
    f"{ISSUER}/federate/google?txn=a&txn=b",
])
def test_federation_start_with_bad_input(url):
    google, idp, agent, pending = build()
    handled = call(idp, HttpRequest.get(url))
    assert handled.response.status in (400, 404) and handled.outcome.event == "federation.failed"


def test_resume_with_unknown_continuation():
    google, idp, agent, pending = build()
    fake = Fetch(request=HttpRequest.get(GOOGLE), continuation="nope",
                 outcome=Outcome(event="federation.code_received", decision=Decision.ALLOW))
    handled = idp.resume(fake, HttpResponse(status=200), now=NOW)
    assert handled.response.status == 400 and handled.outcome.reason == "unknown_continuation"
