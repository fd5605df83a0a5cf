"""RFC 8417 SETs as SSF profiles them: signing, independent verification, and every refusal with
its RFC 8935 §2.4 error code."""

import json

import pytest
from joserfc import jws
from joserfc.jwk import KeySet

from protocols import caep
from protocols.entropy import SeededEntropy
from protocols.jose.encoding import b64url_encode
from protocols.jose.jwks import JwkSet
from protocols.jose.jwt import sign_jwt
from protocols.jose.keys import Algorithm, SigningKey
from protocols.security_event import (
    ReplayGuard, SecurityEvent, SetRejected, sign_security_event, validate_security_event,
)
from protocols.subject_identifiers import ComplexSubject, SubjectId

ISS = "https://ssf.trustbench.test"
AUD = "https://crm.trustbench.test"
IDP = "https://acme-idp.trustbench.test"
NOW = 1_740_000_000
KEY = SigningKey.generate(alg=Algorithm.RS256, entropy=SeededEntropy.for_actor(run_seed=1, actor="ssf"),
                          created_at=NOW)
OTHER = SigningKey.generate(alg=Algorithm.ES256, entropy=SeededEntropy.for_actor(run_seed=1, actor="evil"),
                            created_at=NOW)
KEYS = JwkSet.from_json({"keys": [KEY.public_jwk()]})
AGENT = SubjectId.iss_sub(iss=IDP, sub="sales-agent-prod-001")


def event(**changes):
    values = dict(issuer=ISS, audience=(AUD,), jti="set-1", issued_at=NOW, event_type=caep.SESSION_REVOKED,
                  payload=caep.session_revoked(event_timestamp=NOW - 5, initiating_entity="policy",
                                               reason_admin="anomalous volume"),
                  subject=AGENT, txn="inc-1")
    values.update(changes)
    return SecurityEvent(**values)


def validate(token, *, audience=AUD, issuer=ISS, now=NOW):
    return validate_security_event(token, keys=KEYS, issuer=issuer, audience=audience, now=now,
                                   payload_rules=caep.PAYLOAD_RULES)


def forge(claims, *, key=KEY, typ="secevent+jwt", alg_none=False):
    if alg_none:
        header = {"alg": "none", "typ": typ}
        return (b64url_encode(json.dumps(header).encode()) + "." + b64url_encode(json.dumps(claims).encode()) + ".")
    return sign_jwt(claims=claims, key=key, typ=typ)


def test_signed_set_verifies_with_an_independent_jose_library():
    token = sign_security_event(event(), key=KEY)
    keyset = KeySet.import_key_set({"keys": [KEY.public_jwk()]})
    verified = jws.deserialize_compact(token, keyset, algorithms=["RS256"])
    assert verified.protected["typ"] == "secevent+jwt" and verified.protected["kid"] == KEY.kid
    claims = json.loads(verified.payload)
    assert set(claims) == {"iss", "iat", "jti", "aud", "events", "sub_id", "txn", "toe"} - {"toe"}
    assert claims["events"] == {caep.SESSION_REVOKED: claims["events"][caep.SESSION_REVOKED]}
    assert claims["sub_id"] == {"format": "iss_sub", "iss": IDP, "sub": "sales-agent-prod-001"}
    assert "exp" not in claims and "sub" not in claims


def test_round_trip_keeps_every_field():
    original = event(time_of_event=NOW - 5)
    received = validate(sign_security_event(original, key=KEY))
    assert received == original


