"""CIBA at the provider, sans-IO: client, device and provider cores run against each other with no I/O.

Covers §7 (request, validation, acknowledgement, §13 errors), the device's signed answer, §10/§11
(poll: pending, slow_down, expired, denied, single use), §10.2 ping, §10.3 push, RFC 9396 (details
validated, echoed, carried in the token) and the consumer's check of the approval token.
"""

import json
import re
from urllib.parse import urlencode

import attrs
import pytest

from protocols import rar
from protocols.approval_token import check_approved_action
from protocols.ciba import AUTH_REQ_ID_CLAIM, CIBA_GRANT_TYPE, CibaClient, DeliveryMode, build_login_hint_token
from protocols.ciba_delivery import Acknowledgement, read_notification, token_request_params
from protocols.device_approval import DECISION_PATH, ApprovalPrompt, Decision, DeviceRegistration, sign_decision
from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest
from protocols.id_jag import validate_subject_id_token
from protocols.jose.jwt import TokenProfile, verify_jwt
from protocols.oauth.client_auth import client_assertion_params
from protocols.oauth.errors import InsufficientScope, InvalidGrant, InvalidToken
from protocols.oidc.backchannel import Backchannel
from protocols.oidc.backchannel_tokens import _at_hash
from tests.protocols.oidc.harness import ISSUER, NOW, call, jwks_of, key, make_provider, provider_keys

GATE = "https://gate.acme.test"
SCOPES = ("email:send", "drive:write", "crm:update")
DETAILS = [{"type": "proposal_approval", "customer": "Acme Corp", "amount": "450000.00", "currency": "EUR",
            "products": ["AI training"], "recipients": ["julie.martinez@acme-corp.example"],
            "actions": ["send_email", "save_to_drive", "update_crm"], "identifier": "acme-q1"}]
NOTIFY = "https://agent.acme.test/ciba"
NOTIFICATION_TOKEN = "n0tification-token-with-enough-entropy-1234"


class World:
    """A provider with CIBA, the sales agent registered in ``mode``, Sarah's phone enrolled."""

    def __init__(self, mode=DeliveryMode.POLL, **client):
        self.provider = make_provider()
        self.bc = Backchannel(provider=self.provider).install()
        self.bc.register_client(CibaClient(
            client_id="sales-agent", delivery_mode=mode, notification_endpoint=None if mode is DeliveryMode.POLL else NOTIFY,
            scopes=SCOPES, authorization_details_types={"proposal_approval"}, resources=(GATE,), token_lifetime=300,
            max_expiry=600, interval=30, **client))
        self.bc.register_device(DeviceRegistration(device_id="phone-sarah", subject="u-sarah", jwks=jwks_of(key("phone")),
                                                   push_endpoint="https://phone.test/push", mailbox="https://mail.test/sarah"))
        self.bc.add_login_hint(hint="sarah@acme.test", subject="u-sarah")
        self.entropy = SeededEntropy.for_actor(run_seed=5, actor="test")

    def auth(self, client_id="sales-agent", signer="agent", now=NOW):
        return client_assertion_params(client_id=client_id, audience=ISSUER, key=key(signer), now=now, entropy=self.entropy)

    def bc_authorize(self, now=NOW, auth=True, **params):
        base = {"scope": "openid " + " ".join(SCOPES), "login_hint": "sarah@acme.test",
                "binding_message": "ACME-Q1 450k", "authorization_details": json.dumps(DETAILS), "resource": GATE}
        if self.bc.clients["sales-agent"].delivery_mode is not DeliveryMode.POLL:
            base["client_notification_token"] = NOTIFICATION_TOKEN
        form = {**base, **params}
        form = {k: v for k, v in form.items() if v is not None}
        if auth:
            form.update(self.auth(now=now))
        return call(self.provider, HttpRequest.form_post(url=ISSUER + "/bc-authorize", params=form), now=now)

    def poll(self, auth_req_id, now, client_id="sales-agent", signer="agent"):
        form = {**token_request_params(auth_req_id), **self.auth(client_id=client_id, signer=signer, now=now)}
        return call(self.provider, HttpRequest.form_post(url=ISSUER + "/token", params=form), now=now)

    def prompt(self):
        items = self.bc.take_outbox()
        assert [i.kind for i in items] == ["device", "email"]
        return ApprovalPrompt.from_json(items[0].request.json()), items[1].request.json()

    def answer(self, prompt, decision=Decision.APPROVE, now=NOW + 60, signer="phone", device_id="phone-sarah"):
        token = sign_decision(prompt=prompt, decision=decision, device_id=device_id, key=key(signer), now=now,
                              entropy=self.entropy)
        return call(self.provider, HttpRequest.form_post(url=ISSUER + DECISION_PATH, params={"approval": token}), now=now)


