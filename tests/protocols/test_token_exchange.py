"""RFC 8693 token exchange: the generic request/response/claim types, and the enterprise IdP's
delegation grant (``at+jwt`` for a named target, ``act`` for the agent, chains, ``may_act``) with
its error matrix — exact code and status for every refusal."""

import base64
import json

import pytest

from protocols.access_token import access_token_claims, mint_access_token
from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.jose.jwks import JwkSet
from protocols.jose.jwt import sign_jwt
from protocols.jose.profiles import TokenProfile
from protocols.jose.jwt import verify_jwt
from protocols.oauth.errors import InvalidGrant, InvalidRequest
from protocols.oidc.provider import Decision
from protocols.token_exchange import (
    GRANT_TYPE_TOKEN_EXCHANGE, TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_ID_JAG, TOKEN_TYPE_ID_TOKEN, TOKEN_TYPE_JWT,
    ActClaim, InvalidActClaim, MayAct, TokenExchangeRequest, TokenExchangeResponse, TokenExchangeResponseRejected,
    delegate, token_request_form,
)
from tests.protocols.oidc.harness import ISSUER, NOW, key, provider_keys
from tests.protocols.token_exchange_harness import (
    CRM, SARAH, actor_token, form_request, id_token, make_idp, post_exchange,
)

# ------------------------------------------------------------------------------ request parsing


def test_request_round_trips_with_repeated_audience_and_resource():
    request = TokenExchangeRequest(subject_token="subj", subject_token_type=TOKEN_TYPE_ID_TOKEN,
                                   actor_token="act", actor_token_type=TOKEN_TYPE_JWT, audience=("a", "b"),
                                   resource=("https://r.example/1", "https://r.example/2"), scope=("x", "y"))
    form = token_request_form(form_request("https://idp/token", request.to_form()))
    assert form["audience"] == ("a", "b") and form["resource"] == ("https://r.example/1", "https://r.example/2")
    assert TokenExchangeRequest.from_form(form) == request
    assert TokenExchangeRequest.from_form(form).is_delegation


def test_repetition_is_only_allowed_for_audience_and_resource_of_a_token_exchange():
    body = [("grant_type", GRANT_TYPE_TOKEN_EXCHANGE), ("scope", "a"), ("scope", "b")]
    with pytest.raises(MalformedBody):
        token_request_form(form_request("https://idp/token", body))
    code = [("grant_type", "authorization_code"), ("resource", "https://a.example"), ("resource", "https://b.example")]
    with pytest.raises(MalformedBody):
        token_request_form(form_request("https://idp/token", code))


@pytest.mark.parametrize("changes,problem", [
    ({"subject_token": None}, "subject_token"),
    ({"subject_token_type": None}, "subject_token"),
    ({"actor_token_type": None}, "actor_token_type"),
    ({"actor_token": None}, "actor_token_type"),
    ({"subject_token_type": "id_token"}, "token type URI"),
    ({"resource": "relative/path"}, "absolute URI"),
    ({"resource": "https://r.example/#frag"}, "absolute URI"),
    ({"scope": "a  b"}, "scope"),
    ({"grant_type": "authorization_code"}, "grant_type"),
])
def test_malformed_requests_are_invalid_request(changes, problem):
    form = {"grant_type": GRANT_TYPE_TOKEN_EXCHANGE, "subject_token": "s", "subject_token_type": TOKEN_TYPE_ID_TOKEN,
            "actor_token": "a", "actor_token_type": TOKEN_TYPE_JWT}
    form.update(changes)
    form = {k: v for k, v in form.items() if v is not None}
    with pytest.raises(InvalidRequest) as info:
        TokenExchangeRequest.from_form(form)
    assert problem in info.value.description and info.value.status == 400


