"""OpenID CIBA Core, the pure parts: client metadata (§4), request parsing (§7.1), the per-request state
machine (§10, §11), acknowledgement and notification parsing on the client side (§7.3, §10.2, §10.3)."""

import pytest

from protocols.ciba import BackchannelRequest, CibaClient, DeliveryMode, validate_binding_message
from protocols.ciba_delivery import (
    Acknowledgement, NotificationRejected, delivered, ping_request, read_notification, token_endpoint_error,
)
from protocols.ciba_ledger import MAX_PENDING_PER_USER, TOMBSTONE_SECONDS, Approval, CibaLedger, CibaState
from protocols.entropy import SeededEntropy
from protocols.http import HttpResponse
from protocols.oauth.errors import (
    AccessDenied, AuthorizationPending, ExpiredToken, InvalidBindingMessage, InvalidGrant, InvalidRequest, SlowDown,
)

NOW = 1_736_150_400
CLIENT = CibaClient(client_id="agent", delivery_mode=DeliveryMode.POLL, scopes={"email:send"}, interval=10, max_expiry=300)
TOKEN = "abcdefghijklmnopqrstuvwxyz0123456789"


def request(**form):
    return BackchannelRequest.from_form({"scope": "openid email:send", "login_hint": "sarah@acme.test", **form},
                                        client=CLIENT)


def ledger_with_one(**form):
    ledger = CibaLedger()
    txn = ledger.open(request=request(**form), client=CLIENT, subject="u1", now=NOW,
                      entropy=SeededEntropy.for_actor(run_seed=1, actor="op"))
    return ledger, txn


def approval(approved=True, at=NOW + 20):
    return Approval(approved=approved, decided_at=at, device_id="phone", device_kid="k", amr=("hwk",))


def test_client_metadata_rules():
    with pytest.raises(ValueError, match="notification_endpoint"):
        CibaClient(client_id="a", delivery_mode=DeliveryMode.PING, scopes=set())
    with pytest.raises(ValueError, match="http"):
        CibaClient(client_id="a", delivery_mode=DeliveryMode.PUSH, scopes=set(), notification_endpoint="ftp://x")
    push = CibaClient(client_id="a", delivery_mode=DeliveryMode.PUSH, scopes=set(),
                      notification_endpoint="https://a.test/cb", authorization_details_types={"proposal_approval"})
    assert push.to_metadata() == {"backchannel_token_delivery_mode": "push", "backchannel_user_code_parameter": False,
                                  "backchannel_client_notification_endpoint": "https://a.test/cb",
                                  "authorization_details_types": ["proposal_approval"]}


@pytest.mark.parametrize("text", ["Pay ACME 450k €", "Code 7-4-1-9", "Überweisung Müller"])
def test_plain_binding_messages_pass(text):
    assert validate_binding_message(text) == text


@pytest.mark.parametrize("text", ["", "   ", "x" * 101, "a\tb", "a\x00b", "a\u2028b", "a\u200bb", "\u202eevil"])
def test_bad_binding_messages(text):
    with pytest.raises(InvalidBindingMessage):
        validate_binding_message(text)


def test_granted_scope_drops_openid_and_expiry_is_capped():
    parsed = request(requested_expiry="30")
    assert parsed.scope == ("openid", "email:send") and parsed.granted_scope == ("email:send",)
    assert parsed.requested_expiry == 30
    with pytest.raises(InvalidRequest):
        request(requested_expiry="1e3")
    _, txn = ledger_with_one(requested_expiry="99999")
    assert txn.expires_at - txn.created_at == 300 and txn.interval == 10


def test_state_machine_poll_pacing_and_single_use():
    ledger, txn = ledger_with_one()
    with pytest.raises(AuthorizationPending):
        ledger.poll(auth_req_id=txn.auth_req_id, client_id="agent", now=NOW + 10)
    with pytest.raises(SlowDown):
        ledger.poll(auth_req_id=txn.auth_req_id, client_id="agent", now=NOW + 15)
    assert ledger.get(txn.auth_req_id).interval == 15                       # +5 s for this and later polls
    with pytest.raises(SlowDown):
        ledger.poll(auth_req_id=txn.auth_req_id, client_id="agent", now=NOW + 29)     # 14 s < 15 s: 20 s now
    assert ledger.get(txn.auth_req_id).interval == 20
    with pytest.raises(AuthorizationPending):
        ledger.poll(auth_req_id=txn.auth_req_id, client_id="agent", now=NOW + 49)
    with pytest.raises(InvalidGrant):
        ledger.poll(auth_req_id=txn.auth_req_id, client_id="someone-else", now=NOW + 60)
    ledger.decide(txn_id=txn.txn, subject="u1", approval=approval(), now=NOW + 50)
    redeemed = ledger.poll(auth_req_id=txn.auth_req_id, client_id="agent", now=NOW + 51)   # ready: no pacing
    assert redeemed.state is CibaState.REDEEMED and redeemed.approval.approved
    with pytest.raises(InvalidGrant, match="already used"):
        ledger.poll(auth_req_id=txn.auth_req_id, client_id="agent", now=NOW + 70)


