"""The output filter's detector: credentials in text an agent is about to send to people
(chat replies, e-mail bodies, documents), and what to do about them.

Detectors, strongest first:
- ``known_secret`` — an exact occurrence of a secret the platform minted this run (tokens,
  refresh tokens, codes, assertions, passwords, key material: the run's ``SecretRegistry``);
- ``jwt`` — a compact JWS/JWE shape (RFC 7515 §7.1: base64url header starting ``eyJ``, dots);
- ``bearer`` — an ``Authorization: Bearer``/``Basic`` credential (RFC 6750 §2.1, RFC 7617);
- ``private_key`` — a PEM private key block (RFC 7468 §10, §11);
- ``known_prefix`` — vendor key formats (AWS ``AKIA…``, GitHub ``ghp_…``, Slack ``xox?-…``,
  Stripe ``sk_live_…``, Google ``AIza…``, OpenAI ``sk-…``);
- ``assignment`` — ``password=…``, ``api_key: …``, ``client_secret …`` style assignments;
- ``high_entropy`` — a long run of base64/hex characters with the Shannon entropy of random data
  (paths and slugs of short segments excepted).

Policy (:func:`decide`): anything but ``high_entropy`` and ``assignment`` is a credential — the
output is **blocked** (nothing is sent); the two heuristics are **redacted** in place (the message
goes out with ``[REDACTED]``). Findings carry a short SHA-256 fingerprint, never the secret.
"""

from __future__ import annotations

import enum
import hashlib
import math
import re
from collections import Counter
from collections.abc import Iterable

import attrs

MIN_KNOWN_SECRET = 8
HIGH_ENTROPY_MIN_LENGTH = 32
HIGH_ENTROPY_BITS_PER_CHAR = 4.0
HEX_BITS_PER_CHAR = 3.5
"""Hex strings carry at most 4 bits per character; random hex sits near 3.8."""
MIN_SEGMENT = 20
"""A high-entropy candidate needs one run this long without ``/ . -`` (paths and slugs have none)."""

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")),
    ("bearer", re.compile(r"\b(?:Bearer|Basic)\s+[A-Za-z0-9\-._~+/]{16,}=*", re.IGNORECASE)),
    ("private_key", re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")),
    ("known_prefix", re.compile(
        r"\b(?:AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36}|xox[abprs]-[A-Za-z0-9-]{10,}|sk_live_[A-Za-z0-9]{16,}"
        r"|AIza[0-9A-Za-z_-]{35}|sk-[A-Za-z0-9]{32,})")),
    ("assignment", re.compile(
        r"\b(?:password|passwd|api[_-]?key|client[_-]?secret|secret|access[_-]?token|refresh[_-]?token)"
        r"\s*[:=]\s*['\"]?[^\s'\"]{8,}", re.IGNORECASE)),
)
_CANDIDATE = re.compile(r"[A-Za-z0-9+/_=-]{%d,}" % HIGH_ENTROPY_MIN_LENGTH)

BLOCKING_KINDS = frozenset({"known_secret", "jwt", "bearer", "private_key", "known_prefix"})


class Action(enum.Enum):
    ALLOW = "allow"
    REDACT = "redact"
    BLOCK = "block"


@attrs.frozen(kw_only=True)
class Finding:
    kind: str
    start: int
    end: int
    fingerprint: str


@attrs.frozen(kw_only=True)
class Verdict:
    action: Action
    findings: tuple[Finding, ...]
    text: str = attrs.field(repr=False)
    """The text to release: unchanged (allow), redacted (redact) or empty (block)."""

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(sorted({f.kind for f in self.findings}))


def shannon_entropy(text: str) -> float:
    """Bits per character of ``text``'s character distribution."""
    counts = Counter(text)
    total = len(text)
    return -sum(n / total * math.log2(n / total) for n in counts.values()) if total else 0.0


def _fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:8]


def _looks_random(candidate: str) -> bool:
    """Random-looking: mixed character classes, high entropy, and not a path or slug made of short
    segments (``Sales/Proposals/2025/Acme-Corp-Q1``)."""
    if max(len(segment) for segment in re.split(r"[/.-]", candidate)) < MIN_SEGMENT:
        return False
    classes = sum(bool(re.search(p, candidate)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]"))
    threshold = HEX_BITS_PER_CHAR if re.fullmatch(r"[0-9a-fA-F]+", candidate) else HIGH_ENTROPY_BITS_PER_CHAR
    return classes >= 2 and shannon_entropy(candidate) >= threshold


def scan(text: str, *, known_secrets: Iterable[str] = ()) -> tuple[Finding, ...]:
    """Every credential-looking span in ``text``, overlapping findings kept once (strongest kind)."""
    found: list[Finding] = []
    for secret in known_secrets:
        if len(secret) < MIN_KNOWN_SECRET:
            continue
        start = text.find(secret)
        while start != -1:
            found.append(Finding(kind="known_secret", start=start, end=start + len(secret),
                                 fingerprint=_fingerprint(secret)))
            start = text.find(secret, start + 1)
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            found.append(Finding(kind=kind, start=match.start(), end=match.end(),
                                 fingerprint=_fingerprint(match.group(0))))
    for match in _CANDIDATE.finditer(text):
        if _looks_random(match.group(0)):
            found.append(Finding(kind="high_entropy", start=match.start(), end=match.end(),
                                 fingerprint=_fingerprint(match.group(0))))
    order = ["known_secret", "jwt", "bearer", "private_key", "known_prefix", "assignment", "high_entropy"]
    kept: list[Finding] = []
    for finding in sorted(found, key=lambda f: (order.index(f.kind), f.start)):
        if not any(f.start < finding.end and finding.start < f.end for f in kept):
            kept.append(finding)
    return tuple(sorted(kept, key=lambda f: f.start))


def redact(text: str, findings: Iterable[Finding]) -> str:
    out, last = [], 0
    for finding in sorted(findings, key=lambda f: f.start):
        out += [text[last:finding.start], "[REDACTED]"]
        last = finding.end
    return "".join(out) + text[last:]


def decide(text: str, *, known_secrets: Iterable[str] = ()) -> Verdict:
    """Scan ``text`` and apply the policy: block on a credential, redact heuristic hits, else allow."""
    findings = scan(text, known_secrets=known_secrets)
    if not findings:
        return Verdict(action=Action.ALLOW, findings=(), text=text)
    if any(f.kind in BLOCKING_KINDS for f in findings):
        return Verdict(action=Action.BLOCK, findings=findings, text="")
    return Verdict(action=Action.REDACT, findings=findings, text=redact(text, findings))