def test_response_requires_issued_token_type_and_n_a_for_non_access_tokens():
    good = TokenExchangeResponse(access_token="jag", issued_token_type=TOKEN_TYPE_ID_JAG, token_type="N_A",
                                 expires_in=300, scope=("pricing:read",))
    parsed = TokenExchangeResponse.from_response(good.to_response(), expected_type=TOKEN_TYPE_ID_JAG)
    assert parsed == good and good.to_response().header("cache-control") == "no-store"
    for body in ({"access_token": "x", "token_type": "N_A"},
                 {"access_token": "x", "issued_token_type": TOKEN_TYPE_ID_JAG, "token_type": "Bearer"}):
        with pytest.raises(TokenExchangeResponseRejected):
            TokenExchangeResponse.from_response(HttpResponse.json_body(body, no_store=True))
    with pytest.raises(TokenExchangeResponseRejected):
        TokenExchangeResponse.from_response(good.to_response(), expected_type=TOKEN_TYPE_ACCESS_TOKEN)
    with pytest.raises(InvalidGrant):
        TokenExchangeResponse.from_response(InvalidGrant("no").to_response())


# ------------------------------------------------------------------------------ act / may_act


def test_act_chain_nests_the_previous_actor_and_round_trips():
    first = delegate(actor_sub="orchestrator", actor_iss=ISSUER)
    second = delegate(actor_sub="sub-agent", actor_iss=ISSUER, prior=first)
    claim = second.to_claim()
    assert claim == {"sub": "sub-agent", "iss": ISSUER, "act": {"sub": "orchestrator", "iss": ISSUER}}
    assert ActClaim.from_claim(claim) == second and second.chain_subjects() == ("sub-agent", "orchestrator")


@pytest.mark.parametrize("claim", [
    "agent", {"iss": ISSUER}, {"sub": ""}, {"sub": "a", "exp": NOW}, {"sub": "a", "act": {"sub": 3}},
    {"sub": "a", "act": "b"},
])
def test_malformed_act_claims_are_refused(claim):
    with pytest.raises(InvalidActClaim):
        ActClaim.from_claim(claim)


def test_act_chain_depth_is_bounded():
    claim: dict = {"sub": "a0"}
    for i in range(1, 12):
        claim = {"sub": f"a{i}", "act": claim}
    with pytest.raises(InvalidActClaim):
        ActClaim.from_claim(claim)


def test_may_act_matches_every_member_it_names():
    may = MayAct.from_claim({"sub": "agent-b", "iss": ISSUER})
    assert may.permits(actor_sub="agent-b", actor_iss=ISSUER)
    assert not may.permits(actor_sub="agent-b", actor_iss="https://elsewhere")
    assert not may.permits(actor_sub="agent-c", actor_iss=ISSUER)
    with pytest.raises(InvalidActClaim):
        MayAct.from_claim({"sub": "a", "act": {"sub": "b"}})


# ------------------------------------------------------------------------------ the IdP's delegation grant


def delegation_request(provider, *, subject=None, subject_type=TOKEN_TYPE_ID_TOKEN, actor="default", audience=(),
                       resource=(CRM,), scope=("mcp:crm:read",), requested=TOKEN_TYPE_ACCESS_TOKEN):
    return TokenExchangeRequest(
        subject_token=subject or id_token(provider), subject_token_type=subject_type,
        actor_token=actor_token() if actor == "default" else actor, actor_token_type=TOKEN_TYPE_JWT if actor else None,
        requested_token_type=requested, audience=audience, resource=resource, scope=scope)


def access_claims(provider, token, audience):
    return verify_jwt(token, keys=provider_keys(provider), now=NOW,
                      profile=TokenProfile.access_token(issuer=ISSUER, audience=audience)).claims