def test_caep_spec_examples_validate():
    """Payloads of the CAEP 1.0 examples (session-revoked with a complex subject, credential-change)."""
    complex_subject = ComplexSubject.from_json({
        "format": "complex",
        "session": {"format": "opaque", "id": "dMTlD|1600802906337.16|16008.16"},
        "user": {"format": "iss_sub", "iss": "https://idp.example.com/123456789/",
                 "sub": "99beb27c-c1c2-4955-882a-e0dc4996fcbc"},
        "tenant": {"format": "opaque", "id": "123456789"}})
    revoked = event(subject=complex_subject, payload={
        "initiating_entity": "policy", "reason_admin": {"en": "Landspeed Policy Violation: C076E82F"},
        "reason_user": {"en": "Access attempt from multiple regions.",
                        "es-410": "Intento de acceso desde varias regiones."},
        "event_timestamp": 1615304991})
    assert validate(sign_security_event(revoked, key=KEY)).subject == complex_subject
    changed = event(event_type=caep.CREDENTIAL_CHANGE, payload={
        "credential_type": "fido2-roaming", "change_type": "create",
        "fido2_aaguid": "accced6a-63f5-490a-9eea-e59bc1896cfc",
        "friendly_name": "Jane's USB authenticator", "initiating_entity": "user",
        "reason_admin": {"en": "User self-enrollment"}, "event_timestamp": 1615304991})
    assert validate(sign_security_event(changed, key=KEY)).payload["change_type"] == "create"


def claims(**changes):
    body = event().claims()
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


@pytest.mark.parametrize("label, token, err", [
    ("unsigned (alg none)", lambda: forge(claims(), alg_none=True), "invalid_key"),
    ("signed by an unknown key", lambda: forge(claims(), key=OTHER), "invalid_key"),
    ("addressed to another receiver", lambda: forge(claims(aud="https://pricing.trustbench.test")), "invalid_audience"),
    ("from another issuer", lambda: forge(claims(iss="https://evil.example")), "invalid_issuer"),
    ("typed as a plain JWT", lambda: forge(claims(), typ="JWT"), "invalid_request"),
    ("with exp (SSF forbids it)", lambda: forge(claims(exp=NOW + 60)), "invalid_request"),
    ("with a sub claim (SSF forbids it)", lambda: forge(claims(sub="sales-agent-prod-001")), "invalid_request"),
    ("without sub_id", lambda: forge(claims(sub_id=None)), "invalid_request"),
    ("without jti", lambda: forge(claims(jti=None)), "invalid_request"),
    ("with two events", lambda: forge(claims(events={caep.SESSION_REVOKED: {}, caep.CREDENTIAL_CHANGE: {
        "credential_type": "password", "change_type": "update"}})), "invalid_request"),
    ("with a non-object event", lambda: forge(claims(events={caep.SESSION_REVOKED: "now"})), "invalid_request"),
    ("with a non-conforming credential-change", lambda: forge(claims(events={caep.CREDENTIAL_CHANGE: {
        "change_type": "update"}})), "invalid_request"),
    ("with an unknown subject format", lambda: forge(claims(sub_id={"format": "ssn", "id": "x"})), "invalid_request"),
    ("issued in the future", lambda: forge(claims(iat=NOW + 3600)), "invalid_request"),
    ("too old to be fresh", lambda: forge(claims(iat=NOW - 7200)), "invalid_request"),
    ("that is an ID token", lambda: forge({"iss": ISS, "aud": AUD, "sub": "x", "iat": NOW, "exp": NOW + 60,
                                           "nonce": "n"}, typ=None), "invalid_request"),
    ("that is not a JWT", lambda: "not-a-token", "invalid_request"),
])
def test_receiver_refuses(label, token, err):
    with pytest.raises(SetRejected) as refused:
        validate(token())
    assert refused.value.err == err, label


def test_unknown_event_types_pass_validation_for_the_caller_to_ignore():
    token = forge(claims(events={"https://schemas.openid.net/secevent/risc/event-type/account-disabled": {}}))
    assert validate(token).event_type.endswith("account-disabled")


def test_replay_guard_refuses_a_second_delivery_and_forgets_old_ids():
    guard = ReplayGuard(max_age=3600)
    first = validate(sign_security_event(event(), key=KEY))
    guard.admit(first, now=NOW)
    with pytest.raises(SetRejected) as refused:
        guard.admit(first, now=NOW + 1)
    assert refused.value.err == "invalid_request" and "duplicate" in refused.value.description
    guard.admit(event(jti="set-2"), now=NOW + 2)
    guard.admit(event(jti="set-3", issued_at=NOW + 4000), now=NOW + 4000)
    assert len(guard) == 1  # the first two are older than max_age and were dropped


def test_set_rejected_only_carries_rfc8935_codes():
    with pytest.raises(ValueError):
        SetRejected("invalid_token", "not an RFC 8935 code")
