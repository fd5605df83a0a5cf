"""RFC 7662 introspection at the OpenID Provider, sans-IO: the action gate (a protected resource
registered at the IdP) asks whether a CIBA approval token is still active. The handler is the one
the pricing AS serves (``protocols.oauth.introspection_endpoint``); these tests pin the IdP's record
(issued, revoked), its metadata and its refusals — exact members, codes and statuses."""

import attrs
import pytest

from protocols.access_token import access_token_claims, mint_access_token
from protocols.ciba_delivery import Acknowledgement
from protocols.http import HttpRequest
from protocols.oauth.client_auth import (
    ClientAuthMethod, ClientRegistration, client_assertion_params, hash_client_secret,
)
from protocols.oauth.errors import InvalidClient
from protocols.oauth.introspection import IntrospectionResponse, introspection_request
from protocols.oidc.discovery import ProviderMetadata
from tests.protocols.oidc.harness import ISSUER, NOW, call, jwks_of, key, make_provider
from tests.protocols.oidc.test_backchannel import DETAILS, GATE, SCOPES, World

GATE_ID = "action-gateway"
ISSUED_AT = NOW + 90
"""When ``approved_token`` has the token issued (it lives 300 s)."""


def registered(world: World, *, client_id: str = GATE_ID, resources=frozenset({GATE})) -> World:
    world.provider.register_resource_server(ClientRegistration(
        client_id=client_id, name=client_id, redirect_uris=(), jwks=jwks_of(key(client_id))), resources=resources)
    return world


def approval(world: World):
    """The token response of an approved CIBA request for the gate (poll mode)."""
    ack = Acknowledgement.from_response(world.bc_authorize().response)
    prompt, _ = world.prompt()
    world.answer(prompt)
    return world.poll(ack.auth_req_id, ISSUED_AT)


def approved_token(world: World) -> tuple[str, str]:
    """A CIBA approval token for the gate: the token and its jti."""
    issued = approval(world)
    return issued.response.json()["access_token"], issued.outcome.details["jti"]


def introspect(world: World, token: str, *, now: int = ISSUED_AT + 10, client_id: str = GATE_ID,
               signer: str | None = None):
    params = client_assertion_params(client_id=client_id, audience=ISSUER, key=key(signer or client_id), now=now,
                                     entropy=world.entropy)
    request = introspection_request(endpoint=ISSUER + "/introspect", token=token, client_params=params)
    return call(world.provider, request, now=now)


