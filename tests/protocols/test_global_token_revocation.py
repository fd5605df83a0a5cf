"""Global Token Revocation requests: caller authentication (401/403), parsing (400), replay."""

import json

import pytest

from protocols.entropy import SeededEntropy
from protocols.global_token_revocation import (
    CallerNotAllowed, CallerNotAuthenticated, MalformedRevocation, caller_assertion, metadata,
    parse_revocation_request, revocation_request,
)
from protocols.http import HttpRequest
from protocols.jose.jwks import JwkSet
from protocols.jose.keys import Algorithm, SigningKey
from protocols.oauth.client_auth import AssertionReplayCache
from protocols.subject_identifiers import SubjectId

ENDPOINT = "https://crm.trustbench.test/oauth/global-token-revocation"
NOW = 1_740_000_000
KEY = SigningKey.generate(alg=Algorithm.ES256, entropy=SeededEntropy.for_actor(run_seed=3, actor="responder"),
                          created_at=NOW)
OTHER = SigningKey.generate(alg=Algorithm.ES256, entropy=SeededEntropy.for_actor(run_seed=3, actor="evil"),
                            created_at=NOW)
CALLERS = {"incident-response": JwkSet.from_json({"keys": [KEY.public_jwk()]})}
AGENT = SubjectId.iss_sub(iss="https://acme-idp.trustbench.test", sub="sales-agent-prod-001")


def assertion(*, caller="incident-response", key=KEY, endpoint=ENDPOINT, seed="a", lifetime=60):
    return caller_assertion(caller=caller, endpoint=endpoint, key=key, now=NOW,
                            entropy=SeededEntropy.for_actor(run_seed=seed, actor="gtr"), lifetime=lifetime)


def parse(request, replay=None):
    return parse_revocation_request(request, endpoint=ENDPOINT, callers=CALLERS, now=NOW,
                                    replay=replay or AssertionReplayCache())


def test_a_signed_request_names_the_subject():
    request = revocation_request(endpoint=ENDPOINT, subject=AGENT, assertion=assertion())
    assert json.loads(request.body) == {"sub_id": AGENT.to_json()}
    asked = parse(request)
    assert (asked.caller, asked.subject) == ("incident-response", AGENT)
    assert metadata(ENDPOINT)["global_token_revocation_endpoint"] == ENDPOINT


def test_a_caller_assertion_is_single_use():
    replay = AssertionReplayCache()
    token = assertion()
    parse(revocation_request(endpoint=ENDPOINT, subject=AGENT, assertion=token), replay)
    with pytest.raises(CallerNotAuthenticated, match="already used"):
        parse(revocation_request(endpoint=ENDPOINT, subject=AGENT, assertion=token), replay)


@pytest.mark.parametrize("label, request_, error, status", [
    ("no credential", lambda: HttpRequest.json_post(url=ENDPOINT, payload={"sub_id": AGENT.to_json()}),
     CallerNotAuthenticated, 401),
    ("unknown caller", lambda: revocation_request(endpoint=ENDPOINT, subject=AGENT,
                                                  assertion=assertion(caller="mallory", key=OTHER)),
     CallerNotAllowed, 403),
    ("caller's name, another key", lambda: revocation_request(endpoint=ENDPOINT, subject=AGENT,
                                                              assertion=assertion(key=OTHER)),
     CallerNotAuthenticated, 401),
    ("assertion for another endpoint", lambda: revocation_request(
        endpoint=ENDPOINT, subject=AGENT,
        assertion=assertion(endpoint="https://pricing/oauth/global-token-revocation")),
     CallerNotAuthenticated, 401),
    ("assertion living too long", lambda: revocation_request(endpoint=ENDPOINT, subject=AGENT,
                                                             assertion=assertion(lifetime=3600)),
     CallerNotAuthenticated, 401),
    ("form body", lambda: HttpRequest.form_post(url=ENDPOINT, params={"sub_id": "x"},
                                                headers={"authorization": f"Bearer {assertion()}"}),
     MalformedRevocation, 400),
    ("no sub_id", lambda: HttpRequest.json_post(url=ENDPOINT, payload={"subject": "x"},
                                                headers={"authorization": f"Bearer {assertion()}"}),
     MalformedRevocation, 400),
    ("unsupported subject format", lambda: HttpRequest.json_post(
        url=ENDPOINT, payload={"sub_id": {"format": "ssn", "id": "1"}},
        headers={"authorization": f"Bearer {assertion()}"}), MalformedRevocation, 400),
    ("broken JSON", lambda: HttpRequest(method="POST", url=ENDPOINT, body=b"{",
                                        headers={"content-type": "application/json",
                                                 "authorization": f"Bearer {assertion()}"}),
     MalformedRevocation, 400),
])
def test_refusals(label, request_, error, status):
    with pytest.raises(error) as refused:
        parse(request_())
    assert refused.value.status == status, label
    assert refused.value.to_response().status == status
