"""CIBA over the network, both transports: the agent's requester, the IdP (with its courier), Sarah's
authenticator app and mailbox, and the action gateway that performs approved actions.

Each delivery mode (poll, ping, push) runs end to end; denial, silence, slow_down (a raw client and
the requester's own pacing), replay, hostile requests, forged notifications and a failing ping or
push endpoint each end with the right error and nothing left stuck (a later request still succeeds);
the tokens of a failed push are revoked, and the gateway — which introspects every approval token at
the IdP (RFC 7662) — refuses them; it executes nothing when it cannot ask the IdP.
"""

import json
from datetime import datetime

import attrs
import pytest
import trio

from actors.runtime.actor import HttpActor
from actors.runtime.network import Transport
from protocols import rar
from protocols.ciba import CIBA_GRANT_TYPE
from protocols.ciba_delivery import Acknowledgement
from protocols.http import HttpRequest, HttpResponse
from protocols.jose.jwks import JwkSet
from protocols.jose.jwt import TokenProfile, verify_jwt
from reports.audit_fields import identifier_key
from reports.lineage import build_lineage
from tests.actors.ciba_helpers import AGENT, mini_cast, make_world

TRANSPORTS = pytest.mark.parametrize("transport", list(Transport), ids=lambda t: t.value)
SCOPES = ("email:send", "drive:write", "crm:update")


def action(cast, action_id):
    return next(a for a in cast.world.approvals.actions if a.id == action_id)


async def ask(cast, action_id, *, hint=None):
    proposed = action(cast, action_id)
    sarah = cast.world.person("sarah")
    return await cast.requester.request(
        on_behalf_of=cast.approvals.subjects["sarah"], hint=hint or ("login_hint", sarah.email),
        details=(proposed.detail,), scope=SCOPES, binding_message=proposed.binding_message,
        resource=cast.gate.resource, requested_expiry=900, why="test: above the threshold")


async def perform(cast, outcome, detail, act="send_email"):
    response = await cast.requester.perform(gate=cast.gate.actions_endpoint, outcome=outcome, detail=detail,
                                            action=act, on_behalf_of="sarah")
    return response.status, (response.json() if response.body else {})


@TRANSPORTS
@pytest.mark.parametrize("mode", ["poll", "ping", "push"])
async def test_each_delivery_mode_end_to_end(transport, mode, autojump_clock):
    async with mini_cast(transport, make_world(mode)) as cast:
        outcome = await ask(cast, "approve-me")
        assert outcome.status == "approved", outcome.reason
        assert outcome.mode == mode and outcome.waited == {"poll": 270, "ping": 240, "push": 240}[mode]
        # the token carries exactly the approved scopes and details, is short-lived and addressed to the gateway
        approved = action(cast, "approve-me").detail
        assert outcome.scope == SCOPES and outcome.authorization_details == (approved,) and outcome.expires_in == 300
        keys = JwkSet.from_json((await cast.runtime.network.send(HttpRequest.get(cast.idp.url("/jwks")))).json())
        claims = verify_jwt(outcome.access_token, keys=keys, now=cast.runtime.clock.now(),
                            profile=TokenProfile.access_token(issuer=cast.idp.base_url, audience=cast.gate.resource)).claims
        assert claims["scope"] == " ".join(SCOPES) and claims["authorization_details"] == [approved.to_json()]
        assert claims["exp"] - claims["iat"] == 300 and claims["sub"] == cast.approvals.subjects["sarah"]

        # the audit log names the approver, the time, the details approved and the token issued
        (approved_entry,) = cast.audit("ciba.approved")
        assert approved_entry.details["approver"] == "Sarah Johnson" and approved_entry.time == "2025-01-06T08:04:00.001Z"
        assert approved_entry.details["authorization_details"] == [approved.to_json()]
        assert approved_entry.details["device"] == "authenticator-sarah"
        assert approved_entry.details["device_kid"] == cast.approvals.apps["sarah"].device_key.kid   # her device key
        (issued,) = cast.audit("token.issued")                    # every mode, push included, audits the token
        token = issued.details
        assert token["scope"] == " ".join(SCOPES) and token["jti"] == claims["jti"] and token["expires_in"] == 300
        assert (issued.actor, issued.agent, token["kind"], token["mode"]) == (cast.idp.name, AGENT, "approval_token", mode)
        assert issued.seq > approved_entry.seq and "jti" not in approved_entry.details
        (shown,) = cast.audit("approval.notified")
        assert shown.details["shown"][0] | {} == rar.summarise(approved)
        assert {"customer", "amount", "products", "recipients", "actions"} <= set(shown.details["shown"][0])
        (mail,) = cast.approvals.inboxes["sarah"].messages
        assert "450 000.00 EUR" in mail.subject and "Acme Corp" in mail.body
        expected = {"poll": "ciba.pending", "ping": "ciba.pinged", "push": "ciba.pushed"}[mode]
        assert cast.audit(expected), expected
        assert outcome.access_token not in json.dumps([e.to_json() for e in cast.audit()])   # redacted

        # the token performs exactly the approved action, once, and nothing else
        assert (await perform(cast, outcome, approved))[0] == 201
        assert (await perform(cast, outcome, approved))[0] == 401                               # once per action
        other_amount = rar.parse_detail({**approved.to_json(), "amount": "900000.00"})
        other_recipient = rar.parse_detail({**approved.to_json(), "recipients": ["someone@elsewhere.example"]})
        for detail in (other_amount, other_recipient):
            status, body = await perform(cast, outcome, detail, act="save_to_drive")
            assert (status, body["error"]) == (403, "insufficient_scope")
        assert (await perform(cast, outcome, approved, act="update_crm"))[0] == 201
        assert [e.action for e in cast.gate.executed] == ["send_email", "update_crm"]
        assert len(cast.audit("action.refused")) == 3

        # the report's token lineage: the IdP issued it, the gateway used it (twice), whatever the mode
        (node,) = [n for n in build_lineage(cast.audit()).nodes if n.key == identifier_key(claims["jti"])]
        assert (node.kind, node.issuer, node.holder, node.event) == ("approval_token", cast.idp.name, AGENT, "token.issued")
        assert (node.uses, node.used_by, node.audience) == (2, (cast.gate.name,), cast.gate.resource)