def test_the_metadata_advertises_introspection_with_private_key_jwt():
    document = call(make_provider(), HttpRequest.get(ISSUER + "/.well-known/openid-configuration")).response.json()
    assert document["introspection_endpoint"] == ISSUER + "/introspect"
    assert document["introspection_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert document["introspection_endpoint_auth_signing_alg_values_supported"] == ["RS256", "ES256", "EdDSA"]
    metadata = ProviderMetadata.from_json(document, expected_issuer=ISSUER)
    assert metadata.introspection_endpoint == ISSUER + "/introspect"


def test_an_active_approval_token_is_described_with_its_authorization_details():
    world = registered(World())
    token, jti = approved_token(world)
    handled = introspect(world, token)
    assert handled.response.status == 200 and handled.response.header("cache-control") == "no-store"
    body = handled.response.json()
    assert set(body) == {"active", "scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti", "token_type",
                         "authorization_details"}
    assert (body["active"], body["scope"], body["client_id"], body["sub"], body["aud"], body["iss"], body["jti"]) == (
        True, " ".join(SCOPES), "sales-agent", "u-sarah", GATE, ISSUER, jti)
    assert (body["iat"], body["exp"], body["token_type"]) == (ISSUED_AT, ISSUED_AT + 300, "Bearer")
    assert body["authorization_details"] == DETAILS                                   # RFC 9396 §9.2
    outcome = handled.outcome
    assert (outcome.event, outcome.decision.value, outcome.reason, outcome.client_id, outcome.subject) == (
        "token.introspected", "allow", "active", "sales-agent", "u-sarah")
    assert outcome.details == {"client": GATE_ID, "active": True, "jti": jti, "kind": "access_token"}
    assert token in outcome.secrets and token not in repr(outcome)
    assert IntrospectionResponse.from_response(handled.response).active


def _revoked_as_after_a_failed_push(world, jti):
    assert world.provider.revoke_issued([jti], now=ISSUED_AT + 5) == [jti]


def _approver_signed_out_everywhere(world, jti):
    world.provider.revoke_subject("u-sarah", now=ISSUED_AT + 5)


def _agent_revoked(world, jti):
    world.provider.revoke_client("sales-agent", now=ISSUED_AT + 5)


# (name, change(world, jti), when, audit reason)
INACTIVE = [
    ("revoked (CIBA push failed)", _revoked_as_after_a_failed_push, ISSUED_AT + 10, "inactive: revoked"),
    ("the approver's tokens revoked", _approver_signed_out_everywhere, ISSUED_AT + 10, "inactive: revoked"),
    ("the agent's tokens revoked", _agent_revoked, ISSUED_AT + 10, "inactive: revoked"),
    ("expired (no leeway at the issuer)", lambda w, j: None, ISSUED_AT + 300, "inactive: expired"),
]


@pytest.mark.parametrize("name,change,now,reason", INACTIVE, ids=[c[0] for c in INACTIVE])
def test_an_ended_approval_token_is_inactive_and_nothing_else(name, change, now, reason):
    world = registered(World())
    token, jti = approved_token(world)
    assert introspect(world, token).response.json()["active"] is True
    change(world, jti)
    handled = introspect(world, token, now=now)
    assert (handled.response.status, handled.response.body) == (200, b'{"active":false}')
    outcome = handled.outcome
    assert (outcome.event, outcome.decision.value, outcome.reason) == ("token.introspected", "deny", reason)
    assert outcome.details["client"] == GATE_ID and outcome.details["active"] is False
    if now < ISSUED_AT + 300:
        assert (outcome.details["jti"], outcome.client_id, outcome.subject) == (jti, "sales-agent", "u-sarah")


def test_a_resource_learns_nothing_about_tokens_for_another_audience():
    """RFC 7662 §4: a protected resource registered for another resource gets ``active: false``."""
    world = registered(registered(World()), client_id="crm-api", resources=frozenset({"https://crm.acme.test"}))
    token, _ = approved_token(world)
    handled = introspect(world, token, client_id="crm-api")
    assert handled.response.body == b'{"active":false}'
    assert handled.outcome.reason == "inactive: issued for a resource the caller does not serve"
    assert "jti" not in handled.outcome.details and handled.outcome.subject is None
    assert introspect(world, token).response.json()["active"] is True                # the gate may see it


def test_unknown_and_foreign_tokens_are_inactive():
    world = registered(World())
    provider = world.provider
    id_token = approval(world).response.json()["id_token"]

    def minted(issuer, signing_key, jti="never-issued"):
        return mint_access_token(key=signing_key, claims=access_token_claims(
            issuer=issuer, subject="u-sarah", audience=GATE, client_id="sales-agent", scope=SCOPES,
            issued_at=ISSUED_AT, expires_at=ISSUED_AT + 300, jti=jti))

    foreign = (minted(ISSUER, key("forger")), minted("https://other-idp.test", provider.keyring.active), id_token,
               "not-a-jwt")
    for presented in foreign:
        handled = introspect(world, presented)
        assert handled.response.body == b'{"active":false}', presented
        assert handled.outcome.reason == "inactive: not an access token of this authorization server"
    # signed with the IdP's own key, for the gate, but never issued (not on record): unknown
    handled = introspect(world, minted(ISSUER, provider.keyring.active))
    assert handled.response.body == b'{"active":false}'
    assert handled.outcome.reason == "inactive: unknown to this authorization server"


def _post(world, pairs, now=ISSUED_AT + 10, **headers):
    request = HttpRequest(method="POST", url=ISSUER + "/introspect", body="&".join(pairs).encode(),
                          headers={"content-type": "application/x-www-form-urlencoded", **headers})
    return call(world.provider, request, now=now)


def _gate_auth(world, now=ISSUED_AT + 10):
    params = client_assertion_params(client_id=GATE_ID, audience=ISSUER, key=key(GATE_ID), now=now,
                                     entropy=world.entropy)
    return [f"{k}={v}" for k, v in params.items()]


# (name, build(world, token) -> Handled, status, error)
REFUSED = [
    ("no client authentication", lambda w, t: _post(w, [f"token={t}"]), 401, "invalid_client"),
    ("the agent (a client, not a protected resource)",
     lambda w, t: introspect(w, t, client_id="sales-agent", signer="agent"), 401, "invalid_client"),
    ("an unregistered resource", lambda w, t: introspect(w, t, client_id="stranger"), 401, "invalid_client"),
    ("the gate's assertion signed with another key",
     lambda w, t: introspect(w, t, signer="intruder"), 401, "invalid_client"),
    ("a replayed client assertion",
     lambda w, t: [_post(w, [f"token={t}", *p]) for p in [_gate_auth(w)] * 2][1], 401, "invalid_client"),
    ("no token", lambda w, t: _post(w, _gate_auth(w)), 400, "invalid_request"),
    ("a JSON body", lambda w, t: call(w.provider, HttpRequest.json_post(url=ISSUER + "/introspect",
                                                                        payload={"token": t}), now=ISSUED_AT + 10),
     400, "invalid_request"),
    ("GET", lambda w, t: call(w.provider, HttpRequest.get(ISSUER + "/introspect"), now=ISSUED_AT + 10),
     405, "method_not_allowed"),
]


@pytest.mark.parametrize("name,build,status,error", REFUSED, ids=[c[0] for c in REFUSED])
def test_introspection_refusals(name, build, status, error):
    world = registered(World())
    token, _ = approved_token(world)
    handled = build(world, token)
    assert (handled.response.status, handled.response.json()["error"]) == (status, error)
    if status == 401:
        assert handled.outcome.event == "token.introspection_refused" and handled.outcome.decision.value == "deny"
        with pytest.raises(InvalidClient):
            IntrospectionResponse.from_response(handled.response)
    assert introspect(world, token).response.json()["active"] is True                 # nothing changed


def test_only_private_key_jwt_resources_with_a_resource_may_register():
    provider = make_provider()
    basic = ClientRegistration(client_id="basic-rs", name="basic", redirect_uris=(),
                               auth_method=ClientAuthMethod.CLIENT_SECRET_BASIC,
                               client_secret_sha256=hash_client_secret("a-long-enough-secret"))
    with pytest.raises(ValueError, match="private_key_jwt"):
        provider.register_resource_server(basic, resources=frozenset({GATE}))
    gate = ClientRegistration(client_id=GATE_ID, name="gate", redirect_uris=(), jwks=jwks_of(key(GATE_ID)))
    with pytest.raises(ValueError, match="at least one"):
        provider.register_resource_server(gate, resources=frozenset())
    provider.register_resource_server(gate, resources=frozenset({GATE}))
    assert provider.protected_resources.lookup(GATE_ID).grant_types == frozenset()    # no token endpoint use
    assert GATE_ID not in provider.clients
    assert attrs.evolve(gate, grant_types=frozenset()) == provider.protected_resources.lookup(GATE_ID)