def error_of(handled):
    return handled.response.status, handled.response.json()["error"]


def test_metadata_advertises_ciba_and_rar():
    doc = call(make_provider(), HttpRequest.get(ISSUER + "/.well-known/openid-configuration")).response.json()
    assert "backchannel_authentication_endpoint" not in doc
    world = World()
    doc = call(world.provider, HttpRequest.get(ISSUER + "/.well-known/openid-configuration")).response.json()
    assert doc["backchannel_authentication_endpoint"] == ISSUER + "/bc-authorize"
    assert doc["backchannel_token_delivery_modes_supported"] == ["poll", "ping", "push"]
    assert doc["backchannel_user_code_parameter_supported"] is True
    assert CIBA_GRANT_TYPE in doc["grant_types_supported"]
    assert doc["authorization_details_types_supported"] == ["proposal_approval", "purchase_approval"]
    assert CIBA_GRANT_TYPE in world.provider.clients["sales-agent"].grant_types


def test_poll_flow_pending_slow_down_approval_token_and_single_use():
    world = World()
    handled = world.bc_authorize()
    assert handled.outcome.event == "ciba.requested" and handled.outcome.subject == "u-sarah"
    ack = Acknowledgement.from_response(handled.response)
    assert (ack.expires_in, ack.interval) == (600, 30) and re.fullmatch(r"[A-Za-z0-9_-]{32}", ack.auth_req_id)  # 192 bits
    assert ack.auth_req_id in handled.outcome.secrets
    prompt, mail = world.prompt()
    assert prompt.binding_message == "ACME-Q1 450k" and prompt.summary[0]["amount"] == "450 000.00 EUR"
    assert mail["to"] == "sarah@acme.test" and "450 000.00 EUR" in mail["subject"] and "Acme Corp" in mail["body"]
    # both channels show customer, amount, products, recipients and actions (RFC 9396 §3.1)
    shown = prompt.summary[0]
    assert (shown["customer"], shown["products"], shown["recipients"]) == \
        ("Acme Corp", "AI training", "julie.martinez@acme-corp.example")
    assert shown["actions"] == "send by e-mail, save to Drive, update the CRM"
    for label in ("customer", "amount", "products", "recipients", "actions"):
        assert f"{label.capitalize()}: {shown[label]}" in mail["body"].splitlines()
    assert "Code shown on both screens: ACME-Q1 450k" in mail["body"]
    assert ack.auth_req_id not in json.dumps(prompt.to_json()) + json.dumps(mail)   # the device never sees it

    assert error_of(world.poll(ack.auth_req_id, NOW + 30)) == (400, "authorization_pending")
    slow = world.poll(ack.auth_req_id, NOW + 31)
    assert error_of(slow) == (400, "slow_down") and slow.outcome.details["interval"] == 35
    assert error_of(world.poll(ack.auth_req_id, NOW + 60)) == (400, "slow_down")   # 29 s < 35 s
    assert error_of(world.poll(ack.auth_req_id, NOW + 100)) == (400, "authorization_pending")

    decided = world.answer(prompt, now=NOW + 110)
    assert decided.response.status == 200 and decided.outcome.event == "ciba.approved"
    assert decided.outcome.details["approver"] == "Sarah Johnson" and decided.outcome.details["amr"] == ["hwk", "user"]
    assert decided.outcome.details["authorization_details"] == DETAILS
    assert world.bc.take_outbox() == []                                    # poll mode: nobody to notify

    issued = world.poll(ack.auth_req_id, NOW + 150)
    assert issued.response.status == 200 and issued.outcome.event == "token.issued"
    assert issued.outcome.details["kind"] == "approval_token" and issued.outcome.details["scope"] == " ".join(SCOPES)
    assert issued.outcome.details["authorization_details"] == DETAILS and issued.outcome.details["aud"] == GATE
    body = issued.response.json()
    assert body["scope"] == " ".join(SCOPES) and body["authorization_details"] == DETAILS and body["expires_in"] == 300
    assert issued.response.header("cache-control") == "no-store"
    keys = provider_keys(world.provider, now=NOW + 150)
    claims = verify_jwt(body["access_token"], keys=keys, now=NOW + 150,
                        profile=TokenProfile.access_token(issuer=ISSUER, audience=GATE)).claims
    assert claims["scope"] == " ".join(SCOPES) and claims["authorization_details"] == DETAILS
    assert claims["exp"] - claims["iat"] == 300 and claims["sub"] == "u-sarah" and claims["auth_time"] == NOW + 110
    id_claims = verify_jwt(body["id_token"], keys=keys, now=NOW + 150,
                           profile=TokenProfile.id_token(issuer=ISSUER, client_id="sales-agent")).claims
    assert id_claims["at_hash"] == _at_hash(body["access_token"])
    assert error_of(world.poll(ack.auth_req_id, NOW + 200)) == (400, "invalid_grant")   # replay after success


