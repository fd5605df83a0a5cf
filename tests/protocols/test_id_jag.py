"""ID-JAG (draft-ietf-oauth-identity-assertion-authz-grant): issuance at the IdP under managed
connections (§4.3) and redemption at the resource AS with the jwt-bearer grant (§4.4), client and
server cores against each other with no I/O. Every refusal: exact error code and status."""

import json

import pytest

from protocols.http import HttpRequest
from protocols.id_jag import GRANT_PROFILE_ID_JAG, IdJagClaims, validate_id_jag
from protocols.jose.jwt import verify_jwt
from protocols.jose.profiles import TokenProfile
from protocols.managed_connections import ManagedConnection, ScopeDecision, evaluate
from protocols.oauth.errors import InvalidGrant
from protocols.oauth.token_response import TokenResponse
from protocols.oidc.provider import Decision
from protocols.resource_authorization_server import KeysNeeded, MetadataRejected, ResourceAsMetadata
from protocols.token_exchange import (
    GRANT_TYPE_JWT_BEARER, TOKEN_TYPE_ID_JAG, TOKEN_TYPE_ID_TOKEN, TOKEN_TYPE_JWT, TokenExchangeRequest,
    TokenExchangeResponse,
)
from tests.protocols.oidc.harness import ISSUER, NOW, key, provider_keys
from tests.protocols.test_token_exchange import tamper_payload
from tests.protocols.token_exchange_harness import (
    AGENT_AT_PRICING, ALIAS, PRICING, PRICING_API, SARAH, actor_token, forged_id_jag, id_token, make_idp,
    make_pricing_as, post_exchange, redeem,
)


def jag_request(provider, *, subject=None, audience=(PRICING,), resource=(PRICING_API,), scope=("pricing:read",),
                subject_type=TOKEN_TYPE_ID_TOKEN, actor=None):
    return TokenExchangeRequest(subject_token=subject or id_token(provider), subject_token_type=subject_type,
                                requested_token_type=TOKEN_TYPE_ID_JAG, audience=audience, resource=resource,
                                scope=scope, actor_token=actor, actor_token_type=TOKEN_TYPE_JWT if actor else None)


def issue(provider, **changes) -> str:
    handled = post_exchange(provider, jag_request(provider, **changes))
    assert handled.response.status == 200, handled.response.body
    return TokenExchangeResponse.from_response(handled.response, expected_type=TOKEN_TYPE_ID_JAG).access_token


def error_of(handled):
    return handled.response.status, handled.response.json()["error"]


# ------------------------------------------------------------------------------ managed connections


def test_policy_sorts_scopes_and_defaults_to_the_granted_ones():
    connection = ManagedConnection(name="c", agent="a", target_issuer=PRICING, target_client_id="x",
                                   granted=("r",), needs_approval=("d",), refused=("w",))
    assert connection.decide("r") is ScopeDecision.GRANTED and connection.decide("w") is ScopeDecision.REFUSED
    assert connection.decide("d") is ScopeDecision.NEEDS_APPROVAL
    assert connection.decide("d", approved=True) is ScopeDecision.GRANTED
    assert connection.decide("zzz") is ScopeDecision.NOT_IN_POLICY
    assert evaluate(connection, requested=()).granted == ("r",)
    verdict = evaluate(connection, requested=("r", "w"))
    assert not verdict.allowed and verdict.explain() == "managed connection c always refuses w"
    with pytest.raises(ValueError):
        ManagedConnection(name="bad", agent="a", target_issuer=PRICING, target_client_id="x", granted=("r",),
                          refused=("r",))


# ------------------------------------------------------------------------------ issuance (§4.3)


