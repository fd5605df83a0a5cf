"""RFC 7662 introspection and RFC 7009 revocation at the resource AS (the pricing AS core), with
the protected resource's client side, no I/O. Every answer's exact members; every refusal's exact
error code and status."""

import json

import attrs
import pytest

from protocols.access_token import access_token_claims, mint_access_token
from protocols.http import HttpRequest, HttpResponse
from protocols.oauth.client_auth import ClientRegistration, client_assertion_params
from protocols.oauth.errors import InvalidClient
from protocols.oauth.introspection import IntrospectionFailed, IntrospectionResponse, introspection_request
from protocols.oauth.revocation import revocation_request
from protocols.oauth.token_response import TokenResponse
from protocols.resource_authorization_server import ResourceAsMetadata
from tests.protocols.oidc.harness import NOW, jwks_of, key
from tests.protocols.test_id_jag import issue
from tests.protocols.token_exchange_harness import (
    AGENT_AT_PRICING, PRICING, PRICING_API, SARAH, entropy, form_request, make_idp, make_pricing_as, pricing_key,
    redeem,
)

RS = "pricing-api"


def rs_key():
    return key("rs@pricing")


def server_with_token(**server_args):
    """A pricing AS with the pricing API registered as a protected resource, and a live token."""
    provider, _ = make_idp()
    server = make_pricing_as(**server_args)
    server.register_resource_server(ClientRegistration(client_id=RS, name="pricing API", redirect_uris=(),
                                                       jwks=jwks_of(rs_key())), resources=frozenset({PRICING_API}))
    handled = redeem(server, issue(provider), provider=provider)
    assert handled.response.status == 200, handled.response.body
    return server, TokenResponse.from_response(handled.response).access_token


def auth(client_id=RS, signing_key=None, now=NOW):
    return client_assertion_params(client_id=client_id, audience=PRICING, key=signing_key or rs_key(), now=now,
                                   entropy=entropy())


def introspect(server, token, *, now=NOW, **auth_args):
    request = introspection_request(endpoint=PRICING + "/introspect", token=token, client_params=auth(now=now,
                                                                                                     **auth_args))
    return server.handle(request, now=now)


def revoke(server, token, *, client_id=AGENT_AT_PRICING, signing_key=None, hint=None, now=NOW):
    request = revocation_request(endpoint=PRICING + "/revoke", token=token, token_type_hint=hint,
                                 client_params=auth(client_id=client_id, signing_key=signing_key or pricing_key(),
                                                    now=now))
    return server.handle(request, now=now)


def test_an_active_token_is_described_with_exactly_the_rfc_7662_members():
    server, token = server_with_token()
    handled = introspect(server, token)
    assert handled.response.status == 200 and handled.response.header("cache-control") == "no-store"
    body = handled.response.json()
    assert set(body) == {"active", "scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti", "token_type"}
    assert (body["active"], body["scope"], body["client_id"], body["sub"], body["aud"], body["iss"]) == (
        True, "pricing:read", AGENT_AT_PRICING, SARAH, PRICING_API, PRICING)
    assert body["exp"] == NOW + 600 and body["iat"] == NOW and body["token_type"] == "Bearer"
    outcome = handled.outcome
    assert (outcome.event, outcome.decision.value, outcome.client_id, outcome.subject) == (
        "token.introspected", "allow", AGENT_AT_PRICING, SARAH)
    assert outcome.details == {"client": RS, "active": True, "jti": body["jti"], "kind": "access_token"}
    assert token not in json.dumps(outcome.details) and token in outcome.secrets
    answer = IntrospectionResponse.from_response(handled.response)
    assert answer.active and answer.scope == ("pricing:read",)


def test_an_act_claim_is_passed_on():
    assert IntrospectionResponse.for_claims({"jti": "j", "act": {"sub": "agent"}, "nonce": "x"}).to_json() == {
        "active": True, "jti": "j", "act": {"sub": "agent"}, "token_type": "Bearer"}