def test_the_approval_token_is_bound_to_the_approved_action():
    world = World()
    ack = Acknowledgement.from_response(world.bc_authorize().response)
    prompt, _ = world.prompt()
    world.answer(prompt)
    token = world.poll(ack.auth_req_id, NOW + 90).response.json()["access_token"]
    keys = provider_keys(world.provider, now=NOW + 90)
    exact = rar.parse_detail(DETAILS[0])

    def check(requested, action="send_email", used=frozenset()):
        return check_approved_action(token, issuer=ISSUER, audience=GATE, keys=keys, now=NOW + 100, requested=requested,
                                     action=action, required_scope="email:send", used=used)

    approved = check(exact)
    assert approved.approver == "u-sarah" and approved.detail == exact
    with pytest.raises(InsufficientScope, match="amount differs"):
        check(rar.parse_detail({**DETAILS[0], "amount": "900000.00"}))
    with pytest.raises(InsufficientScope, match="recipients"):
        check(rar.parse_detail({**DETAILS[0], "recipients": ["someone@evil.example"]}))
    with pytest.raises(InvalidToken, match="already used"):
        check(exact, used={(approved.jti, "send_email")})
    with pytest.raises(InvalidToken):   # another audience
        check_approved_action(token, issuer=ISSUER, audience="https://other.test", keys=keys, now=NOW + 100,
                              requested=exact, action="send_email", required_scope="email:send")
    with pytest.raises(InvalidToken):   # short-lived: expired five minutes later
        check_approved_action(token, issuer=ISSUER, audience=GATE, keys=keys, now=NOW + 90 + 300 + 31,
                              requested=exact, action="send_email", required_scope="email:send")


def test_denial_is_access_denied_once_then_invalid_grant():
    world = World()
    ack = Acknowledgement.from_response(world.bc_authorize().response)
    prompt, _ = world.prompt()
    assert world.answer(prompt, decision=Decision.DENY).outcome.event == "ciba.denied"
    denied = world.poll(ack.auth_req_id, NOW + 90)
    assert error_of(denied) == (400, "access_denied") and denied.outcome.event == "ciba.denial_delivered"
    assert error_of(world.poll(ack.auth_req_id, NOW + 130)) == (400, "invalid_grant")