def test_the_idp_exchanges_the_id_token_for_an_id_jag():
    provider, _ = make_idp()
    handled = post_exchange(provider, jag_request(provider))
    assert handled.response.status == 200 and handled.response.header("cache-control") == "no-store"
    body = handled.response.json()
    assert body["issued_token_type"] == TOKEN_TYPE_ID_JAG and body["token_type"] == "N_A"
    assert body["expires_in"] == 300 and body["scope"] == "pricing:read" and "refresh_token" not in body
    verified = verify_jwt(body["access_token"], keys=provider_keys(provider), now=NOW,
                          profile=TokenProfile.id_jag(issuer=ISSUER, audience=PRICING))
    assert verified.header["typ"] == "oauth-id-jag+jwt"
    claims = verified.claims
    assert claims["aud"] == PRICING and claims["client_id"] == AGENT_AT_PRICING and claims["sub"] == SARAH
    assert claims["resource"] == PRICING_API and claims["scope"] == "pricing:read" and "act" not in claims
    assert claims["amr"] == ["fed", "mfa"] and claims["email"] == "sarah@acme.test"
    outcome = handled.outcome
    assert (outcome.event, outcome.decision, outcome.subject, outcome.client_id) == (
        "id_jag.issued", Decision.ALLOW, SARAH, "sales-agent")
    assert outcome.details["client_id_at_target"] == AGENT_AT_PRICING and body["access_token"] in outcome.secrets


def test_an_audience_alias_maps_to_the_real_issuer():
    provider, _ = make_idp()
    token = issue(provider, audience=(ALIAS,), resource=())
    claims = verify_jwt(token, keys=provider_keys(provider), now=NOW,
                        profile=TokenProfile.id_jag(issuer=ISSUER, audience=PRICING)).claims
    assert claims["aud"] == PRICING and claims["resource"] == PRICING_API


def test_approval_required_scope_is_denied_until_approved():
    provider, grant = make_idp(approval=("pricing:discounts",))
    denied = post_exchange(provider, jag_request(provider, scope=("pricing:read", "pricing:discounts")))
    assert error_of(denied) == (400, "access_denied")
    assert "requires an approval for pricing:discounts" in denied.outcome.reason
    grant.record_approval(agent="sales-agent", subject=SARAH, target_issuer=PRICING, scope="pricing:discounts")
    token = issue(provider, scope=("pricing:read", "pricing:discounts"))
    assert IdJagClaims.from_claims(verify_jwt(
        token, keys=provider_keys(provider), now=NOW,
        profile=TokenProfile.id_jag(issuer=ISSUER, audience=PRICING)).claims).scope == ("pricing:read",
                                                                                          "pricing:discounts")


ISSUANCE_REFUSALS = [
    ("forbidden scope pricing:write", lambda p: jag_request(p, scope=("pricing:write",)), {}, 400, "invalid_scope"),
    ("forbidden scope mixed with an allowed one", lambda p: jag_request(p, scope=("pricing:read", "pricing:admin")),
     {}, 400, "invalid_scope"),
    ("scope outside the connection", lambda p: jag_request(p, scope=("crm:read",)), {}, 400, "invalid_scope"),
    ("wrong audience (unknown AS)", lambda p: jag_request(p, audience=("https://unknown-as.example",)), {}, 400,
     "invalid_target"),
    ("two audiences", lambda p: jag_request(p, audience=(PRICING, ALIAS)), {}, 400, "invalid_target"),
    ("no audience", lambda p: jag_request(p, audience=()), {}, 400, "invalid_request"),
    ("resource the connection does not cover", lambda p: jag_request(p, resource=("https://pricing.example/admin",)),
     {}, 400, "invalid_target"),
    ("no managed connection for this agent", lambda p: jag_request(p, subject=id_token(p, client_id="other-app")),
     {"client_id": "other-app", "signing_key": key("other")}, 400, "access_denied"),
    ("expired ID token", lambda p: jag_request(p, subject=id_token(p, now=NOW - 4000)), {}, 400, "invalid_grant"),
    ("ID token issued to another client", lambda p: jag_request(p, subject=id_token(p, client_id="other-app")), {},
     400, "invalid_grant"),
    ("ID token of another issuer", lambda p: jag_request(p, subject=id_token(p, issuer="https://evil.example")), {},
     400, "invalid_grant"),
    ("ID token signed with a foreign key", lambda p: jag_request(p, subject=id_token(p, signing_key=key("intruder"))),
     {}, 400, "invalid_grant"),
    ("ID token with tampered claims",
     lambda p: jag_request(p, subject=tamper_payload(id_token(p), sub="u-bob")), {}, 400, "invalid_grant"),
    ("alg none ID token",
     lambda p: jag_request(p, subject="eyJhbGciOiJub25lIn0." + tamper_payload(id_token(p)).split(".")[1] + "."), {},
     400, "invalid_grant"),
    ("an ID-JAG as subject token", lambda p: jag_request(p, subject=issue(p)), {}, 400, "invalid_grant"),
    ("access-token subject type", lambda p: jag_request(p, subject_type="urn:ietf:params:oauth:token-type:access_token"),
     {}, 400, "invalid_request"),
    ("actor token (undefined by the draft)", lambda p: jag_request(p, actor=actor_token()), {}, 400,
     "invalid_request"),
    ("no client authentication", lambda p: jag_request(p), {"auth": False}, 401, "invalid_client"),
]