def test_delegation_issues_an_at_jwt_for_one_target_with_act_naming_the_agent():
    provider, _ = make_idp()
    handled = post_exchange(provider, delegation_request(provider))
    assert handled.response.status == 200, handled.response.body
    body = TokenExchangeResponse.from_response(handled.response, expected_type=TOKEN_TYPE_ACCESS_TOKEN)
    assert body.token_type == "Bearer" and body.scope == ("mcp:crm:read",) and body.expires_in == 300
    claims = access_claims(provider, body.access_token, CRM)
    assert claims["sub"] == SARAH and claims["aud"] == CRM and claims["client_id"] == "sales-agent"
    assert claims["act"] == {"sub": "sales-agent", "iss": ISSUER} and claims["scope"] == "mcp:crm:read"
    outcome = handled.outcome
    assert (outcome.event, outcome.decision, outcome.subject, outcome.client_id) == (
        "token.exchanged", Decision.ALLOW, SARAH, "sales-agent")
    assert outcome.details["act_chain"] == ["sales-agent"] and body.access_token in outcome.secrets
    assert outcome.details["subject_jti"] == f"id-{SARAH}-sales-agent-{NOW}"  # token lineage (reports/lineage.py)


def test_default_scope_is_the_targets_and_never_outlives_the_subject():
    provider, _ = make_idp()
    subject = id_token(provider, now=NOW - 3500)  # 100 s of life left
    body = TokenExchangeResponse.from_response(post_exchange(
        provider, delegation_request(provider, subject=subject, scope=())).response)
    assert set(body.scope) == {"mcp:crm:read", "mcp:crm:write"} and body.expires_in == 100


def test_may_act_naming_this_actor_is_honoured():
    provider, _ = make_idp()
    subject = idp_access_token(provider, may_act=MayAct(sub="sales-agent", iss=ISSUER))
    handled = post_exchange(provider, delegation_request(provider, subject=subject,
                                                         subject_type=TOKEN_TYPE_ACCESS_TOKEN))
    assert handled.response.status == 200, handled.response.body
    assert handled.outcome.details["act_chain"] == ["sales-agent", "other-app"]
    assert handled.outcome.details["subject_jti"] == "at-1"


def test_chain_nests_act_and_requires_may_act():
    provider, _ = make_idp()
    # hop 1: sales-agent gets a token addressed to other-app, which carries may_act for other-app
    hop1 = post_exchange(provider, delegation_request(provider, resource=(), audience=("other-app",)))
    token1 = TokenExchangeResponse.from_response(hop1.response).access_token
    claims1 = access_claims(provider, token1, "other-app")
    assert claims1["may_act"] == {"sub": "other-app", "iss": ISSUER}
    # hop 2: other-app exchanges it for a CRM token; act nests the first actor
    request = delegation_request(provider, subject=token1, subject_type=TOKEN_TYPE_ACCESS_TOKEN,
                                 actor=actor_token(client_id="other-app", signing_key=key("other")))
    hop2 = post_exchange(provider, request, client_id="other-app", signing_key=key("other"))
    assert hop2.response.status == 200, hop2.response.body
    claims2 = access_claims(provider, TokenExchangeResponse.from_response(hop2.response).access_token, CRM)
    assert claims2["act"] == {"sub": "other-app", "iss": ISSUER, "act": {"sub": "sales-agent", "iss": ISSUER}}
    assert claims2["sub"] == SARAH and hop2.outcome.details["act_chain"] == ["other-app", "sales-agent"]


def tamper_payload(token: str, **changes) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    encoded = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{encoded}.{signature}"


def hop_token(provider):
    hop1 = post_exchange(provider, delegation_request(provider, resource=(), audience=("other-app",)))
    return TokenExchangeResponse.from_response(hop1.response).access_token


def idp_access_token(provider, *, may_act):
    """An at+jwt the IdP signed for the sales agent (as another policy might have minted it)."""
    claims = access_token_claims(issuer=ISSUER, subject=SARAH, audience="sales-agent", client_id="other-app",
                                 scope=("mcp:crm:read",), issued_at=NOW, expires_at=NOW + 300, jti="at-1",
                                 act=delegate(actor_sub="other-app", actor_iss=ISSUER), may_act=may_act)
    return mint_access_token(claims=claims, key=provider.keyring.active)