def test_decisions_only_once_only_by_the_user_only_in_time():
    ledger, txn = ledger_with_one()
    with pytest.raises(InvalidGrant):
        ledger.decide(txn_id=txn.txn, subject="someone-else", approval=approval(), now=NOW + 5)
    ledger.decide(txn_id=txn.txn, subject="u1", approval=approval(approved=False), now=NOW + 5)
    with pytest.raises(InvalidGrant, match="already answered"):
        ledger.decide(txn_id=txn.txn, subject="u1", approval=approval(), now=NOW + 6)
    with pytest.raises(AccessDenied):
        ledger.poll(auth_req_id=txn.auth_req_id, client_id="agent", now=NOW + 10)
    late_ledger, late = ledger_with_one()
    with pytest.raises(ExpiredToken):
        late_ledger.decide(txn_id=late.txn, subject="u1", approval=approval(), now=NOW + 300)
    (expired,) = late_ledger.expire_due(now=NOW + 300)                      # the sweep still ends it
    assert expired.state is CibaState.EXPIRED and late_ledger.next_deadline() is None


def test_tombstones_answer_replays_then_are_purged():
    ledger, txn = ledger_with_one()
    ledger.expire_due(now=NOW + 300)
    ledger.purge(now=NOW + 300 + TOMBSTONE_SECONDS - 1)
    with pytest.raises(ExpiredToken):
        ledger.poll(auth_req_id=txn.auth_req_id, client_id="agent", now=NOW + 400)
    ledger.purge(now=NOW + 300 + TOMBSTONE_SECONDS)
    assert len(ledger) == 0 and ledger.by_txn(txn.txn) is None


def test_pending_requests_per_user_are_capped():
    ledger = CibaLedger()
    entropy = SeededEntropy.for_actor(run_seed=1, actor="op")
    for _ in range(MAX_PENDING_PER_USER):
        ledger.open(request=request(), client=CLIENT, subject="u1", now=NOW, entropy=entropy)
    with pytest.raises(AccessDenied):
        ledger.open(request=request(), client=CLIENT, subject="u1", now=NOW, entropy=entropy)
    ledger.open(request=request(), client=CLIENT, subject="u2", now=NOW, entropy=entropy)   # another person is fine


def test_token_endpoint_access_denied_is_400():
    assert token_endpoint_error(AccessDenied("no")).status == 400
    assert AccessDenied("no").to_response().status == 403                  # at /bc-authorize (§13)


@pytest.mark.parametrize("body, status", [
    ({"auth_req_id": "short", "expires_in": 60}, 200),
    ({"auth_req_id": "a" * 32, "expires_in": 0}, 200),
    ({"auth_req_id": "a" * 32, "expires_in": 60, "interval": True}, 200),
    ({"auth_req_id": "a b" * 12, "expires_in": 60}, 200),
])
def test_client_refuses_malformed_acknowledgements(body, status):
    with pytest.raises(NotificationRejected):
        Acknowledgement.from_response(HttpResponse.json_body(body, status=status))


def test_client_raises_the_remote_error():
    with pytest.raises(InvalidBindingMessage):
        Acknowledgement.from_response(InvalidBindingMessage("too long").to_response())


def test_notifications_need_our_bearer_token_and_our_request():
    ping = ping_request(endpoint="https://agent.test/cb", notification_token=TOKEN, auth_req_id="req-1")
    assert read_notification(ping, expected_token=TOKEN, auth_req_id="req-1") == {"auth_req_id": "req-1"}
    with pytest.raises(NotificationRejected, match="client_notification_token"):
        read_notification(ping, expected_token=TOKEN + "x", auth_req_id="req-1")
    with pytest.raises(NotificationRejected, match="another request"):
        read_notification(ping, expected_token=TOKEN, auth_req_id="req-2")


@pytest.mark.parametrize("status, ok", [(204, True), (200, True), (302, False), (401, False), (503, False), (None, False)])
def test_a_notification_is_delivered_only_on_2xx_without_redirect(status, ok):
    assert delivered(status) is ok                                          # §10.2: redirects are not followed
