"""RFC 9493 subject identifiers, CAEP 1.0 payloads and SSF 1.0 / RFC 8935 messages."""

import attrs
import pytest

from protocols import caep
from protocols.http import HttpRequest, HttpResponse
from protocols.security_event import SetRejected
from protocols.ssf import (
    PUSH_METHOD, MetadataRejected, PushVerdict, StreamConfiguration, StreamRequest, StreamRequestInvalid,
    TransmitterMetadata, classify_push_response, configuration_url, parse_status_update, push_accepted, push_error,
    push_request, read_push_request,
)
from protocols.subject_identifiers import (
    ComplexSubject, InvalidSubject, SubjectId, local_names, parse_subject, principals,
)

ISSUER = "https://ssf.trustbench.test"


# ---------------------------------------------------------------------- RFC 9493

@pytest.mark.parametrize("value", [
    {"format": "account", "uri": "acct:example.user@service.example.com"},
    {"format": "email", "email": "user@example.com"},
    {"format": "iss_sub", "iss": "https://issuer.example.com/", "sub": "145234573"},
    {"format": "opaque", "id": "11112222333344445555"},
    {"format": "phone_number", "phone_number": "+12065550100"},
    {"format": "did", "url": "did:example:123456"},
    {"format": "uri", "uri": "https://user.example.com/"},
    {"format": "aliases", "identifiers": [{"format": "email", "email": "user@example.com"},
                                          {"format": "phone_number", "phone_number": "+12065550100"}]},
])
def test_rfc9493_examples_round_trip(value):
    assert SubjectId.from_json(value).to_json() == value


@pytest.mark.parametrize("value, problem", [
    ("user@example.com", "JSON object"),
    ({"email": "user@example.com"}, "format"),
    ({"format": "ssn", "id": "1"}, "unsupported"),
    ({"format": "email", "email": "not-an-address"}, "e-mail"),
    ({"format": "phone_number", "phone_number": "2065550100"}, "E.164"),
    ({"format": "account", "uri": "mailto:x@y"}, "acct:"),
    ({"format": "iss_sub", "iss": "https://issuer.example.com/"}, "'sub'"),
    ({"format": "opaque", "id": ""}, "'id'"),
    ({"format": "aliases", "identifiers": []}, "non-empty"),
    ({"format": "aliases", "identifiers": [{"format": "aliases", "identifiers": [{"format": "opaque", "id": "x"}]}]},
     "may not contain"),
])
def test_malformed_subject_identifiers_are_refused(value, problem):
    with pytest.raises(InvalidSubject, match=problem):
        parse_subject(value)


def test_complex_subject_names_its_application_then_user():
    subject = parse_subject({"format": "complex", "user": {"format": "email", "email": "sarah@acme.example"},
                             "application": {"format": "opaque", "id": "sales-agent-prod-001"},
                             "future_member": {"format": "opaque", "id": "ignored"}})
    assert isinstance(subject, ComplexSubject)
    assert [p.to_json() for p in principals(subject)] == [
        {"format": "opaque", "id": "sales-agent-prod-001"}, {"format": "email", "email": "sarah@acme.example"}]
    with pytest.raises(InvalidSubject):
        parse_subject({"format": "complex"})


def test_local_names_trust_only_known_issuers_and_follow_aliases():
    agent = SubjectId.iss_sub(iss="https://idp", sub="agent-1")
    assert local_names(agent, issuers={"https://idp"}) == ("agent-1",)
    assert local_names(agent, issuers={"https://other"}) == ()
    aliases = SubjectId(format="aliases", aliases=(agent, SubjectId.opaque("svc-1"), SubjectId.email("a@b.example"),
                                                   SubjectId.from_json({"format": "did", "url": "did:x:1"})))
    assert local_names(aliases, issuers={"https://idp"}) == ("agent-1", "svc-1", "a@b.example")
    complex_subject = parse_subject({"format": "complex", "application": agent.to_json(),
                                     "tenant": {"format": "opaque", "id": "t1"}})
    assert local_names(complex_subject, issuers={"https://idp"}) == ("agent-1",)


# ---------------------------------------------------------------------- CAEP 1.0

def test_caep_builders_produce_conforming_payloads():
    revoked = caep.session_revoked(event_timestamp=1, initiating_entity="policy", reason_admin="risk HIGH",
                                   reason_user="agent suspended")
    assert revoked == {"event_timestamp": 1, "initiating_entity": "policy", "reason_admin": {"en": "risk HIGH"},
                       "reason_user": {"en": "agent suspended"}}
    changed = caep.credential_change(credential_type="api-secret", change_type="update", event_timestamp=1,
                                     initiating_entity="policy", reason_admin="rotated", friendly_name="crm key")
    assert changed["credential_type"] == "api-secret" and changed["friendly_name"] == "crm key"
    assert caep.reason(changed) == "rotated"


@pytest.mark.parametrize("build", [
    lambda: caep.session_revoked(event_timestamp=1, initiating_entity="robot", reason_admin="x"),
    lambda: caep.session_revoked(event_timestamp=1, initiating_entity="policy", reason_admin=""),
    lambda: caep.credential_change(credential_type="smartcard", change_type="update", event_timestamp=1,
                                   initiating_entity="policy", reason_admin="x"),
    lambda: caep.credential_change(credential_type="password", change_type="reset", event_timestamp=1,
                                   initiating_entity="policy", reason_admin="x"),
])
def test_caep_builders_refuse_values_outside_the_spec(build):
    with pytest.raises(ValueError):
        build()