@TRANSPORTS
async def test_denial_and_silence(transport, autojump_clock):
    async with mini_cast(transport, make_world("poll")) as cast:
        denied = await ask(cast, "deny-me")
        assert denied.status == "denied" and denied.access_token is None and denied.error == "access_denied"
        assert "denied" in denied.reason
        (entry,) = cast.audit("ciba.denied")
        assert entry.details["answer"] == "Wrong customer" and entry.decision == "deny"
        silent = await ask(cast, "ignore-me")
        assert silent.status == "expired" and silent.error == "expired_token" and silent.waited == 900
        assert cast.audit("ciba.expired_token") and cast.gate.executed == []
        assert cast.approvals.backchannel.next_deadline() is None                       # nothing left pending


@TRANSPORTS
async def test_raw_client_slow_down_and_replay(transport, autojump_clock):
    """A client that polls too fast gets slow_down; an auth_req_id cannot be redeemed twice."""
    async with mini_cast(transport, make_world("poll")) as cast:
        detail = action(cast, "approve-me").detail
        response = await cast.post("/bc-authorize", {
            "scope": "openid " + " ".join(SCOPES), "login_hint": "sarah.johnson@acmecorp.example",
            "binding_message": "ACME 450k", "authorization_details": rar.encode([detail]),
            "resource": cast.gate.resource, **cast.client_auth()})
        ack = Acknowledgement.from_response(response)

        async def poll():
            response = await cast.post("/token", {"grant_type": CIBA_GRANT_TYPE, "auth_req_id": ack.auth_req_id,
                                                  **cast.client_auth()})
            return response.status, response.json()

        assert await poll() == (400, {"error": "authorization_pending", "error_description": "the user has not answered yet"})
        await trio.sleep(1)
        status, body = await poll()
        assert (status, body["error"]) == (400, "slow_down")
        await trio.sleep(300)                                                # Sarah answers after 240 s
        status, body = await poll()
        assert status == 200 and body["authorization_details"] == [detail.to_json()]
        status, body = await poll()
        assert (status, body["error"]) == (400, "invalid_grant")            # replayed after success
        (replayed,) = [e for e in cast.audit("token.denied") if e.reason == "invalid_grant"]
        assert "already used" in replayed.details["description"]
        assert len(cast.audit("token.issued")) == 1                          # nothing issued twice
        outcome = await ask(cast, "approve-me")                               # no stuck state: a new request works
        assert outcome.approved and len(cast.audit("token.issued")) == 2


