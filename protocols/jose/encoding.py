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
from collections.abc import Callable
from typing import Any

_URLSAFE = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_URLSAFE_TO_STANDARD = bytes.maketrans(b"-_", b"+/")

PAD: tuple[bytes, ...] = (b"", b"", b"==", b"=")
"""Padding to append to an unpadded segment, by its length mod 4 (1 is impossible)."""

LAST_CHAR_OK: tuple[frozenset[int], ...] = (
    frozenset(range(256)),              # length ≡ 0 (mod 4): no unused bits
    frozenset(),                        # length ≡ 1: not a base64 length at all
    frozenset(_URLSAFE[0::16]),         # length ≡ 2: the last character's low 4 bits must be zero
    frozenset(_URLSAFE[0::4]),          # length ≡ 3: the last character's low 2 bits must be zero
)
"""Canonical last characters (as byte values) of an unpadded segment, by its length mod 4."""

NOT_URLSAFE = b"+/="
"""Characters the standard alphabet has and base64url must not (``+``, ``/``, padding)."""


def _binascii_decode(padded: bytes, altchars: bytes, validate: bool) -> bytes:
    """Fallback for :data:`urlsafe_decode`: the stdlib decoder in strict mode."""
    return binascii.a2b_base64(padded.translate(_URLSAFE_TO_STANDARD), strict_mode=validate)


try:  # pybase64: SIMD base64 in C, ~4x the stdlib decoder on token-sized input
    from pybase64 import b64decode as _pybase64_decode
    from pybase64 import b64encode as _pybase64_encode
except ImportError:  # pragma: no cover - pybase64 is a declared dependency
    _pybase64_decode = None
    _pybase64_encode = None

urlsafe_decode: Callable[[bytes, bytes, bool], bytes] = _pybase64_decode or _binascii_decode
"""``urlsafe_decode(padded, b"-_", True)``: decode *padded* base64url, refusing characters outside
both alphabets (raises ``binascii.Error``/``ValueError``). Callers must first refuse
:data:`NOT_URLSAFE` characters and non-canonical last characters — see :func:`decode_segment`."""


class Base64UrlError(ValueError):
    """A value is not canonical unpadded base64url (RFC 7515 §2)."""


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url of ``data`` (RFC 7515 §2, Appendix C)."""
    if _pybase64_encode is not None:
        return _pybase64_encode(data, b"-_").rstrip(b"=").decode("ascii")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")  # pragma: no cover


def decode_segment(segment: bytes) -> bytes:
    """Decode canonical unpadded base64url bytes; anything else raises :class:`Base64UrlError`.

    Canonical: only ``A–Z a–z 0–9 - _``, no ``=``, a length that is not 1 (mod 4), and zero
    unused bits in the last character — so each byte string has exactly one accepted encoding.
    """
    rem = len(segment) & 3
    if segment.translate(None, NOT_URLSAFE) != segment:
        raise Base64UrlError("not canonical unpadded base64url")
    if segment and segment[-1] not in LAST_CHAR_OK[rem]:
        raise Base64UrlError("not canonical unpadded base64url")
    try:
        return urlsafe_decode(segment + PAD[rem], b"-_", True)
    except (binascii.Error, ValueError):
        raise Base64UrlError("not canonical unpadded base64url") from None


def b64url_decode(text: str) -> bytes:
    """Decode a canonical unpadded base64url string (see :func:`decode_segment`)."""
    if not isinstance(text, str) or not text.isascii():
        raise Base64UrlError("not canonical unpadded base64url")
    return decode_segment(text.encode("ascii"))


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
        try:
            value, end = _scan_once(text, 0)
        except StopIteration:  # leading whitespace or no value at all: let the full decoder judge
            return _STRICT_DECODER.decode(text)
        return value if end == len(text) else _STRICT_DECODER.decode(text)
    except StrictJsonError:
        raise
    except RecursionError:
        raise StrictJsonError("nested too deeply") from None
    except ValueError:  # JSONDecodeError, and int() refusing a number of more than 4300 digits
        raise StrictJsonError("invalid JSON") from None


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
