"""The vault's rules without I/O: envelope encryption (AES-256-GCM data keys wrapped by a KEK, AAD
bound to the record), KEK rotation by re-wrapping, and the agent policy's refusals."""

import pytest

from protocols.entropy import SeededEntropy
from protocols.oauth.errors import InvalidRequest, InvalidScope, InvalidTarget
from protocols.token_exchange import TOKEN_TYPE_ID_TOKEN, TOKEN_TYPE_REFRESH_TOKEN, TokenExchangeRequest
from protocols.vault import (
    CONNECTION_TOKEN_TYPE, Integration, KekRing, VaultIntegrityError, authorize, check_request_shape,
    needs_refresh, record_aad, resolve_integration, rewrap, seal, slot_key, token_id, unseal,
)

CRM = Integration(name="salesforce", provider="crm", resource="https://crm.example/crm/v1",
                  scopes={"crm.read", "crm.write"})
SLACK = Integration(name="slack", provider="slack", resource="https://slack.example/api", scopes={"chat:write"})
INTEGRATIONS = {i.name: i for i in (CRM, SLACK)}
ALLOWED = {"salesforce": frozenset({"crm.read"})}


def entropy(label="vault"):
    return SeededEntropy.for_actor(run_seed=9, actor=label)


def ring():
    return KekRing.start(kek_id="kek-1", key=entropy("kek").bytes(32))


def test_seal_hides_the_plaintext_and_unseal_restores_it():
    keys, secret = ring(), "refresh-token-value-1234567890"
    envelope = seal(secret, aad=record_aad("refresh", "con_1"), ring=keys, entropy=entropy())
    stored = envelope.wrapped_key + envelope.nonce + envelope.ciphertext
    assert secret.encode() not in stored and len(envelope.nonce) == 12 and len(envelope.wrapped_key) == 40
    assert unseal(envelope, aad=record_aad("refresh", "con_1"), ring=keys) == secret
    other = seal(secret, aad=record_aad("refresh", "con_1"), ring=keys, entropy=entropy("other"))
    assert other.ciphertext != envelope.ciphertext and other.wrapped_key != envelope.wrapped_key  # a key per record


def test_a_ciphertext_moved_to_another_record_or_tampered_does_not_open():
    keys = ring()
    envelope = seal("token", aad=record_aad("access", "con_1/a"), ring=keys, entropy=entropy())
    with pytest.raises(VaultIntegrityError, match="does not authenticate"):
        unseal(envelope, aad=record_aad("access", "con_2/a"), ring=keys)
    flipped = bytes([envelope.ciphertext[0] ^ 1]) + envelope.ciphertext[1:]
    with pytest.raises(VaultIntegrityError):
        unseal(type(envelope)(kek_id="kek-1", wrapped_key=envelope.wrapped_key, nonce=envelope.nonce,
                              ciphertext=flipped), aad=record_aad("access", "con_1/a"), ring=keys)
    with pytest.raises(VaultIntegrityError, match="unknown KEK"):
        unseal(envelope, aad=record_aad("access", "con_1/a"), ring=KekRing.start(kek_id="kek-9", key=b"\0" * 32))


def test_rotation_rewraps_the_data_key_and_keeps_the_ciphertext():
    keys = ring()
    envelope = seal("secret-value", aad=b"r1", ring=keys, entropy=entropy())
    rotated = keys.rotate(kek_id="kek-2", key=entropy("kek2").bytes(32))
    assert unseal(envelope, aad=b"r1", ring=rotated) == "secret-value"  # old records still read mid-rotation
    moved = rewrap(envelope, ring=rotated)
    assert moved.kek_id == "kek-2" and moved.ciphertext == envelope.ciphertext and moved.nonce == envelope.nonce
    assert moved.wrapped_key != envelope.wrapped_key
    retired = rotated.retire("kek-1")
    assert unseal(moved, aad=b"r1", ring=retired) == "secret-value"
    with pytest.raises(VaultIntegrityError):
        unseal(envelope, aad=b"r1", ring=retired)
    with pytest.raises(ValueError):
        retired.retire("kek-2")
    with pytest.raises(ValueError):
        KekRing.start(kek_id="short", key=b"\0" * 16)


def exchange(**overrides):
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "subject_token": "id.token.x",
            "subject_token_type": TOKEN_TYPE_ID_TOKEN, "resource": CRM.resource, **overrides}
    return TokenExchangeRequest.from_form({k: v for k, v in form.items() if v is not None})


def test_policy_serves_only_allowed_integrations_and_scopes():
    decision = authorize(integration=resolve_integration(exchange(), INTEGRATIONS), requested_scope=(),
                         allowed=ALLOWED)
    assert decision.scope == ("crm.read",)  # default: everything allowed, nothing more
    with pytest.raises(InvalidTarget, match="not allowed to use the slack integration"):
        authorize(integration=SLACK, requested_scope=("chat:write",), allowed=ALLOWED)
    with pytest.raises(InvalidScope, match="crm.write"):
        authorize(integration=CRM, requested_scope=("crm.read", "crm.write"), allowed=ALLOWED)
    with pytest.raises(InvalidScope, match="has no scope"):
        authorize(integration=CRM, requested_scope=("crm.read", "x"), allowed={"salesforce": frozenset({"crm.read", "x"})})


def test_request_shape_and_integration_naming():
    assert resolve_integration(exchange(resource=None, audience="slack"), INTEGRATIONS) is SLACK
    with pytest.raises(InvalidTarget, match="no such integration"):
        resolve_integration(exchange(resource="https://other.example/api"), INTEGRATIONS)
    with pytest.raises(InvalidTarget, match="exactly one"):
        resolve_integration(exchange(resource=None), INTEGRATIONS)
    check_request_shape(exchange(requested_token_type=CONNECTION_TOKEN_TYPE))
    with pytest.raises(InvalidRequest, match="requested_token_type"):
        check_request_shape(exchange(requested_token_type=TOKEN_TYPE_REFRESH_TOKEN))  # never a refresh token
    with pytest.raises(InvalidRequest, match="actor_token"):
        check_request_shape(exchange(actor_token="a", actor_token_type=TOKEN_TYPE_ID_TOKEN))


def test_refresh_margin_slots_and_token_ids():
    assert needs_refresh(expires_at=1300, now=1000, margin=300) and not needs_refresh(expires_at=1301, now=1000,
                                                                                      margin=300)
    assert slot_key("gmail", ("b", "a")) == slot_key("gmail", ("a", "b"))
    assert token_id("eyJhbGciOiJFUzI1NiJ9.eyJqdGkiOiJhYmMifQ.sig") == "abc"
    assert token_id("opaque-token").startswith("sha256:") and "opaque" not in token_id("opaque-token")
