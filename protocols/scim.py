"""SCIM 2.0 protocol pieces the agent registry speaks (RFC 7643, RFC 7644), sans-IO.

- Errors (RFC 7644 §3.12): one class per ``scimType`` (plus the status-only errors), rendered as
  ``{"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "400",
  "scimType": "invalidValue", "detail": "..."}`` with ``application/scim+json``.
- ``ListResponse`` (RFC 7644 §3.4.2) for queries.
- ``PatchOp`` (RFC 7644 §3.5.2): ``add`` / ``replace`` / ``remove`` operations on top-level paths.
- Filters (RFC 7644 §3.4.2.2): the ``attr eq "value"`` form, joined with ``and``; anything else
  is refused with ``invalidFilter`` rather than guessed at.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import attrs

from protocols.http import HttpResponse, MalformedBody, parse_json

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
CONTENT_TYPE = "application/scim+json"
MAX_RESULTS = 200
"""``maxResults`` the service advertises (RFC 7644 §3.4.2.4); larger pages are clamped."""


class ScimError(Exception):
    """Base of the SCIM errors (RFC 7644 §3.12); ``scim_type`` is ``None`` for status-only errors."""

    status: ClassVar[int] = 500
    scim_type: ClassVar[str | None] = None

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(self.status), "detail": self.detail}
        if self.scim_type is not None:
            body["scimType"] = self.scim_type
        return body

    def to_response(self) -> HttpResponse:
        return scim_response(self.to_json(), status=self.status)

    @staticmethod
    def from_response(response: HttpResponse) -> ScimError:
        """The local counterpart of a SCIM error a peer answered with."""
        try:
            body = parse_json(response.body)
        except MalformedBody:
            body = {}
        if not isinstance(body, dict):
            body = {}
        detail = str(body.get("detail", f"HTTP {response.status}"))
        scim_type = body.get("scimType")
        for cls in _ALL_ERRORS:
            if cls.status == response.status and cls.scim_type == scim_type:
                return cls(detail)
        return ScimServerError(detail)


# RFC 7644 §3.12, Table 9 (scimType values, all with status 400 except uniqueness 409)
class InvalidFilter(ScimError):
    status, scim_type = 400, "invalidFilter"


class TooMany(ScimError):
    status, scim_type = 400, "tooMany"


class Uniqueness(ScimError):
    status, scim_type = 409, "uniqueness"


class Mutability(ScimError):
    status, scim_type = 400, "mutability"


class InvalidSyntax(ScimError):
    status, scim_type = 400, "invalidSyntax"


class InvalidPath(ScimError):
    status, scim_type = 400, "invalidPath"


class NoTarget(ScimError):
    status, scim_type = 400, "noTarget"


class InvalidValue(ScimError):
    status, scim_type = 400, "invalidValue"


class InvalidVersion(ScimError):
    status, scim_type = 400, "invalidVers"


# RFC 7644 §3.12, status-only errors
class Unauthorized(ScimError):
    status = 401


class Forbidden(ScimError):
    status = 403


class ResourceNotFound(ScimError):
    status = 404


class ScimMethodNotAllowed(ScimError):
    status = 405


class PreconditionFailed(ScimError):
    status = 412


class PayloadTooLarge(ScimError):
    status = 413


class ScimServerError(ScimError):
    status = 500


_ALL_ERRORS: tuple[type[ScimError], ...] = (
    InvalidFilter, TooMany, Uniqueness, Mutability, InvalidSyntax, InvalidPath, NoTarget, InvalidValue,
    InvalidVersion, Unauthorized, Forbidden, ResourceNotFound, ScimMethodNotAllowed, PreconditionFailed,
    PayloadTooLarge, ScimServerError,
)


def scim_response(payload: Any, *, status: int = 200, headers: Mapping[str, str] | None = None) -> HttpResponse:
    base = HttpResponse.json_body(payload, status=status, headers=headers)
    return HttpResponse(status=base.status, body=base.body,
                        headers=tuple((k, CONTENT_TYPE if k == "content-type" else v) for k, v in base.headers))


def parse_body(body: bytes) -> dict[str, Any]:
    """A SCIM request body: a JSON object, else ``invalidSyntax`` (RFC 7644 §3.12)."""
    try:
        value = parse_json(body)
    except MalformedBody as error:
        raise InvalidSyntax(str(error)) from None
    if not isinstance(value, dict):
        raise InvalidSyntax("the request body must be a JSON object")
    return value


def require_schema(body: Mapping[str, Any], schema: str) -> None:
    """RFC 7643 §3: ``schemas`` must list the resource's (or message's) schema URI."""
    schemas = body.get("schemas")
    if not isinstance(schemas, list) or schema not in schemas:
        raise InvalidSyntax(f"'schemas' must contain {schema}")


def list_response(resources: Sequence[Mapping[str, Any]], *, total: int, start_index: int) -> dict[str, Any]:
    """RFC 7644 §3.4.2: ``totalResults``, ``startIndex`` (1-based), ``itemsPerPage``, ``Resources``."""
    return {"schemas": [LIST_SCHEMA], "totalResults": total, "startIndex": start_index,
            "itemsPerPage": len(resources), "Resources": list(resources)}


def page_params(query: Mapping[str, str]) -> tuple[int, int]:
    """``startIndex`` (values below 1 mean 1) and ``count`` (negative means 0), RFC 7644 §3.4.2.4."""
    try:
        start = int(query.get("startIndex", "1"))
        count = int(query.get("count", str(MAX_RESULTS)))
    except ValueError:
        raise InvalidValue("startIndex and count must be integers") from None
    return max(start, 1), min(max(count, 0), MAX_RESULTS)


# ------------------------------------------------------------------------ filters

_COMPARISON = re.compile(r'^\s*([A-Za-z][\w.]*)\s+(eq)\s+"((?:[^"\\]|\\.)*)"\s*$', re.IGNORECASE)


@attrs.frozen(kw_only=True)
class Equals:
    """One ``attrPath eq "value"`` comparison (attribute names compare case-insensitively)."""

    path: str
    value: str


def parse_filter(text: str, *, attributes: Sequence[str]) -> tuple[Equals, ...]:
    """``a eq "x" and b eq "y"``: only equality on the listed attributes; otherwise ``invalidFilter``."""
    if len(text) > 1000:
        raise InvalidFilter("the filter is too long")
    known = {name.lower(): name for name in attributes}
    terms = []
    for part in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        match = _COMPARISON.match(part)
        if match is None:
            raise InvalidFilter(f"unsupported filter expression {part.strip()!r} (use: attribute eq \"value\")")
        path = known.get(match.group(1).lower())
        if path is None:
            raise InvalidFilter(f"cannot filter on {match.group(1)!r} (filterable: {', '.join(attributes)})")
        terms.append(Equals(path=path, value=match.group(3).replace('\\"', '"').replace("\\\\", "\\")))
    return tuple(terms)


# ------------------------------------------------------------------------ PATCH

PatchVerb = Literal["add", "replace", "remove"]


@attrs.frozen(kw_only=True)
class PatchOperation:
    op: PatchVerb
    path: str | None
    value: Any = None


def parse_patch(body: Mapping[str, Any]) -> tuple[PatchOperation, ...]:
    """RFC 7644 §3.5.2: ``Operations`` with ``op`` (case-insensitive), optional ``path`` and ``value``."""
    require_schema(body, PATCH_SCHEMA)
    operations = body.get("Operations")
    if not isinstance(operations, list) or not operations:
        raise InvalidSyntax("'Operations' must be a non-empty array")
    if len(operations) > 50:
        raise TooMany("at most 50 operations per request")
    parsed = []
    for index, raw in enumerate(operations):
        if not isinstance(raw, dict):
            raise InvalidSyntax(f"Operations[{index}] must be an object")
        op = str(raw.get("op", "")).lower()
        if op not in ("add", "replace", "remove"):
            raise InvalidSyntax(f"Operations[{index}].op must be add, replace or remove")
        path = raw.get("path")
        if path is not None and (not isinstance(path, str) or not path.strip()):
            raise InvalidPath(f"Operations[{index}].path must be a non-empty string")
        if op == "remove" and path is None:
            raise NoTarget(f"Operations[{index}]: remove needs a path (RFC 7644 §3.5.2.2)")
        if op != "remove" and "value" not in raw:
            raise InvalidSyntax(f"Operations[{index}]: {op} needs a value")
        if path is None and op != "remove" and not isinstance(raw["value"], dict):
            raise InvalidSyntax(f"Operations[{index}]: without a path the value must be an object")
        parsed.append(PatchOperation(op=op, path=path, value=raw.get("value")))  # type: ignore[arg-type]
    return tuple(parsed)