@TRANSPORTS
async def test_the_requester_honours_slow_down(transport, autojump_clock, monkeypatch):
    """A requester that polls faster than the IdP asks (25 s instead of 30 s) is told slow_down and
    adds 5 s to its interval for that and every later poll (CIBA §11); it still gets its token."""
    real = Acknowledgement.from_response
    monkeypatch.setattr("actors.approval_client.Acknowledgement.from_response",
                        lambda response: attrs.evolve(real(response), interval=25))
    async with mini_cast(transport, make_world("poll")) as cast:
        outcome = await ask(cast, "approve-me")
        assert outcome.approved and outcome.slow_downs >= 1
        polls = [e for e in cast.audit() if e.event in ("ciba.pending", "ciba.slowed_down", "token.issued")]
        assert len(polls) == outcome.polls and polls[-1].event == "token.issued"
        assert sum(e.event == "ciba.slowed_down" for e in polls) == outcome.slow_downs
        times = [datetime.fromisoformat(e.time).timestamp() for e in polls]
        gaps = [round(b - a) for a, b in zip(times, times[1:])]
        # each gap is the requester's interval: 25 s, plus 5 s for every slow_down answered so far
        expected = [25 + 5 * sum(e.event == "ciba.slowed_down" for e in polls[:k + 1]) for k in range(len(gaps))]
        assert gaps == expected and gaps[-1] > gaps[0]


HOSTILE = [
    ("no hint", {"login_hint": None}, 400, "invalid_request"),
    ("two hints", {"login_hint_token": "eyJhbGciOiJFUzI1NiJ9.e30.sig"}, 400, "invalid_request"),
    ("unknown user", {"login_hint": "nobody@acmecorp.example"}, 400, "unknown_user_id"),
    ("oversized binding_message", {"binding_message": "x" * 500}, 400, "invalid_binding_message"),
    ("control character in binding_message", {"binding_message": "pay\r\nnow"}, 400, "invalid_binding_message"),
    ("bad client auth", {"auth": "wrong-key"}, 401, "invalid_client"),
    ("no client auth", {"auth": None}, 401, "invalid_client"),
    ("bad authorization_details", {"authorization_details": "[{\"type\":\"wire\"}]"}, 400, "invalid_authorization_details"),
]


@TRANSPORTS
async def test_hostile_backchannel_requests_leave_nothing_stuck(transport, autojump_clock):
    async with mini_cast(transport, make_world("poll")) as cast:
        detail = action(cast, "approve-me").detail
        wrong = cast.runtime.new_signing_key(owner="mallory", purpose="keys", alg=cast.agent.signing_key.alg)
        for name, changes, status, error in HOSTILE:
            params = {"scope": "openid email:send", "login_hint": "sarah.johnson@acmecorp.example",
                      "binding_message": "ok", "authorization_details": rar.encode([detail])}
            changes = dict(changes)
            auth = changes.pop("auth", "agent")
            params.update(changes)
            params = {k: v for k, v in params.items() if v is not None}
            if auth is not None:
                params.update(cast.client_auth(key=wrong if auth == "wrong-key" else None))
            response = await cast.post("/bc-authorize", params)
            assert (response.status, response.json()["error"]) == (status, error), name
        assert len(cast.approvals.backchannel.ledger) == 0 and cast.approvals.apps["sarah"].shown == []
        assert len(cast.audit("ciba.request_refused")) == len(HOSTILE)
        outcome = await ask(cast, "approve-me")                             # the IdP still serves requests
        assert outcome.approved


