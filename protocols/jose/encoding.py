"""Strict base64url and canonical JSON for JOSE (RFC 7515 §2, §7.1; RFC 7515 Appendix C).

JOSE uses base64url *without padding* (RFC 7515 §2 "Base64url Encoding"). Decoding here is strict:
only the URL-safe alphabet, no ``=`` padding, no impossible lengths, and the unused low bits of the
last character must be zero, so every byte string has exactly one accepted encoding (a token string
cannot be re-spelled without changing its bytes — RFC 8725 §3.7 in spirit).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")
# Characters allowed as the last one of an encoding whose length is 2 (mod 4): the low 4 bits are
# unused and must be zero; for length 3 (mod 4) the low 2 bits must be zero.
_LAST_CHAR_MOD2 = frozenset(_ALPHABET[i] for i in range(0, 64, 16))
_LAST_CHAR_MOD3 = frozenset(_ALPHABET[i] for i in range(0, 64, 4))
_PADDING = ("", None, "==", "=")


class Base64UrlError(ValueError):
    """A value is not canonical unpadded base64url (RFC 7515 §2)."""


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url of ``data`` (RFC 7515 §2, Appendix C)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def is_canonical_b64url(text: str) -> bool:
    """True when ``text`` uses only the base64url alphabet, has a possible length and zero pad bits."""
    rem = len(text) % 4
    if rem == 1 or _SEGMENT.fullmatch(text) is None:
        return False
    if rem == 2:
        return text[-1] in _LAST_CHAR_MOD2
    if rem == 3:
        return text[-1] in _LAST_CHAR_MOD3
    return True


def b64url_decode(text: str) -> bytes:
    """Decode canonical unpadded base64url; anything else raises ``Base64UrlError``."""
    if not isinstance(text, str) or not is_canonical_b64url(text):
        raise Base64UrlError("not canonical unpadded base64url")
    return decode_checked(text)


def has_zero_pad_bits(text: str) -> bool:
    """Length and last-character half of :func:`is_canonical_b64url`, for text whose alphabet is
    already known to be base64url (the compact-serialization pattern checked it)."""
    rem = len(text) % 4
    if rem == 2:
        return text[-1] in _LAST_CHAR_MOD2
    if rem == 3:
        return text[-1] in _LAST_CHAR_MOD3
    return rem == 0


def decode_checked(text: str) -> bytes:
    """Decode text already known to satisfy :func:`is_canonical_b64url` (hot path, no re-check)."""
    try:
        return base64.urlsafe_b64decode(text + _PADDING[len(text) % 4])  # type: ignore[operator]
    except (binascii.Error, TypeError):  # pragma: no cover - excluded by the canonical check
        raise Base64UrlError("not canonical unpadded base64url") from None


class StrictJsonError(ValueError):
    """Bytes that are not strict JSON: not UTF-8, invalid, a duplicate member, NaN/Infinity."""


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        raise StrictJsonError("duplicate member")
    return members


def _no_constants(name: str) -> Any:
    raise StrictJsonError(f"{name} is not JSON")


# One decoder, built once: json.loads(..., object_pairs_hook=...) builds a decoder per call, which
# costs as much as parsing a small claims set.
_STRICT_DECODER = json.JSONDecoder(object_pairs_hook=_unique_members, parse_constant=_no_constants)


_scan_once = _STRICT_DECODER.scan_once
STRICT_SCAN = _scan_once
"""``scan(text, 0) -> (value, end)``: the strict decoder's C scanner, for callers' fast paths."""


def strict_json(raw: bytes) -> Any:
    """Parse JSON as strictly as :func:`protocols.http.parse_json` — UTF-8 only, duplicate member
    names refused at every depth (RFC 8725 §3.7; RFC 7515 §5.2 step 3 / RFC 7519 §7.2) — and also
    refuse ``NaN``/``Infinity`` (not JSON, RFC 8259 §6). Raises :class:`StrictJsonError`.

    Fast path: a document with no surrounding whitespace is scanned once by the C scanner; anything
    else goes through the full decoder (which handles whitespace and explains errors).
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise StrictJsonError("not UTF-8") from None
    try:
        value, end = _scan_once(text, 0)
        if end == len(text):
            return value
        return _STRICT_DECODER.decode(text)
    except StopIteration:
        pass
    except json.JSONDecodeError:
        raise StrictJsonError("invalid JSON") from None
    except RecursionError:
        raise StrictJsonError("nested too deeply") from None
    try:
        return _STRICT_DECODER.decode(text)
    except json.JSONDecodeError:
        raise StrictJsonError("invalid JSON") from None
    except RecursionError:
        raise StrictJsonError("nested too deeply") from None


def canonical_json(value: Any) -> bytes:
    """Compact JSON with sorted member names, UTF-8, no NaN/Infinity (deterministic serialization)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def uint_to_b64url(value: int, *, length: int | None = None) -> str:
    """Base64url of a non-negative integer, big-endian (RFC 7518 §2 "Base64urlUInt").

    ``length`` pads to a fixed octet count, as EC coordinates require (RFC 7518 §6.2.1.2).
    """
    size = length if length is not None else max(1, (value.bit_length() + 7) // 8)
    return b64url_encode(value.to_bytes(size, "big"))