def test_silence_expires_the_request():
    world = World()
    ack = Acknowledgement.from_response(world.bc_authorize(requested_expiry="120").response)
    assert ack.expires_in == 120
    prompt, _ = world.prompt()
    assert world.bc.next_deadline() == NOW + 120
    expired = world.poll(ack.auth_req_id, NOW + 120)
    assert error_of(expired) == (400, "expired_token") and expired.outcome.event == "ciba.expired_token"
    assert error_of(world.answer(prompt, now=NOW + 125)) == (400, "expired_token")   # too late to answer
    assert world.bc.next_deadline() is None and world.bc.expire_due(now=NOW + 200) == []


def test_requested_expiry_is_capped_by_the_registration():
    world = World()
    assert Acknowledgement.from_response(world.bc_authorize(requested_expiry="86400").response).expires_in == 600


def test_ping_mode_notifies_the_client_then_it_fetches_the_token():
    world = World(DeliveryMode.PING)
    ack = Acknowledgement.from_response(world.bc_authorize().response)
    prompt, _ = world.prompt()
    world.answer(prompt)
    (ping,) = world.bc.take_outbox()
    assert ping.kind == "ping" and ping.request.url == NOTIFY
    assert read_notification(ping.request, expected_token=NOTIFICATION_TOKEN, auth_req_id=ack.auth_req_id) == \
        {"auth_req_id": ack.auth_req_id}
    failed = world.bc.delivered(ping, status=None, now=NOW + 60)
    assert failed.event == "ciba.ping_failed" and "still poll" in failed.details["recovery"]
    assert world.poll(ack.auth_req_id, NOW + 61).response.status == 200   # no stuck state


def test_ping_mode_expiry_pings_and_the_poll_says_expired_token():
    world = World(DeliveryMode.PING)
    ack = Acknowledgement.from_response(world.bc_authorize(requested_expiry="60").response)
    world.prompt()
    (outcome,) = world.bc.expire_due(now=NOW + 60)
    assert outcome.event == "ciba.expired"
    (ping,) = world.bc.take_outbox()
    assert ping.kind == "ping"
    assert error_of(world.poll(ack.auth_req_id, NOW + 61)) == (400, "expired_token")


def test_push_mode_delivers_the_token_response_with_a_bound_id_token():
    world = World(DeliveryMode.PUSH)
    handled = world.bc_authorize()
    ack = Acknowledgement.from_response(handled.response)
    assert "interval" not in handled.response.json()
    prompt, _ = world.prompt()
    decided = world.answer(prompt)
    assert decided.outcome.event == "ciba.approved" and decided.outcome.secrets == ()
    (issued,) = decided.also                                  # the pushed token is audited like a polled one
    assert issued.event == "token.issued" and issued.details["scope"] == " ".join(SCOPES)
    (push,) = world.bc.take_outbox()
    body = read_notification(push.request, expected_token=NOTIFICATION_TOKEN, auth_req_id=ack.auth_req_id)
    assert set(issued.secrets) == {body["access_token"], body["id_token"]}
    assert body["authorization_details"] == DETAILS and body["scope"] == " ".join(SCOPES)
    id_claims = verify_jwt(body["id_token"], keys=provider_keys(world.provider, now=NOW + 60), now=NOW + 60,
                           profile=TokenProfile.id_token(issuer=ISSUER, client_id="sales-agent")).claims
    assert id_claims[AUTH_REQ_ID_CLAIM] == ack.auth_req_id and id_claims["at_hash"] == _at_hash(body["access_token"])
    assert world.bc.delivered(push, status=204, now=NOW + 60).event == "ciba.pushed"
    assert error_of(world.poll(ack.auth_req_id, NOW + 90)) == (400, "unauthorized_client")   # push clients never poll