@pytest.mark.parametrize("name,build,client,status,error", ISSUANCE_REFUSALS, ids=[c[0] for c in ISSUANCE_REFUSALS])
def test_issuance_refusals(name, build, client, status, error):
    provider, _ = make_idp()
    handled = post_exchange(provider, build(provider), **client)
    assert error_of(handled) == (status, error), handled.response.body
    if status != 401:
        assert handled.outcome.event == "id_jag.denied" and handled.outcome.decision is Decision.DENY
        assert handled.outcome.reason.startswith(error)


def test_forbidden_scope_refusal_names_the_user_and_the_managed_connection():
    provider, _ = make_idp()
    handled = post_exchange(provider, jag_request(provider, scope=("pricing:write",)))
    outcome = handled.outcome
    assert outcome.subject == SARAH and outcome.client_id == "sales-agent"
    assert outcome.reason == "invalid_scope: managed connection sales-agent -> pricing-as always refuses pricing:write"
    assert outcome.details["connection"] == "sales-agent -> pricing-as"


# ------------------------------------------------------------------------------ redemption (§4.4)


def test_the_resource_as_redeems_the_id_jag_for_an_access_token_without_refresh_token():
    provider, _ = make_idp()
    server = make_pricing_as()
    assertion = issue(provider)
    handled = redeem(server, assertion, provider=provider)
    assert handled.response.status == 200, handled.response.body
    tokens = TokenResponse.from_response(handled.response)
    assert tokens.refresh_token is None and tokens.scope == ("pricing:read",) and tokens.expires_in == 600
    claims = verify_jwt(tokens.access_token, keys=server.public_keys(now=NOW), now=NOW,
                        profile=TokenProfile.access_token(issuer=PRICING, audience=PRICING_API)).claims
    assert (claims["sub"], claims["client_id"], claims["scope"]) == (SARAH, AGENT_AT_PRICING, "pricing:read")
    outcome = handled.outcome
    assert (outcome.event, outcome.subject, outcome.client_id) == ("id_jag.redeemed", SARAH, AGENT_AT_PRICING)
    assert server.subjects == {(ISSUER, SARAH): "sarah@acme.test"}


def test_re_presenting_the_same_id_jag_gives_a_fresh_token_as_the_draft_allows():
    provider, _ = make_idp()
    server = make_pricing_as()
    assertion = issue(provider)
    first, second = redeem(server, assertion, provider=provider), redeem(server, assertion, provider=provider)
    assert first.response.status == second.response.status == 200
    assert first.response.json()["access_token"] != second.response.json()["access_token"]
    assert second.outcome.details["presentation"] == 2 and "re-presented" in second.outcome.reason


