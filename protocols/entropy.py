"""Seeded, deterministic entropy: every identifier and key of a run derives from (seed, actor name).

DESIGN.md §2. A counter-mode HMAC-SHA256 stream (the HMAC_DRBG construction of NIST SP 800-90A
§10.1.2, without reseeding) keyed by the run seed and a label. ``serve`` mode passes a seed drawn
from the operating system, so the same code mints unpredictable values there.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import attrs


@attrs.define
class SeededEntropy:
    """A deterministic byte stream; ``child(label)`` gives an independent stream for a sub-purpose."""

    seed: bytes
    label: str
    _counter: int = attrs.field(default=0, init=False)

    @classmethod
    def for_actor(cls, *, run_seed: int | bytes, actor: str) -> SeededEntropy:
        seed = run_seed if isinstance(run_seed, bytes) else str(run_seed).encode()
        return cls(seed=hashlib.sha256(b"trustbench-seed:" + seed).digest(), label=actor)

    def child(self, label: str) -> SeededEntropy:
        return SeededEntropy(seed=self.seed, label=f"{self.label}/{label}")

    def bytes(self, n: int) -> bytes:
        out = bytearray()
        while len(out) < n:
            self._counter += 1
            block = hmac.new(self.seed, f"{self.label}#{self._counter}".encode(), hashlib.sha256)
            out += block.digest()
        return bytes(out[:n])

    def token(self, nbytes: int = 32) -> str:
        """A URL-safe random string (base64url, no padding) of ``nbytes`` entropy."""
        return base64.urlsafe_b64encode(self.bytes(nbytes)).rstrip(b"=").decode()

    def hex(self, nbytes: int = 16) -> str:
        return self.bytes(nbytes).hex()

    def integer_below(self, bound: int) -> int:
        """A uniform integer in ``[0, bound)`` by rejection sampling."""
        nbytes = (bound.bit_length() + 7) // 8 + 1
        limit = (256**nbytes // bound) * bound
        while True:
            value = int.from_bytes(self.bytes(nbytes), "big")
            if value < limit:
                return value % bound