def _revoked_by_its_client(server, token):
    assert revoke(server, token).response.status == 200


def _client_removed(server, token):
    del server.clients[AGENT_AT_PRICING]


def _client_removed_then_registered_again(server, token):
    registration = server.clients.pop(AGENT_AT_PRICING)
    server.revoke_client(AGENT_AT_PRICING, now=NOW)
    server.register_client(registration)


def _scope_withdrawn(server, token):
    server.register_client(attrs.evolve(server.clients[AGENT_AT_PRICING], scopes=frozenset()))


INACTIVE = [
    ("revoked by its client (RFC 7009)", _revoked_by_its_client, NOW, "inactive: revoked"),
    ("client removed", _client_removed, NOW, f"inactive: client {AGENT_AT_PRICING} is no longer registered"),
    ("client removed and registered again", _client_removed_then_registered_again, NOW, "inactive: revoked"),
    ("scope withdrawn from the client", _scope_withdrawn, NOW,
     f"inactive: scope pricing:read is no longer granted to client {AGENT_AT_PRICING}"),
    ("expired (no leeway at the issuer)", lambda s, t: None, NOW + 600, "inactive: expired"),
]


@pytest.mark.parametrize("name,change,now,reason", INACTIVE, ids=[c[0] for c in INACTIVE])
def test_an_ended_token_is_inactive_and_nothing_else(name, change, now, reason):
    server, token = server_with_token()
    assert introspect(server, token).response.json()["active"] is True
    change(server, token)
    handled = introspect(server, token, now=now)
    assert (handled.response.status, handled.response.body) == (200, b'{"active":false}')
    outcome = handled.outcome
    assert (outcome.event, outcome.decision.value, outcome.reason) == ("token.introspected", "deny", reason)
    if now == NOW:
        assert outcome.details["jti"] and outcome.client_id == AGENT_AT_PRICING


def test_unknown_and_foreign_tokens_are_inactive():
    server, token = server_with_token()
    provider, _ = make_idp()

    def minted(issuer, signing_key):
        return mint_access_token(key=signing_key, claims=access_token_claims(
            issuer=issuer, subject=SARAH, audience=PRICING_API, client_id=AGENT_AT_PRICING, scope=("pricing:read",),
            issued_at=NOW, expires_at=NOW + 600, jti="forged-1"))

    for presented in (minted(PRICING, key("forger")), minted("https://other.example", server.keyring.active),
                      issue(provider), "not-a-jwt"):
        reason = "not an access token of this authorization server"
        handled = introspect(server, presented)
        assert handled.response.body == b'{"active":false}', presented
        assert handled.outcome.reason == f"inactive: {reason}" and "jti" not in handled.outcome.details
    # signed with our own key but never issued (not on record): unknown
    handled = introspect(server, minted(PRICING, server.keyring.active))
    assert handled.response.body == b'{"active":false}'
    assert handled.outcome.reason == "inactive: unknown to this authorization server"
    # a token the AS signed for a resource the caller does not serve: not the caller's to see (RFC 7662 §4)
    server.register_resource_server(ClientRegistration(client_id="nothing", name="serves nothing", redirect_uris=(),
                                                       jwks=jwks_of(key("nothing"))), resources=frozenset())
    handled = introspect(server, token, client_id="nothing", signing_key=key("nothing"))
    assert handled.response.body == b'{"active":false}'
    assert handled.outcome.reason == "inactive: issued for a resource the caller does not serve"
    with pytest.raises(ValueError, match="not a resource"):
        server.register_resource_server(ClientRegistration(client_id="x", name="x", redirect_uris=(),
                                                           jwks=jwks_of(key("x"))), resources=frozenset({"https://x"}))


def _post(server, pairs, **headers):
    return server.handle(form_request(PRICING + "/introspect", pairs, **headers), now=NOW)


