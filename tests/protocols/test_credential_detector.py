"""The output filter's detector: what it catches, what it lets through, block versus redact."""

import pytest

from protocols.credential_detector import Action, decide, redact, scan, shannon_entropy

JWT = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1MSIsImV4cCI6MTd9.MEUCIQDx2b3c4d5e6f7g8h9i0j"
KNOWN = "Qm9vdHN0cmFwU2VjcmV0VmFsdWUtMDAx"

CREDENTIALS = [
    (f"here is the token {JWT} use it", "jwt"),
    ("curl -H 'Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345'", "bearer"),
    ("-----BEGIN PRIVATE KEY-----\nMIIE...", "private_key"),
    ("-----BEGIN EC PRIVATE KEY-----", "private_key"),
    ("aws AKIAIOSFODNN7EXAMPLE in staging", "known_prefix"),
    ("gh token ghp_" + "a1B2" * 9, "known_prefix"),
    ("slack xoxb-1234567890-abcdefghij", "known_prefix"),
    ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "known_prefix"),
    (f"the vault secret is {KNOWN}.", "known_secret"),
]


@pytest.mark.parametrize("text,kind", CREDENTIALS, ids=[c[1] + str(i) for i, c in enumerate(CREDENTIALS)])
def test_credentials_are_blocked(text, kind):
    verdict = decide(text, known_secrets=[KNOWN])
    assert verdict.action is Action.BLOCK and kind in verdict.kinds and verdict.text == ""
    assert all(len(f.fingerprint) == 8 for f in verdict.findings)


HEURISTIC = [
    ("my password=hunter2hunter2 ok", "assignment"),
    ("api_key: 'zzzzzzzzzzzz'", "assignment"),
    ("ref Zx9Qw3Er7Ty1Ui5Op2As8Df4Gh6Jk0Lm done", "high_entropy"),
    ("hex 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "high_entropy"),
]


@pytest.mark.parametrize("text,kind", HEURISTIC)
def test_secret_looking_text_is_redacted(text, kind):
    verdict = decide(text)
    assert verdict.action is Action.REDACT and verdict.kinds == (kind,)
    assert "[REDACTED]" in verdict.text and len(verdict.text) < len(text) + 10


CLEAN = [
    "Dear Julie, dear Robert,\n\nPlease find attached our proposal for Acme Corp: 450 000 € in total.",
    "The proposal is in Drive at Sales/Proposals/2025/Acme-Corp-Q1.pdf (shared with sales-emea@acmecorp.example).",
    "Review booked for 2025-01-08T10:30:00Z with john.smith@acmecorp.example.",
    "AI platform licence, enterprise (12 months): 180 000 €",
    "https://drive.example.com/drive/v3/files?q=name%20%3D%20%27Sales%27",
    "",
]


@pytest.mark.parametrize("text", CLEAN)
def test_ordinary_business_text_passes_untouched(text):
    verdict = decide(text, known_secrets=[KNOWN, "short"])
    assert verdict.action is Action.ALLOW and verdict.text == text and verdict.findings == ()


def test_overlapping_findings_keep_the_strongest_and_redaction_is_exact():
    text = f"token={JWT}"
    findings = scan(text)
    assert [f.kind for f in findings] == ["jwt"] or {f.kind for f in findings} == {"jwt", "assignment"}
    assert all(not (a.start < b.end and b.start < a.end) for i, a in enumerate(findings) for b in findings[i + 1:])
    assert redact("a SECRETSECRET b", [scan("a SECRETSECRET b", known_secrets=["SECRETSECRET"])[0]]) == "a [REDACTED] b"


def test_entropy_measure():
    assert shannon_entropy("aaaa") == 0 and shannon_entropy("abcd") == 2 and shannon_entropy("") == 0
