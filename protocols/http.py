"""HTTP-shaped messages carried by both transports (DESIGN.md §3), and strict parsing of their bodies.

The same frozen ``HttpRequest`` / ``HttpResponse`` travel through the in-process channel transport
and are converted to and from real HTTP by the HTTP transport, so every handler sees the wire
format: form-encoded token requests (RFC 6749 §3.2, Appendix B), JSON responses, ``WWW-Authenticate``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import attrs

MAX_BODY_BYTES = 64 * 1024
"""Largest request body any endpoint accepts; larger bodies are refused before parsing."""


class MalformedBody(ValueError):
    """A request body or query that cannot be parsed as the wire format requires."""


def _lower_headers(headers: Mapping[str, str] | tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    return tuple((name.lower(), value) for name, value in items)


def _first_header(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    name = name.lower()
    return next((value for key, value in headers if key == name), None)


@attrs.frozen(kw_only=True)
class HttpRequest:
    """One HTTP request: method, absolute URL, headers (lower-cased names, in order) and raw body."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_lower_headers)
    body: bytes = b""

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"

    @property
    def origin(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def query(self) -> str:
        return urlsplit(self.url).query

    def header(self, name: str) -> str | None:
        """The single value of header ``name``; ``None`` when absent."""
        return _first_header(self.headers, name)

    def header_values(self, name: str) -> list[str]:
        name = name.lower()
        return [value for key, value in self.headers if key == name]

    def query_params(self) -> dict[str, str]:
        """Query parameters; duplicates and bad encodings raise ``MalformedBody``."""
        return parse_unique_pairs(self.query)

    def form(self) -> dict[str, str]:
        """The ``application/x-www-form-urlencoded`` body as a dict (RFC 6749 §3.2).

        Parameters sent without a value are treated as omitted; a repeated parameter, a body that
        is not UTF-8 or is too large raises ``MalformedBody``.
        """
        content_type = (self.header("content-type") or "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            raise MalformedBody("the body must be application/x-www-form-urlencoded")
        return parse_unique_pairs(_decode_body(self.body))

    def json(self) -> Any:
        """The JSON body; bad UTF-8, bad JSON, duplicate member names raise ``MalformedBody``."""
        return parse_json(self.body)

    @classmethod
    def form_post(cls, *, url: str, params: Mapping[str, str], headers: Mapping[str, str] | None = None) -> HttpRequest:
        all_headers = {"content-type": "application/x-www-form-urlencoded", **(headers or {})}
        return cls(method="POST", url=url, headers=all_headers, body=urlencode(params).encode())

    @classmethod
    def json_post(cls, *, url: str, payload: Any, headers: Mapping[str, str] | None = None) -> HttpRequest:
        all_headers = {"content-type": "application/json", **(headers or {})}
        return cls(method="POST", url=url, headers=all_headers, body=json.dumps(payload).encode())

    @classmethod
    def get(cls, url: str, *, headers: Mapping[str, str] | None = None) -> HttpRequest:
        return cls(method="GET", url=url, headers=headers or {})


@attrs.frozen(kw_only=True)
class HttpResponse:
    """One HTTP response: status, headers (lower-cased names) and raw body."""

    status: int
    headers: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_lower_headers)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of header ``name``; ``None`` when absent."""
        return _first_header(self.headers, name)

    def json(self) -> Any:
        return parse_json(self.body)

    @classmethod
    def json_body(cls, payload: Any, *, status: int = 200, headers: Mapping[str, str] | None = None,
                  no_store: bool = False) -> HttpResponse:
        """A JSON response; ``no_store`` adds the cache headers RFC 6749 §5.1 requires on tokens."""
        all_headers = {"content-type": "application/json"}
        if no_store:
            all_headers.update({"cache-control": "no-store", "pragma": "no-cache"})
        all_headers.update(headers or {})
        body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        return cls(status=status, headers=all_headers, body=body)

    @classmethod
    def redirect(cls, location: str, *, status: int = 302) -> HttpResponse:
        return cls(status=status, headers={"location": location, "cache-control": "no-store"})

    @classmethod
    def html(cls, text: str, *, status: int = 200) -> HttpResponse:
        return cls(status=status, headers={"content-type": "text/html; charset=utf-8"}, body=text.encode())


def _decode_body(body: bytes) -> str:
    if len(body) > MAX_BODY_BYTES:
        raise MalformedBody(f"the body exceeds {MAX_BODY_BYTES} bytes")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedBody("the body is not valid UTF-8") from None


def parse_unique_pairs(text: str) -> dict[str, str]:
    """Parse ``a=1&b=2``; empty values are dropped, a repeated name raises ``MalformedBody``."""
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, errors="strict")
    except UnicodeDecodeError:
        raise MalformedBody("a parameter is not valid UTF-8") from None
    result: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in pairs:
        if name in seen:
            raise MalformedBody(f"parameter {name!r} is repeated")
        seen.add(name)
        if value != "":
            result[name] = value
    return result


def _reject_duplicate_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise MalformedBody(f"JSON member {name!r} is repeated")
        result[name] = value
    return result


def parse_json(body: bytes | str) -> Any:
    """Parse JSON strictly: UTF-8 only, no duplicate member names (RFC 8725 §3.7)."""
    text = _decode_body(body) if isinstance(body, bytes) else body
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicate_members)
    except MalformedBody:
        raise
    except json.JSONDecodeError as exc:
        raise MalformedBody(f"the body is not valid JSON ({exc.msg})") from None
    except (ValueError, RecursionError):  # e.g. a number beyond int()'s digit limit, absurd nesting
        raise MalformedBody("the body is not acceptable JSON (number too long or nesting too deep)") from None
