"""The run's secret registry and redaction (DESIGN.md §5): no minted secret reaches a log or file.

Every actor registers each secret it mints (codes, tokens, assertions, passwords, private keys);
``redact`` replaces any occurrence inside a string by a short, stable fingerprint so events stay
correlatable (`<redacted:sha256:1a2b3c4d>`) without revealing anything usable.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

import attrs

MIN_SECRET_LENGTH = 8
SECRET_KEY_PATTERN = re.compile(
    r"(token|secret|assertion|password|passwd|private|verifier|^code$|_code$|^key$|_key$|cookie|authorization)",
    re.IGNORECASE,
)


def fingerprint(secret: str) -> str:
    return "<redacted:sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:8] + ">"


@attrs.define
class SecretRegistry:
    """The set of secrets minted during a run; longest first so overlapping secrets redact whole.

    Secrets are indexed by their first ``MIN_SECRET_LENGTH`` characters, so adding one costs O(1)
    and redacting a text costs one dictionary lookup per character whatever the number of secrets
    (a run over simulated weeks mints thousands; one regular expression over all of them would be
    recompiled on every addition and scanned alternative by alternative).
    """

    _secrets: set[str] = attrs.field(factory=set)
    _by_prefix: dict[str, list[str]] = attrs.field(factory=dict, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        for secret in self._secrets:
            self._index(secret)

    def _index(self, secret: str) -> None:
        bucket = self._by_prefix.setdefault(secret[:MIN_SECRET_LENGTH], [])
        bucket.append(secret)
        bucket.sort(key=len, reverse=True)

    def add(self, *secrets: str) -> None:
        for secret in secrets:
            if secret and len(secret) >= MIN_SECRET_LENGTH and secret not in self._secrets:
                self._secrets.add(secret)
                self._index(secret)

    def add_all(self, secrets: Iterable[str]) -> None:
        self.add(*secrets)

    def __iter__(self):
        return iter(sorted(self._secrets))

    def __len__(self) -> int:
        return len(self._secrets)

    def redact_text(self, text: str) -> str:
        """Replace every registered secret in ``text`` by its fingerprint, leftmost first, the
        longest secret starting at a position winning (what a longest-first alternation does)."""
        if not self._secrets or len(text) < MIN_SECRET_LENGTH:
            return text
        index, width = self._by_prefix, MIN_SECRET_LENGTH
        parts: list[str] = []
        start = position = 0
        end = len(text) - width
        while position <= end:
            bucket = index.get(text[position:position + width])
            if bucket is not None:
                found = next((secret for secret in bucket if text.startswith(secret, position)), None)
                if found is not None:
                    parts += (text[start:position], fingerprint(found))
                    position = start = position + len(found)
                    continue
            position += 1
        if not parts:
            return text
        parts.append(text[start:])
        return "".join(parts)

    def redact(self, value: Any, *, key: str = "") -> Any:
        """Redact a structure: registered secrets anywhere, and every string under a secret-named key."""
        if isinstance(value, str):
            if key and SECRET_KEY_PATTERN.search(key) and len(value) >= MIN_SECRET_LENGTH:
                return fingerprint(value)
            return self.redact_text(value)
        if isinstance(value, dict):
            return {k: self.redact(v, key=str(k)) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.redact(v, key=key) for v in value]
        return value


def private_key_forms(private_key: Any) -> list[str]:
    """Every textual form a private key could leak in: PKCS#8 PEM (and its body lines) and the
    JWK private members (RFC 7518 §6.2.2.1 ``d``, §6.3.2 ``p``/``q``/...; RFC 8037 §2 ``d``)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
    forms = [pem] + [line for line in pem.splitlines() if len(line) >= 32 and not line.startswith("-----")]

    def b64(number: int) -> str:
        import base64
        raw = number.to_bytes((number.bit_length() + 7) // 8 or 1, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        forms.append(b64(private_key.private_numbers().private_value))
    elif isinstance(private_key, rsa.RSAPrivateKey):
        numbers = private_key.private_numbers()
        forms += [b64(n) for n in (numbers.d, numbers.p, numbers.q, numbers.dmp1, numbers.dmq1, numbers.iqmp)]
    elif isinstance(private_key, ed25519.Ed25519PrivateKey):
        import base64
        raw = private_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                        serialization.NoEncryption())
        forms.append(base64.urlsafe_b64encode(raw).rstrip(b"=").decode())
    return forms