def refusal(handled, error, status):
    assert handled.response.status == status, handled.response.body
    assert handled.response.json()["error"] == error
    assert handled.outcome.decision is Decision.DENY and handled.outcome.reason.startswith(error)
    return handled.outcome


NEGATIVE = [
    # (name, build(provider) -> (request or pairs, client kwargs), error, status)
    ("no client authentication",
     lambda p: (delegation_request(p), {"auth": False}), "invalid_client", 401),
    ("client not allowed the grant",
     lambda p: (delegation_request(p), {"client_id": "mfa-app", "signing_key": key("mfa-app")}),
     "unauthorized_client", 400),
    ("missing subject_token",
     lambda p: ([("grant_type", GRANT_TYPE_TOKEN_EXCHANGE), ("subject_token_type", TOKEN_TYPE_ID_TOKEN)], {}),
     "invalid_request", 400),
    ("subject ID token issued to another client",
     lambda p: (delegation_request(p, subject=id_token(p, client_id="other-app")), {}), "invalid_request", 400),
    ("expired subject token",
     lambda p: (delegation_request(p, subject=id_token(p, now=NOW - 4000)), {}), "invalid_request", 400),
    ("subject token from another issuer",
     lambda p: (delegation_request(p, subject=id_token(p, issuer="https://evil.example")), {}), "invalid_request", 400),
    ("alg none subject token",
     lambda p: (delegation_request(p, subject="eyJhbGciOiJub25lIn0." + base64.urlsafe_b64encode(json.dumps(
         {"iss": ISSUER, "sub": SARAH, "aud": "sales-agent", "exp": NOW + 60, "iat": NOW}).encode()).rstrip(b"=")
         .decode() + "."), {}), "invalid_request", 400),
    ("no actor token (impersonation refused)",
     lambda p: (delegation_request(p, actor=None), {}), "invalid_request", 400),
    ("actor token of another agent",
     lambda p: (delegation_request(p, actor=actor_token(client_id="other-app", signing_key=key("other"))), {}),
     "invalid_request", 400),
    ("actor token signed with the wrong key",
     lambda p: (delegation_request(p, actor=actor_token(signing_key=key("intruder"))), {}), "invalid_request", 400),
    ("act chain tampered in the subject token",
     lambda p: (delegation_request(p, subject=tamper_payload(hop_token(p), act={"sub": "ceo-agent"}),
                                   subject_type=TOKEN_TYPE_ACCESS_TOKEN,
                                   actor=actor_token(client_id="other-app", signing_key=key("other"))),
                {"client_id": "other-app", "signing_key": key("other")}), "invalid_request", 400),
    ("hop token presented by an agent it is not addressed to",
     lambda p: (delegation_request(p, subject=hop_token(p), subject_type=TOKEN_TYPE_ACCESS_TOKEN), {}),
     "invalid_request", 400),
    ("may_act names another actor",
     lambda p: (delegation_request(p, subject=idp_access_token(p, may_act=MayAct(sub="other-app", iss=ISSUER)),
                                   subject_type=TOKEN_TYPE_ACCESS_TOKEN), {}), "invalid_request", 400),
    ("access-token subject without may_act",
     lambda p: (delegation_request(p, subject=idp_access_token(p, may_act=None),
                                   subject_type=TOKEN_TYPE_ACCESS_TOKEN), {}), "invalid_request", 400),
    ("unknown audience",
     lambda p: (delegation_request(p, resource=("https://unknown.example/mcp",)), {}), "invalid_target", 400),
    ("two targets in one request",
     lambda p: (delegation_request(p, audience=("other-app",)), {}), "invalid_target", 400),
    ("scope beyond the target",
     lambda p: (delegation_request(p, scope=("mcp:crm:read", "mcp:crm:admin")), {}), "invalid_scope", 400),
    ("scope beyond the subject token (no widening on a hop)",
     lambda p: (delegation_request(p, subject=hop_token(p), subject_type=TOKEN_TYPE_ACCESS_TOKEN,
                                   actor=actor_token(client_id="other-app", signing_key=key("other")),
                                   scope=("mcp:crm:write",)),
                {"client_id": "other-app", "signing_key": key("other")}), "invalid_scope", 400),
    ("unsupported requested_token_type",
     lambda p: (delegation_request(p, requested="urn:ietf:params:oauth:token-type:saml2"), {}),
     "invalid_request", 400),
]


