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
    """The set of secrets minted during a run; longest first so overlapping secrets redact whole."""

    _secrets: set[str] = attrs.field(factory=set)
    _pattern: re.Pattern[str] | None = attrs.field(default=None, init=False)

    def add(self, *secrets: str) -> None:
        fresh = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH and s not in self._secrets}
        if fresh:
            self._secrets |= fresh
            self._pattern = None

    def add_all(self, secrets: Iterable[str]) -> None:
        self.add(*secrets)

    def __iter__(self):
        return iter(sorted(self._secrets))

    def __len__(self) -> int:
        return len(self._secrets)

    def redact_text(self, text: str) -> str:
        if not self._secrets:
            return text
        if self._pattern is None:
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))
        return self._pattern.sub(lambda m: fingerprint(m.group(0)), text)

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