# (name, build(server, token) -> Handled, status, error)
REFUSED = [
    ("no client authentication", lambda s, t: _post(s, [("token", t)]), 401, "invalid_client"),
    ("an agent client (not a protected resource)",
     lambda s, t: introspect(s, t, client_id=AGENT_AT_PRICING, signing_key=pricing_key()), 401, "invalid_client"),
    ("the resource's assertion signed with another key",
     lambda s, t: introspect(s, t, signing_key=key("intruder")), 401, "invalid_client"),
    ("a replayed client assertion", lambda s, t: [_post(s, [("token", t), *p]) for p in [list(auth().items())] * 2][1],
     401, "invalid_client"),
    ("no token", lambda s, t: _post(s, list(auth().items())), 400, "invalid_request"),
    ("a JSON body", lambda s, t: s.handle(HttpRequest.json_post(url=PRICING + "/introspect", payload={"token": t}),
                                          now=NOW), 400, "invalid_request"),
    ("GET", lambda s, t: s.handle(HttpRequest.get(PRICING + "/introspect"), now=NOW), 405, "method_not_allowed"),
]


@pytest.mark.parametrize("name,build,status,error", REFUSED, ids=[c[0] for c in REFUSED])
def test_introspection_refusals(name, build, status, error):
    server, token = server_with_token()
    handled = build(server, token)
    assert (handled.response.status, handled.response.json()["error"]) == (status, error)
    if status == 401:
        assert handled.response.header("www-authenticate").startswith("Basic")
        assert handled.outcome.event == "token.introspection_refused" and handled.outcome.decision.value == "deny"
        with pytest.raises(InvalidClient):
            IntrospectionResponse.from_response(handled.response)


def test_revocation_rules():
    server, token = server_with_token()
    # another client may not revoke it; a refresh token cannot be revoked here (none is issued)
    other = revoke(server, token, client_id="other-client", signing_key=key("other@pricing"))
    assert (other.response.status, other.response.json()["error"]) == (400, "invalid_request")
    hinted = revoke(server, token, hint="refresh_token")
    assert (hinted.response.status, hinted.response.json()["error"]) == (400, "unsupported_token_type")
    unauthenticated = server.handle(revocation_request(endpoint=PRICING + "/revoke", token=token), now=NOW)
    assert (unauthenticated.response.status, unauthenticated.response.json()["error"]) == (401, "invalid_client")
    assert introspect(server, token).response.json()["active"] is True  # none of those revoked it
    unknown = revoke(server, "not-a-jwt")
    assert (unknown.response.status, unknown.response.body, unknown.outcome.event) == (
        200, b"", "token.revocation_ignored")
    done = revoke(server, token)
    assert (done.response.status, done.outcome.event, done.outcome.subject) == (200, "token.revoked", SARAH)
    assert done.outcome.details["jti"] == introspect(server, token).outcome.details["jti"]
    assert server.tokens.live(AGENT_AT_PRICING, now=NOW) == []


def test_metadata_advertises_introspection_and_revocation():
    server = make_pricing_as()
    document = server.handle(HttpRequest.get(PRICING + "/.well-known/oauth-authorization-server"),
                             now=NOW).response.json()
    assert document["introspection_endpoint"] == PRICING + "/introspect"
    assert document["revocation_endpoint"] == PRICING + "/revoke"
    assert document["introspection_endpoint_auth_methods_supported"] == ["private_key_jwt", "client_secret_basic"]
    metadata = ResourceAsMetadata.from_json(document, expected_issuer=PRICING)
    assert metadata.introspection_endpoint == PRICING + "/introspect"


@pytest.mark.parametrize("response", [
    HttpResponse(status=200, body=b"<html>"),
    HttpResponse.json_body({"active": "yes"}),
    HttpResponse.json_body(["active"]),
])
def test_the_resource_refuses_to_read_a_malformed_answer(response):
    with pytest.raises(IntrospectionFailed):
        IntrospectionResponse.from_response(response)
    assert IntrospectionResponse.from_response(HttpResponse.json_body({"active": False, "sub": "x"})).to_json() == {
        "active": False}