@pytest.mark.parametrize("mode", list(DeliveryMode), ids=lambda m: m.value)
def test_every_mode_audits_the_issued_token_as_one_token_issued_entry(mode):
    """Poll and ping clients fetch the token, push clients are sent it: the ``token.issued`` entry is
    the same (what the report's token lineage reads), and nothing else names the token."""
    world = World(mode)
    ack = Acknowledgement.from_response(world.bc_authorize().response)
    prompt, _ = world.prompt()
    decided = world.answer(prompt)
    if mode is DeliveryMode.PUSH:
        (outcome,) = decided.also
        token = world.bc.take_outbox()[0].request.json()["access_token"]
    else:
        assert decided.also == ()
        handled = world.poll(ack.auth_req_id, NOW + 61)
        outcome, token = handled.outcome, handled.response.json()["access_token"]
    assert "token" not in decided.outcome.details and "jti" not in decided.outcome.details
    claims = verify_jwt(token, keys=provider_keys(world.provider, now=NOW + 61), now=NOW + 61,
                        profile=TokenProfile.access_token(issuer=ISSUER, audience=GATE)).claims
    details = dict(outcome.details)
    assert outcome.event == "token.issued" and outcome.decision.value == "allow" and outcome.client_id == "sales-agent"
    assert details.pop("expires_in") == 300 and details.pop("kid") and details.pop("id_token_jti")
    assert details.pop("authorization_details_sha256") and details.pop("authorization_details") == DETAILS
    assert details == {"grant_type": CIBA_GRANT_TYPE, "mode": mode.value, "jti": claims["jti"],
                       "kind": "approval_token", "aud": GATE, "scope": " ".join(SCOPES)}


def test_push_mode_denial_and_failed_delivery_end_the_request():
    world = World(DeliveryMode.PUSH)
    ack = Acknowledgement.from_response(world.bc_authorize().response)
    prompt, _ = world.prompt()
    world.answer(prompt, decision=Decision.DENY)
    (push,) = world.bc.take_outbox()
    assert push.request.json() == {"auth_req_id": ack.auth_req_id, "error": "access_denied",
                                   "error_description": "the user denied the request"}
    failed = world.bc.delivered(push, status=500, now=NOW + 60)
    assert failed.event == "ciba.push_failed" and "revoked" not in failed.details   # a denial carries no token
    assert world.bc.ledger.get(ack.auth_req_id).state.value == "failed"
    assert world.bc.next_deadline() is None


def test_push_mode_expiry_pushes_expired_token():
    world = World(DeliveryMode.PUSH)
    ack = Acknowledgement.from_response(world.bc_authorize(requested_expiry="30").response)
    world.prompt()
    world.bc.expire_due(now=NOW + 30)
    (push,) = world.bc.take_outbox()
    assert push.request.json()["error"] == "expired_token" and push.request.json()["auth_req_id"] == ack.auth_req_id


HOSTILE = [
    # (name, request parameters, expected status, expected error)
    ("no client authentication", {"auth": False}, 401, "invalid_client"),
    ("no hint", {"login_hint": None}, 400, "invalid_request"),
    ("two hints", {"id_token_hint": "eyJ.x.y"}, 400, "invalid_request"),
    ("unknown user", {"login_hint": "nobody@acme.test"}, 400, "unknown_user_id"),
    ("oversized binding_message", {"binding_message": "A" * 101}, 400, "invalid_binding_message"),
    ("control character in binding_message", {"binding_message": "ok\u0007bell"}, 400, "invalid_binding_message"),
    ("newline in binding_message", {"binding_message": "line\nbreak"}, 400, "invalid_binding_message"),
    ("bidi override in binding_message", {"binding_message": "abc\u202edcb"}, 400, "invalid_binding_message"),
    ("no scope", {"scope": None}, 400, "invalid_request"),
    ("no openid", {"scope": "email:send"}, 400, "invalid_scope"),
    ("scope not allowed", {"scope": "openid pricing:admin"}, 400, "invalid_scope"),
    ("bad requested_expiry", {"requested_expiry": "-5"}, 400, "invalid_request"),
    ("zero requested_expiry", {"requested_expiry": "0"}, 400, "invalid_request"),
    ("details not JSON", {"authorization_details": "[{"}, 400, "invalid_authorization_details"),
    ("details unknown field", {"authorization_details": json.dumps([{**DETAILS[0], "discount": "99"}])}, 400,
     "invalid_authorization_details"),
    ("details type not registered", {"authorization_details": json.dumps([{
        "type": "purchase_approval", "vendor": "X", "amount": "1.00", "currency": "EUR", "products": ["p"],
        "recipients": ["a@b.example"], "actions": ["place_order"]}])}, 400, "invalid_authorization_details"),
    ("resource not allowed", {"resource": "https://evil.test"}, 400, "invalid_target"),
    ("id_token_hint forged", {"login_hint": None, "id_token_hint": "eyJhbGciOiJub25lIn0.e30."}, 400, "invalid_request"),
    ("signed request object", {"request": "eyJ.a.b"}, 400, "invalid_request"),
]


