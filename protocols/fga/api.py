"""The OpenFGA HTTP API: routes, API-level error kinds, identifiers and pagination.

Routes are the grpc-gateway HTTP mapping of ``openfga/v1/openfga_service.proto`` (github.com/openfga/api;
reference ``openfga.md`` §8), errors ``{"code", "message"}`` bodies (``pkg/server/errors/encoded_errors.go``)
with the codes ``ConvertToEncodedErrorCode`` derives from the proto validators: ids in the path are
ULIDs and ``page_size`` is 1..100. Request bodies are parsed by :mod:`protocols.fga.api_requests`.

Store and model ids are ULIDs (github.com/ulid/spec): 48 bits of milliseconds then 80 bits of
randomness, Crockford base32; the caller supplies both (time and entropy are inputs).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs

from protocols.fga.errors import FgaError, InvalidContinuationToken, ValidationError, ERRORS_BY_CODE

ULID_RE = re.compile(r"^[ABCDEFGHJKMNPQRSTVWXYZ0-9]{26}$")
CROCKFORD32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100


# -- API-level error kinds (proto validation and routing) -------------------------------------------


class TupleKeyValueNotSpecified(ValidationError):
    """2037: a request that needs ``tuple_key`` has none (``CheckRequest.TupleKey: value is required``)."""

    code, numeric_code = "tuple_key_value_not_specified", 2037


class PageSizeInvalid(ValidationError):
    """2039: ``page_size`` outside 1..100."""

    code, numeric_code = "page_size_invalid", 2039


class TypeDefinitionsTooFewItems(ValidationError):
    """2045: WriteAuthorizationModel without any type definition."""

    code, numeric_code = "type_definitions_too_few_items", 2045


class UndefinedEndpoint(FgaError):
    """5000: no route for this path (grpc-gateway ``NotFound``)."""

    code, numeric_code, status, default_message = "undefined_endpoint", 5000, 404, "Not Found"


class Unimplemented(FgaError):
    """5004: the path exists but not for this method (grpc-gateway ``Unimplemented``)."""

    code, numeric_code, status, default_message = "unimplemented", 5004, 404, "Method Not Allowed"


API_ERRORS: dict[str, type[FgaError]] = {
    **ERRORS_BY_CODE,
    **{cls.code: cls for cls in (TupleKeyValueNotSpecified, PageSizeInvalid, TypeDefinitionsTooFewItems,
                                 UndefinedEndpoint, Unimplemented)},
}


def error_from_response(status: int, body: Any) -> FgaError:
    """The exception matching an error response ``{"code", "message"}`` received from an FGA server."""
    code = body.get("code") if isinstance(body, Mapping) else None
    message = str(body.get("message", "")) if isinstance(body, Mapping) else ""
    cls = API_ERRORS.get(str(code or ""))
    if cls is None:
        return FgaError.from_json(body if isinstance(body, Mapping) else {}, status=status)
    return cls(message or f"HTTP {status}")


# -- identifiers and timestamps -------------------------------------------------------------------


def new_ulid(*, ms: int, randomness: bytes) -> str:
    """A ULID from a millisecond timestamp and 10 bytes of randomness (ULID spec, "Encoding")."""
    if len(randomness) < 10:
        raise ValueError("a ULID needs 80 bits of randomness")
    value = ((ms & ((1 << 48) - 1)) << 80) | int.from_bytes(randomness[:10], "big")
    chars = []
    for _ in range(26):
        chars.append(CROCKFORD32[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def rfc3339(epoch_seconds: float) -> str:
    """A ``google.protobuf.Timestamp`` in its JSON form (RFC 3339, UTC, millisecond precision)."""
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def check_ulid(value: str, what: str) -> str:
    """A store or model id from the path: a ULID, else ``validation_error``."""
    if not ULID_RE.match(value):
        raise ValidationError(f"invalid {what}: value does not match regex pattern \"{ULID_RE.pattern}\"")
    return value


def check_store_id(store_id: str) -> str:
    return check_ulid(store_id, "StoreId")


# -- routes -----------------------------------------------------------------------------------------

ROUTES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("POST", ("stores",), "create_store"),
    ("GET", ("stores",), "list_stores"),
    ("GET", ("stores", "{store_id}"), "get_store"),
    ("DELETE", ("stores", "{store_id}"), "delete_store"),
    ("POST", ("stores", "{store_id}", "authorization-models"), "write_authorization_model"),
    ("GET", ("stores", "{store_id}", "authorization-models"), "read_authorization_models"),
    ("GET", ("stores", "{store_id}", "authorization-models", "{model_id}"), "read_authorization_model"),
    ("POST", ("stores", "{store_id}", "write"), "write"),
    ("POST", ("stores", "{store_id}", "read"), "read"),
    ("POST", ("stores", "{store_id}", "check"), "check"),
    ("POST", ("stores", "{store_id}", "batch-check"), "batch_check"),
    ("POST", ("stores", "{store_id}", "list-objects"), "list_objects"),
    ("POST", ("stores", "{store_id}", "list-users"), "list_users"),
)


def _match(pattern: tuple[str, ...], parts: list[str]) -> dict[str, str] | None:
    if len(pattern) != len(parts):
        return None
    params: dict[str, str] = {}
    for want, got in zip(pattern, parts):
        if want.startswith("{"):
            if not got:
                return None
            params[want[1:-1]] = got
        elif want != got:
            return None
    return params


def match_route(method: str, path: str) -> tuple[str, dict[str, str]]:
    """``(operation, path parameters)`` for a request; ``UndefinedEndpoint`` / ``Unimplemented`` otherwise."""
    parts = path.strip("/").split("/") if path.strip("/") else []
    path_known = False
    for verb, pattern, operation in ROUTES:
        params = _match(pattern, parts)
        if params is None:
            continue
        if verb == method.upper():
            return operation, params
        path_known = True
    if path_known:
        raise Unimplemented()
    raise UndefinedEndpoint()


# -- pagination -------------------------------------------------------------------------------------


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode().rstrip("=")


def decode_token(token: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset = data["offset"]
    except (ValueError, KeyError, TypeError):
        raise InvalidContinuationToken() from None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise InvalidContinuationToken()
    return offset


@attrs.frozen(kw_only=True)
class Page:
    """``page_size`` and ``continuation_token`` of a list request, as an offset window."""

    size: int = DEFAULT_PAGE_SIZE
    offset: int = 0

    @classmethod
    def parse(cls, *, page_size: Any, token: Any) -> Page:
        size = DEFAULT_PAGE_SIZE
        if page_size not in (None, ""):
            try:
                size = int(page_size)
            except (TypeError, ValueError):
                raise PageSizeInvalid(f"invalid page_size: {page_size!r}") from None
            if isinstance(page_size, bool) or not 1 <= size <= MAX_PAGE_SIZE:
                raise PageSizeInvalid(f"invalid page_size: value must be inside range [1, {MAX_PAGE_SIZE}]")
        if token not in (None, "") and not isinstance(token, str):
            raise InvalidContinuationToken()
        return cls(size=size, offset=decode_token(token) if token else 0)

    def cut(self, items: Sequence[Any]) -> tuple[list[Any], str]:
        """The items of this page and the token of the next one (``""`` when there is none)."""
        chunk = list(items[self.offset:self.offset + self.size])
        more = self.offset + self.size < len(items)
        return chunk, encode_token(self.offset + self.size) if more else ""