@attrs.define(eq=False)
class BrokenEndpoint(HttpActor):
    """A client notification endpoint that always fails."""

    async def handle(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse.json_body({"error": "down"}, status=503)


@TRANSPORTS
async def test_ping_to_a_failing_endpoint_is_recovered_by_polling(transport, autojump_clock):
    def broken(runtime):
        return [BrokenEndpoint(name="broken-endpoint", runtime=runtime, base_url=runtime.network.base_url_for("broken-endpoint"))]

    async with mini_cast(transport, make_world("ping"), extra=broken) as cast:
        bc = cast.approvals.backchannel
        bc.clients[AGENT] = attrs.evolve(bc.clients[AGENT], notification_endpoint=cast.extra[0].url("/ciba"))
        cast.requester.ping_safety_net = 60
        outcome = await ask(cast, "approve-me")
        assert outcome.approved and outcome.notifications == 0
        (failed,) = cast.audit("ciba.ping_failed")
        assert failed.reason == "answered HTTP 503" and "still poll" in failed.details["recovery"]
        assert outcome.waited == 300                                          # the next safety-net poll, 60 s later
        assert cast.approvals.backchannel.next_deadline() is None
        # no stuck state: once the endpoint is repaired the next request is pinged and answered
        bc.clients[AGENT] = attrs.evolve(bc.clients[AGENT], notification_endpoint=cast.requester.notification_endpoint)
        again = await ask(cast, "approve-me")
        assert again.approved and again.notifications == 1 and again.waited == 240
        assert len(cast.audit("ciba.pinged")) == 1 and len(cast.audit("ciba.ping_failed")) == 1


@attrs.define(eq=False)
class LoggingBrokenEndpoint(HttpActor):
    """A client notification endpoint that fails — after writing the body to its log."""

    logged: list = attrs.field(factory=list)

    async def handle(self, request: HttpRequest) -> HttpResponse:
        self.logged.append(request.json())
        return HttpResponse.json_body({"error": "down"}, status=503)


def issued_at(entry):
    return int(datetime.strptime(entry.time, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp())


@TRANSPORTS
async def test_a_failed_push_revokes_the_undelivered_tokens(transport, autojump_clock):
    """CIBA §10.3.1: the IdP could not push the approval token, so it revokes what it minted for that
    push — marked revoked in the report's token lineage — and the request ends (a push client may not
    poll, §10.3): the agent learns nothing, performs nothing. A copy the failing endpoint kept is still
    unexpired (here the token outlives the request) and passes the gateway's local JWT check, but the
    gateway asks the IdP (RFC 7662), learns it is inactive and refuses it (401 invalid_token). The
    agent's next request, once the endpoint works again, is pushed and honoured."""
    def broken(runtime):
        return [LoggingBrokenEndpoint(name="broken-endpoint", runtime=runtime,
                                      base_url=runtime.network.base_url_for("broken-endpoint"))]

    async with mini_cast(transport, make_world("push", token_lifetime=1200), extra=broken) as cast:
        bc, endpoint = cast.approvals.backchannel, cast.extra[0]
        bc.clients[AGENT] = attrs.evolve(bc.clients[AGENT], notification_endpoint=endpoint.url("/ciba"))
        outcome = await ask(cast, "approve-me")
        assert (outcome.status, outcome.error, outcome.access_token) == ("expired", "expired_token", None)
        (issued,) = cast.audit("token.issued")
        (failed,) = cast.audit("ciba.push_failed")
        jtis = failed.details["revoked"]                                      # in clear: jtis are not secrets
        keys = [identifier_key(issued.details["jti"]), identifier_key(issued.details["id_token_jti"])]
        assert failed.reason == "answered HTTP 503" and [identifier_key(j) for j in jtis] == keys
        assert jtis[0] == issued.details["jti"] and failed.seq > issued.seq and failed.agent == AGENT
        assert all(bc.provider.is_revoked(jti) for jti in jtis)              # the IdP refuses them from now on
        (leaked,) = endpoint.logged                                           # what the failing endpoint kept
        assert leaked["auth_req_id"] and leaked["access_token"] not in json.dumps([e.to_json() for e in cast.audit()])
        lineage = {n.key: n for n in build_lineage(cast.audit()).nodes}
        for key in keys:
            node = lineage[key]
            assert (node.revoked_seq, node.revoked_time, node.uses) == (failed.seq, failed.time, 0)
        assert cast.gate.executed == [] and not cast.audit("action.executed")
        # The leaked copy is still valid as a JWT (signature, audience, expiry: RFC 9068 §4) — only the
        # IdP knows it was revoked, and the gateway asks it before executing.
        now = cast.runtime.clock.now()
        profile = TokenProfile.access_token(issuer=cast.idp.base_url, audience=cast.gate.resource)
        claims = verify_jwt(leaked["access_token"], keys=bc.provider.public_keys(now=now), now=now,
                            profile=profile).claims
        assert claims["iat"] == issued_at(issued) and claims["exp"] > now and claims["jti"] == jtis[0]
        replay = await cast.runtime.network.send(HttpRequest.json_post(
            url=cast.gate.actions_endpoint, headers={"authorization": f"Bearer {leaked['access_token']}"},
            payload={"action": "send_email", "detail": action(cast, "approve-me").detail.to_json()}))
        assert replay.status == 401 and 'error="invalid_token"' in replay.header("www-authenticate")
        (inactive,) = cast.audit("token.introspected")
        assert (inactive.actor, inactive.decision, inactive.reason, inactive.agent) == (
            cast.idp.name, "deny", "inactive: revoked", AGENT)
        assert (inactive.details["client"], inactive.details["jti"]) == (cast.gate.name, jtis[0])
        (refused,) = cast.audit("action.refused")
        assert (refused.reason, refused.agent, refused.details["jti"], refused.details["check"]) == (
            "invalid_token", AGENT, jtis[0], "introspection")
        assert "reports the token inactive" in refused.details["description"] and refused.seq > inactive.seq
        assert cast.gate.executed == [] and not cast.audit("action.executed")

        # nothing stuck: the request ended, and once the endpoint works the next request is honoured
        assert bc.ledger.get(leaked["auth_req_id"]).state.value == "failed" and bc.next_deadline() is None
        bc.clients[AGENT] = attrs.evolve(bc.clients[AGENT], notification_endpoint=cast.requester.notification_endpoint)
        again = await ask(cast, "approve-me")
        assert again.approved and again.notifications == 1
        _, reissued = cast.audit("token.issued")
        assert not bc.provider.is_revoked(reissued.details["jti"])
        assert (await perform(cast, again, action(cast, "approve-me").detail))[0] == 201
        node = {n.key: n for n in build_lineage(cast.audit()).nodes}[identifier_key(reissued.details["jti"])]
        assert node.revoked_seq is None and node.uses == 1
        assert len(cast.audit("ciba.pushed")) == 1 and len(cast.audit("ciba.push_failed")) == 1


@TRANSPORTS
async def test_the_gateway_executes_nothing_when_the_idp_cannot_be_asked(transport, autojump_clock):
    """The gateway introspects every approval token at the IdP before executing: an IdP it cannot
    reach (or that advertises no introspection endpoint) makes it refuse ``503
    temporarily_unavailable`` — fail closed — and the refusal does not spend the approval."""
    async with mini_cast(transport, make_world("poll")) as cast:
        outcome = await ask(cast, "approve-me")
        detail = action(cast, "approve-me").detail
        assert (await perform(cast, outcome, detail))[0] == 201              # the gateway has the IdP's metadata
        gate = cast.gate
        metadata = gate._metadata
        for endpoint, why in (("http://127.0.0.1:1/introspect", "unreachable"), (None, "no introspection endpoint")):
            gate._metadata = attrs.evolve(metadata, introspection_endpoint=endpoint)
            status, body = await perform(cast, outcome, detail, act="update_crm")
            assert (status, body["error"]) == (503, "temporarily_unavailable")
            refused = cast.audit("action.refused")[-1]
            assert (refused.reason, refused.agent, refused.details["check"]) == (
                "temporarily_unavailable", AGENT, "introspection")
            assert why in refused.details["description"]
        assert [e.action for e in gate.executed] == ["send_email"] and len(cast.audit("action.executed")) == 1
        gate._metadata = metadata                                             # the IdP answers again
        assert (await perform(cast, outcome, detail, act="update_crm"))[0] == 201
        assert [e.action for e in gate.executed] == ["send_email", "update_crm"]
        assert all(e.reason.endswith("(introspected)") for e in cast.audit("action.executed"))


@TRANSPORTS
@pytest.mark.parametrize("mode", ["ping", "push"])
async def test_forged_notifications_are_refused(transport, mode, autojump_clock):
    """§10.2 / §10.3: the client accepts a notification only with the bearer client_notification_token
    it sent; a forged ping or push (right auth_req_id, wrong token) is 401 and changes nothing."""
    async with mini_cast(transport, make_world(mode)) as cast:
        results = {}

        async def wait_for_approval():
            results["outcome"] = await ask(cast, "approve-me")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(wait_for_approval)
            await trio.sleep(60)                                              # the request is pending
            (auth_req_id,) = cast.requester._waiting
            forged = {"auth_req_id": auth_req_id}
            if mode == "push":
                forged |= {"access_token": "forged", "token_type": "Bearer", "expires_in": 300, "id_token": "x.y.z"}
            for token in ("forged-notification-token-0123456789", None):
                headers = {"authorization": f"Bearer {token}"} if token else {}
                response = await cast.runtime.network.send(HttpRequest.json_post(
                    url=cast.requester.notification_endpoint, payload=forged, headers=headers))
                assert response.status == 401 and response.header("www-authenticate").startswith("Bearer")
        outcome = results["outcome"]
        assert outcome.approved and outcome.notifications == 1 and outcome.waited == 240
        assert len(cast.audit("agent.notification_rejected")) == 2