@pytest.mark.parametrize("name,build,error,status", NEGATIVE, ids=[n[0] for n in NEGATIVE])
def test_delegation_refusals_have_the_rfc_8693_code_and_status(name, build, error, status):
    provider, _ = make_idp()
    request, client = build(provider)
    handled = post_exchange(provider, request, **client)
    assert handled.response.status == status, handled.response.body
    assert handled.response.json()["error"] == error


def test_actor_token_replay_is_refused():
    provider, _ = make_idp()
    actor = actor_token()
    assert post_exchange(provider, delegation_request(provider, actor=actor)).response.status == 200
    outcome = refusal(post_exchange(provider, delegation_request(provider, actor=actor)), "invalid_request", 400)
    assert outcome.subject == SARAH and "already used" in outcome.reason


def test_refusal_after_the_subject_is_known_names_the_user():
    provider, _ = make_idp()
    outcome = refusal(post_exchange(provider, delegation_request(provider, scope=("mcp:crm:admin",))),
                      "invalid_scope", 400)
    assert (outcome.event, outcome.subject, outcome.client_id) == ("token.exchange_denied", SARAH, "sales-agent")


def test_revoked_subject_token_is_refused():
    provider, _ = make_idp()
    subject = id_token(provider)
    provider.record_issued(jti=f"id-{SARAH}-sales-agent-{NOW}", subject=SARAH, client_id="sales-agent",
                           expires_at=NOW + 3600)
    provider.revoke_subject(SARAH, now=NOW)
    refusal(post_exchange(provider, delegation_request(provider, subject=subject)), "invalid_request", 400)


def test_repeated_audience_is_parsed_and_refused_as_invalid_target_not_malformed():
    provider, _ = make_idp()
    pairs = delegation_request(provider, resource=(), audience=(CRM, "other-app")).to_form()
    assert [name for name, _ in pairs].count("audience") == 2
    refusal(post_exchange(provider, pairs), "invalid_target", 400)
    same = delegation_request(provider, audience=(CRM,), resource=(CRM,))
    assert post_exchange(provider, same).response.status == 200


def test_provider_metadata_advertises_the_grant_and_the_id_jag_type():
    provider, _ = make_idp()
    document = provider.handle(HttpRequest.get(ISSUER + "/.well-known/openid-configuration"), now=NOW).response.json()
    assert GRANT_TYPE_TOKEN_EXCHANGE in document["grant_types_supported"]
    assert document["identity_chaining_requested_token_types_supported"] == [TOKEN_TYPE_ID_JAG]


def test_exchange_tokens_verify_with_the_published_jwks_only():
    provider, _ = make_idp()
    token = TokenExchangeResponse.from_response(post_exchange(provider, delegation_request(provider)).response)
    published = JwkSet.from_json(provider.handle(HttpRequest.get(ISSUER + "/jwks"), now=NOW).response.json())
    assert verify_jwt(token.access_token, keys=published, now=NOW,
                      profile=TokenProfile.access_token(issuer=ISSUER, audience=CRM)).header["typ"] == "at+jwt"
    forged = sign_jwt(claims={"iss": ISSUER}, key=key("intruder"), typ="at+jwt")
    pairs = delegation_request(provider, subject=forged, subject_type=TOKEN_TYPE_ACCESS_TOKEN).to_form()
    refusal(post_exchange(provider, pairs), "invalid_request", 400)