def test_keys_are_fetched_once_and_refreshed_after_a_rotation_only_when_needed():
    provider, _ = make_idp()
    server = make_pricing_as()
    request_assertion = issue(provider)
    from tests.protocols.token_exchange_harness import form_request
    request = form_request(PRICING + "/token", [("grant_type", GRANT_TYPE_JWT_BEARER), ("assertion", request_assertion)])
    assert server.handle(request, now=NOW) == KeysNeeded(issuer=ISSUER)
    server.update_keys(ISSUER, provider_keys(provider), now=NOW)
    assert not isinstance(server.handle(request, now=NOW), KeysNeeded)  # known kid: no fetch
    # an ID-JAG with an unknown kid asks again — but not within the refresh interval
    foreign = forged_id_jag(signing_key=key("intruder"))
    req2 = form_request(PRICING + "/token", [("grant_type", GRANT_TYPE_JWT_BEARER), ("assertion", foreign)])
    assert not isinstance(server.handle(req2, now=NOW + 10), KeysNeeded)
    assert server.handle(req2, now=NOW + 120) == KeysNeeded(issuer=ISSUER)


def test_narrowing_keeps_only_what_the_client_is_registered_for():
    provider, _ = make_idp()
    server = make_pricing_as()
    signed = forged_id_jag(signing_key=provider.keyring.active, scope=("pricing:read", "pricing:write"))
    handled = redeem(server, signed, provider=provider)
    assert handled.response.json()["scope"] == "pricing:read"
    assert handled.outcome.details["narrowed_out"] == "pricing:write"


REDEMPTION_REFUSALS = [
    ("expired ID-JAG", lambda p: issue(p), {"now": NOW + 400}, 400, "invalid_grant"),
    ("untrusted issuer", lambda p: forged_id_jag(signing_key=key("evil-idp"), issuer="https://evil-idp.example"), {},
     400, "invalid_grant"),
    ("bad signature (payload altered)", lambda p: tamper_payload(issue(p), scope="pricing:read pricing:admin"), {},
     400, "invalid_grant"),
    ("signed by a key the IdP never published", lambda p: forged_id_jag(signing_key=key("intruder")), {}, 400,
     "invalid_grant"),
    ("wrong typ: the ID token itself", lambda p: id_token(p), {}, 400, "invalid_grant"),
    ("wrong typ: JWT", lambda p: forged_id_jag(signing_key=p.keyring.active, typ="JWT"), {}, 400, "invalid_grant"),
    ("missing typ", lambda p: forged_id_jag(signing_key=p.keyring.active, typ=None), {}, 400, "invalid_grant"),
    ("alg none", lambda p: "eyJhbGciOiJub25lIiwidHlwIjoib2F1dGgtaWQtamFnK2p3dCJ9." + issue(p).split(".")[1] + ".",
     {}, 400, "invalid_grant"),
    ("ID-JAG for another AS", lambda p: forged_id_jag(signing_key=p.keyring.active, audience="https://crm-as.example"),
     {}, 400, "invalid_grant"),
    ("aud with a second audience", lambda p: forged_id_jag(signing_key=p.keyring.active, aud=[PRICING, "x"]), {}, 400,
     "invalid_grant"),
    ("lifetime beyond the cap", lambda p: forged_id_jag(signing_key=p.keyring.active, lifetime=3600), {}, 400,
     "invalid_grant"),
    ("client_id of another client", lambda p: issue(p),
     {"client_id": "other-client", "signing_key": key("other@pricing")}, 400, "invalid_grant"),
    ("missing client authentication", lambda p: issue(p), {"auth": False}, 401, "invalid_client"),
    ("wrong client authentication (the agent's IdP key)", lambda p: issue(p), {"signing_key": key("agent")}, 401,
     "invalid_client"),
    ("unknown client", lambda p: issue(p), {"client_id": "nobody"}, 401, "invalid_client"),
    ("client not registered for jwt-bearer", lambda p: issue(p),
     {"client_id": "no-bearer", "signing_key": key("nobearer@pricing")}, 400, "unauthorized_client"),
    ("scope beyond the ID-JAG", lambda p: issue(p), {"extra": [("scope", "pricing:write")]}, 400, "invalid_scope"),
    ("only scopes the client may not have", lambda p: forged_id_jag(signing_key=p.keyring.active,
                                                                    scope=("pricing:admin",)), {}, 400,
     "invalid_scope"),
    ("resource outside the ID-JAG", lambda p: issue(p), {"extra": [("resource", "https://pricing.example/other")]}, 400,
     "invalid_target"),
    ("two assertions", lambda p: issue(p), {"extra": [("assertion", "x.y.z")]}, 400, "invalid_request"),
]