@pytest.mark.parametrize("name,params,status,error", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_backchannel_requests(name, params, status, error):
    world = World()
    handled = world.bc_authorize(**params)
    assert (handled.response.status, handled.response.json()["error"]) == (status, error)
    assert handled.outcome.event == "ciba.request_refused" and handled.outcome.reason == error
    assert world.bc.take_outbox() == [] and len(world.bc.ledger) == 0        # nothing pending, nobody notified


def test_bad_client_authentication_and_unregistered_clients():
    world = World()
    wrong_key = world.bc_authorize(auth=False, **world.auth(signer="other"))
    assert error_of(wrong_key) == (401, "invalid_client")
    not_ciba = world.bc_authorize(auth=False, **world.auth(client_id="other-app", signer="other"))
    assert error_of(not_ciba) == (400, "unauthorized_client")
    assert error_of(world.poll("whatever-id-0000000000", NOW, client_id="other-app", signer="other")) == \
        (400, "unauthorized_client")
    get = call(world.provider, HttpRequest.get(ISSUER + "/bc-authorize"))
    assert get.response.status == 405


def test_ping_client_must_send_a_strong_notification_token():
    world = World(DeliveryMode.PING)
    assert error_of(world.bc_authorize(client_notification_token=None)) == (400, "invalid_request")
    assert error_of(world.bc_authorize(client_notification_token="short")) == (400, "invalid_request")
    assert error_of(world.bc_authorize(client_notification_token="x" * 1025)) == (400, "invalid_request")


def test_token_requests_for_other_clients_or_unknown_ids_are_invalid_grant():
    world = World()
    world.bc.register_client(CibaClient(client_id="other-app", delivery_mode=DeliveryMode.POLL, scopes=SCOPES))
    ack = Acknowledgement.from_response(world.bc_authorize().response)
    assert error_of(world.poll(ack.auth_req_id, NOW + 30, client_id="other-app", signer="other")) == (400, "invalid_grant")
    assert error_of(world.poll("unknown-auth-req-id-000", NOW + 30)) == (400, "invalid_grant")
    missing = call(world.provider, HttpRequest.form_post(url=ISSUER + "/token", params={
        "grant_type": CIBA_GRANT_TYPE, **world.auth(now=NOW + 30)}), now=NOW + 30)
    assert error_of(missing) == (400, "invalid_request")


def test_id_token_hint_identifies_the_user():
    world = World()
    from tests.protocols.oidc.harness import full_login, make_rp

    result, _ = full_login(world.provider, make_rp(world.provider))
    handled = world.bc_authorize(login_hint=None, id_token_hint=result.tokens.id_token)
    assert handled.response.status == 200 and handled.outcome.subject == "u-sarah"
    assert handled.outcome.details["hint"] == "id_token_hint"


def test_login_hint_token_and_its_expiry():
    world = World()

    def hint_token(now):
        return build_login_hint_token(client_id="sales-agent", audience=ISSUER, email="sarah@acme.test", key=key("agent"),
                                      now=now, entropy=world.entropy, lifetime=60)

    ok = world.bc_authorize(login_hint=None, login_hint_token=hint_token(NOW))
    assert ok.response.status == 200 and ok.outcome.subject == "u-sarah"
    expired = world.bc_authorize(login_hint=None, login_hint_token=hint_token(NOW - 600))
    assert error_of(expired) == (400, "expired_login_hint_token")


def test_user_code_when_the_client_registered_it():
    world = World(user_code_parameter=True)
    world.bc.register_user_code(subject="u-sarah", user_code="7419")
    assert error_of(world.bc_authorize()) == (400, "missing_user_code")
    assert error_of(world.bc_authorize(user_code="0000")) == (400, "invalid_user_code")
    assert world.bc_authorize(user_code="7419").response.status == 200


def test_only_registered_approvers_and_enrolled_users_are_asked():
    world = World(approvers={"u-bob"})
    assert error_of(world.bc_authorize()) == (403, "access_denied")
    world = World()
    world.bc.add_login_hint(hint="bob@acme.test", subject="u-bob")   # Bob has no authentication device
    assert error_of(world.bc_authorize(login_hint="bob@acme.test")) == (403, "access_denied")


def test_push_bombing_is_capped():
    world = World()
    for _ in range(5):
        assert world.bc_authorize().response.status == 200
    assert error_of(world.bc_authorize()) == (403, "access_denied")


def test_device_answers_must_be_genuine_fresh_and_about_what_was_shown():
    world = World()
    world.bc_authorize()
    prompt, _ = world.prompt()
    assert error_of(world.answer(prompt, signer="other")) == (401, "invalid_client")           # not the device key
    assert error_of(world.answer(prompt, device_id="someone-elses-phone")) == (401, "invalid_client")
    altered = ApprovalPrompt.from_json({**prompt.to_json(), "summary": [{"amount": "4.50 EUR"}]})
    assert error_of(world.answer(altered)) == (400, "invalid_grant")                             # not what was shown
    unknown = ApprovalPrompt.from_json({**prompt.to_json(), "txn": "made-up"})
    assert error_of(world.answer(unknown)) == (400, "invalid_grant")
    token = sign_decision(prompt=prompt, decision=Decision.APPROVE, device_id="phone-sarah", key=key("phone"),
                          now=NOW + 60, entropy=world.entropy)
    send = lambda: call(world.provider, HttpRequest.form_post(url=ISSUER + DECISION_PATH, params={"approval": token}),
                        now=NOW + 60)
    assert send().response.status == 200
    assert error_of(send()) == (400, "invalid_grant")                                            # replayed answer
    assert error_of(world.answer(prompt, decision=Decision.DENY, now=NOW + 70)) == (400, "invalid_grant")  # decided
    assert error_of(call(world.provider, HttpRequest.form_post(url=ISSUER + DECISION_PATH, params={}))) == \
        (400, "invalid_request")


def test_a_repeated_parameter_is_invalid_request():
    """CIBA §13: a parameter included more than once is ``invalid_request``; nothing is opened."""
    world = World()
    form = urlencode({"scope": "openid email:send", "login_hint": "sarah@acme.test", **world.auth()})
    body = (form + "&login_hint=bob%40acme.test").encode()
    handled = call(world.provider, HttpRequest(method="POST", url=ISSUER + "/bc-authorize", body=body,
                                               headers={"content-type": "application/x-www-form-urlencoded"}))
    assert error_of(handled) == (400, "invalid_request") and len(world.bc.ledger) == 0


def test_bad_client_authentication_at_the_token_endpoint_changes_nothing():
    """A CIBA token request with a wrong client assertion is ``401 invalid_client`` (CIBA §11); it does
    not count as a poll, so the genuine client's next request is neither slowed down nor refused."""
    world = World()
    ack = Acknowledgement.from_response(world.bc_authorize().response)
    assert error_of(world.poll(ack.auth_req_id, NOW + 30)) == (400, "authorization_pending")
    forged = world.poll(ack.auth_req_id, NOW + 31, signer="other")
    assert error_of(forged) == (401, "invalid_client")
    assert error_of(world.poll(ack.auth_req_id, NOW + 60)) == (400, "authorization_pending")
    prompt, _ = world.prompt()
    world.answer(prompt, now=NOW + 70)
    assert error_of(world.poll(ack.auth_req_id, NOW + 71, signer="other")) == (401, "invalid_client")
    assert world.poll(ack.auth_req_id, NOW + 72).response.status == 200      # the token still goes to its client


@pytest.mark.parametrize("status", [500, None], ids=["refused", "unreachable"])
def test_a_failed_push_revokes_the_tokens_it_carried(status):
    """§10.3.1: the client never received the pushed tokens, so nobody may use them — a failing
    endpoint may have logged the body. The IdP revokes both at once (its userinfo refuses the access
    token) and ``ciba.push_failed`` lists their jtis under ``revoked`` (no "token" key: not redacted)."""
    world = World(DeliveryMode.PUSH)
    client = world.bc.clients["sales-agent"]
    world.bc.clients["sales-agent"] = attrs.evolve(client, resources=())      # no resource: aud is our userinfo
    ack = Acknowledgement.from_response(world.bc_authorize(resource=None).response)
    prompt, _ = world.prompt()
    (issued,) = world.answer(prompt).also
    (push,) = world.bc.take_outbox()
    body = push.request.json()
    jtis = [issued.details["jti"], issued.details["id_token_jti"]]
    userinfo = HttpRequest.get(ISSUER + "/userinfo", headers={"authorization": f"Bearer {body['access_token']}"})
    assert call(world.provider, userinfo, now=NOW + 60).outcome.event == "userinfo.served"   # valid before

    failed = world.bc.delivered(push, status=status, now=NOW + 60)
    assert (failed.event, failed.decision.value) == ("ciba.push_failed", "deny")
    assert failed.details["revoked"] == jtis and not any("token" in k for k in failed.details)
    assert "new request" in failed.details["recovery"]
    assert all(world.provider.is_revoked(jti) for jti in jtis) and set(jtis) <= world.provider.revoked_jtis
    refused = call(world.provider, userinfo, now=NOW + 61)
    assert (refused.outcome.event, refused.outcome.reason) == ("userinfo.denied", "invalid_token")
    assert refused.response.status == 401
    id_token_check = dict(issuer=ISSUER, client_id="sales-agent", keys=provider_keys(world.provider, now=NOW + 61),
                          now=NOW + 61)   # as the IdP checks a subject ID token (token exchange, ID-JAG)
    assert validate_subject_id_token(body["id_token"], **id_token_check)["jti"] == jtis[1]
    with pytest.raises(InvalidGrant):
        validate_subject_id_token(body["id_token"], revoked=world.provider.revoked_jtis, **id_token_check)
    assert world.bc.ledger.get(ack.auth_req_id).state.value == "failed" and world.bc.next_deadline() is None
    assert error_of(world.poll(ack.auth_req_id, NOW + 62)) == (400, "unauthorized_client")    # push never polls

    # nothing stuck: the next request is approved, pushed, delivered, and its tokens stay valid
    again = Acknowledgement.from_response(world.bc_authorize(resource=None, now=NOW + 70).response)
    prompt, _ = world.prompt()
    (issued,) = world.answer(prompt, now=NOW + 80).also
    (push,) = world.bc.take_outbox()
    assert push.request.json()["auth_req_id"] == again.auth_req_id
    delivered = world.bc.delivered(push, status=204, now=NOW + 80)
    assert delivered.event == "ciba.pushed" and "revoked" not in delivered.details
    assert not world.provider.is_revoked(issued.details["jti"])
    bearer = {"authorization": f"Bearer {push.request.json()['access_token']}"}
    assert call(world.provider, HttpRequest.get(ISSUER + "/userinfo", headers=bearer),
                now=NOW + 81).outcome.event == "userinfo.served"
