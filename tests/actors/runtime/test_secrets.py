"""Redaction: registered secrets and secret-named fields never survive into logs."""

from cryptography.hazmat.primitives.asymmetric import ec

from actors.runtime.secrets import SecretRegistry, fingerprint, private_key_forms
from protocols.entropy import SeededEntropy


def test_registered_secrets_are_replaced_by_a_stable_fingerprint():
    registry = SecretRegistry()
    registry.add("short", "eyJhbGciOiJSUzI1NiJ9.payload.signature", "eyJhbGciOiJSUzI1NiJ9")
    text = "Bearer eyJhbGciOiJSUzI1NiJ9.payload.signature and short"
    redacted = registry.redact_text(text)
    assert "payload" not in redacted and fingerprint("eyJhbGciOiJSUzI1NiJ9.payload.signature") in redacted
    assert "short" in redacted  # too short to be a secret worth matching


def test_structures_are_redacted_by_value_and_by_key():
    registry = SecretRegistry()
    registry.add("minted-code-123456")
    event = {"note": "code minted-code-123456", "client_secret": "unregistered-but-named",
             "nested": [{"refresh_token": "another-long-value"}], "count": 3}
    redacted = registry.redact(event)
    assert "minted-code-123456" not in str(redacted)
    assert "unregistered-but-named" not in str(redacted) and "another-long-value" not in str(redacted)
    assert redacted["count"] == 3


def test_private_key_forms_cover_pem_and_jwk_members():
    key = ec.derive_private_key(123456789, ec.SECP256R1())
    forms = private_key_forms(key)
    assert any(form.startswith("-----BEGIN PRIVATE KEY-----") for form in forms)
    assert len(forms) >= 3


def test_seeded_entropy_is_deterministic_and_separated_by_actor():
    a1, a2 = SeededEntropy.for_actor(run_seed=1, actor="idp"), SeededEntropy.for_actor(run_seed=1, actor="idp")
    assert a1.token() == a2.token()
    assert SeededEntropy.for_actor(run_seed=1, actor="agent").token() != SeededEntropy.for_actor(run_seed=1, actor="idp").token()
    assert SeededEntropy.for_actor(run_seed=2, actor="idp").token() != SeededEntropy.for_actor(run_seed=1, actor="idp").token()
    assert all(0 <= a1.integer_below(7) < 7 for _ in range(100))