@pytest.mark.parametrize("name,build,kwargs,status,error", REDEMPTION_REFUSALS,
                         ids=[c[0] for c in REDEMPTION_REFUSALS])
def test_redemption_refusals(name, build, kwargs, status, error):
    provider, _ = make_idp()
    server = make_pricing_as()
    handled = redeem(server, build(provider), provider=provider, **kwargs)
    assert (handled.response.status, handled.response.json()["error"]) == (status, error), handled.response.body
    assert handled.outcome.decision is Decision.DENY and handled.outcome.reason.startswith(error)


def test_an_id_jag_is_useless_at_the_idp_itself_and_at_another_as():
    provider, _ = make_idp()
    assertion = issue(provider)
    from tests.protocols.token_exchange_harness import auth_params, form_request
    at_idp = provider.handle(form_request(ISSUER + "/token", [("grant_type", GRANT_TYPE_JWT_BEARER),
                                                              ("assertion", assertion), *auth_params()]), now=NOW)
    assert (at_idp.response.status, at_idp.response.json()["error"]) == (400, "unsupported_grant_type")
    other_as = make_pricing_as(issuer="https://crm-as.example")
    handled = redeem(other_as, assertion, provider=provider)
    assert (handled.response.status, handled.response.json()["error"]) == (400, "invalid_grant")
    assert "wrong_audience" in handled.response.json()["error_description"]


def test_validate_id_jag_checks_client_continuity_directly():
    provider, _ = make_idp()
    assertion = issue(provider)
    claims = validate_id_jag(assertion, trusted={ISSUER: provider_keys(provider)}, audience=PRICING,
                             client_id=AGENT_AT_PRICING, now=NOW)
    assert claims.client_id == AGENT_AT_PRICING and claims.resource == (PRICING_API,)
    with pytest.raises(InvalidGrant):
        validate_id_jag(assertion, trusted={ISSUER: provider_keys(provider)}, audience=PRICING, client_id="x", now=NOW)


def test_metadata_announces_the_id_jag_profile_and_not_the_trusted_idps():
    server = make_pricing_as()
    response = server.handle(HttpRequest.get(PRICING + "/.well-known/oauth-authorization-server"), now=NOW).response
    document = response.json()
    assert document["authorization_grant_profiles_supported"] == [GRANT_PROFILE_ID_JAG]
    assert document["grant_types_supported"] == [GRANT_TYPE_JWT_BEARER] and ISSUER not in json.dumps(document)
    assert ResourceAsMetadata.from_json(document, expected_issuer=PRICING).token_endpoint == PRICING + "/token"
    with pytest.raises(MetadataRejected):
        ResourceAsMetadata.from_json(document, expected_issuer="https://other.example")
    with pytest.raises(MetadataRejected):
        ResourceAsMetadata.from_json({**document, "authorization_grant_profiles_supported": []},
                                     expected_issuer=PRICING)
    assert server.handle(HttpRequest.get(PRICING + "/token"), now=NOW).response.status == 405
    assert server.handle(HttpRequest.get(PRICING + "/nope"), now=NOW).response.status == 404