@pytest.mark.parametrize("payload", [
    {"reason_admin": "not a language map"},
    {"reason_admin": {}},
    {"event_timestamp": "yesterday"},
    {"initiating_entity": "robot"},
])
def test_caep_common_claims_are_checked_on_receipt(payload):
    with pytest.raises(ValueError):
        caep.check_session_revoked(payload)


# ---------------------------------------------------------------------- SSF 1.0 and RFC 8935

def test_configuration_url_inserts_the_well_known_path():
    assert configuration_url("https://t.example") == "https://t.example/.well-known/ssf-configuration"
    assert configuration_url("https://t.example/tenant/1") == "https://t.example/.well-known/ssf-configuration/tenant/1"


def test_transmitter_metadata_round_trips_and_checks_the_issuer():
    metadata = TransmitterMetadata.for_issuer(ISSUER)
    document = metadata.to_json()
    assert document["spec_version"] == "1_0" and document["delivery_methods_supported"] == [PUSH_METHOD]
    assert TransmitterMetadata.from_json(document, expected_issuer=ISSUER) == metadata
    with pytest.raises(MetadataRejected, match="issuer"):
        TransmitterMetadata.from_json(document, expected_issuer="https://impostor.example")
    with pytest.raises(MetadataRejected, match="push"):
        TransmitterMetadata.from_json({**document, "delivery_methods_supported": ["urn:ietf:rfc:8936"]},
                                      expected_issuer=ISSUER)
    with pytest.raises(MetadataRejected, match="spec_version"):
        TransmitterMetadata.from_json({**document, "spec_version": "0_9"}, expected_issuer=ISSUER)
    with pytest.raises(MetadataRejected, match="jwks_uri"):
        TransmitterMetadata.from_json({**document, "jwks_uri": "/jwks"}, expected_issuer=ISSUER)


def stream_body(**changes):
    body = {"delivery": {"method": PUSH_METHOD, "endpoint_url": "https://crm.example/ssf/events",
                         "authorization_header": "Bearer abc"},
            "events_requested": [caep.SESSION_REVOKED, "https://example.com/unsupported"]}
    body.update(changes)
    return body


def test_stream_configuration_delivers_requested_and_supported_events_only():
    request = StreamRequest.from_json(stream_body())
    stream = StreamConfiguration.create(request, stream_id="s1", issuer=ISSUER, audience="https://crm.example",
                                        events_supported=(caep.SESSION_REVOKED, caep.CREDENTIAL_CHANGE), owner="crm")
    wire = stream.to_json()
    assert wire["events_delivered"] == [caep.SESSION_REVOKED]
    assert "authorization_header" not in wire["delivery"]  # never echoed back
    assert stream.delivers(caep.SESSION_REVOKED) and not stream.delivers(caep.CREDENTIAL_CHANGE)
    assert not attrs.evolve(stream, status="paused").delivers(caep.SESSION_REVOKED)


@pytest.mark.parametrize("body, problem", [
    ([], "JSON object"),
    (stream_body(stream_id="mine"), "supplied by the transmitter"),
    (stream_body(delivery=None), "delivery is required"),
    (stream_body(delivery={"method": "urn:ietf:rfc:8936", "endpoint_url": "https://x"}), "push"),
    (stream_body(delivery={"method": PUSH_METHOD, "endpoint_url": "ftp://x/events"}), "absolute"),
    (stream_body(events_requested="all"), "array"),
    (stream_body(description=7), "description"),
])
def test_bad_stream_requests_are_refused(body, problem):
    with pytest.raises(StreamRequestInvalid, match=problem):
        StreamRequest.from_json(body)


def test_status_updates_are_validated():
    assert parse_status_update({"stream_id": "s1", "status": "paused", "reason": "maintenance"}) == (
        "s1", "paused", "maintenance")
    for bad in ({"stream_id": "s1", "status": "sleeping"}, {"status": "enabled"}, "enabled"):
        with pytest.raises(StreamRequestInvalid):
            parse_status_update(bad)


def test_push_request_and_receiver_answers():
    request = push_request(endpoint_url="https://crm.example/ssf/events", token="a.b.c",
                           authorization_header="Bearer abc")
    assert request.header("content-type") == "application/secevent+jwt"
    assert request.header("accept") == "application/json" and request.header("authorization") == "Bearer abc"
    assert read_push_request(request) == "a.b.c"
    for bad in (HttpRequest.json_post(url="https://x", payload={"set": "a.b.c"}),
                HttpRequest(method="POST", url="https://x", headers={"content-type": "application/secevent+jwt"},
                            body=b"not a jws")):
        with pytest.raises(SetRejected):
            read_push_request(bad)
    assert push_accepted().status == 202 and push_accepted().body == b""
    refused = push_error(SetRejected("invalid_audience", "not for us"))
    assert refused.status == 400 and refused.json() == {"err": "invalid_audience", "description": "not for us"}


@pytest.mark.parametrize("response, verdict, err", [
    (HttpResponse(status=202), PushVerdict.DELIVERED, ""),
    (HttpResponse.json_body({"err": "invalid_key", "description": "bad"}, status=400), PushVerdict.REJECTED,
     "invalid_key"),
    (HttpResponse.json_body({"err": "made_up"}, status=400), PushVerdict.REJECTED, ""),
    (HttpResponse(status=401), PushVerdict.REJECTED, ""),
    (HttpResponse(status=503), PushVerdict.RETRY, ""),
    (HttpResponse(status=429), PushVerdict.RETRY, ""),
])
def test_transmitter_classifies_receiver_answers(response, verdict, err):
    outcome = classify_push_response(response)
    assert (outcome.verdict, outcome.err) == (verdict, err)
