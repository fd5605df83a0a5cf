"""The OpenFGA HTTP API: routes, request parsing, response shapes, identifiers and pagination.

Shapes are the grpc-gateway JSON mapping of ``openfga/v1/openfga_service.proto``
(github.com/openfga/api): snake_case field names, ``contextual_tuples`` wrapped as
``{"tuple_keys": [...]}`` in Check / BatchCheck / ListObjects but a plain list in ListUsers,
``writes: {tuple_keys, on_duplicate}`` / ``deletes: {tuple_keys, on_missing}`` in Write, and
``{"code", "message"}`` error bodies (``pkg/server/errors/encoded_errors.go``). The request rules
the proto validators enforce before the server sees a request (store and model ids are ULIDs,
``page_size`` 1..100, ``tuple_key`` required, store names ``^[a-zA-Z0-9\\s.\\-/^_&@]{3,64}$``) are
checked here with the error codes ``ConvertToEncodedErrorCode`` derives from them.

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

from protocols.fga.check import BatchCheckItem
from protocols.fga.errors import FgaError, InvalidContinuationToken, ValidationError, ERRORS_BY_CODE
from protocols.fga.tuples import TupleKey

ULID_RE = re.compile(r"^[ABCDEFGHJKMNPQRSTVWXYZ0-9]{26}$")
STORE_NAME_RE = re.compile(r"^[a-zA-Z0-9\s.\-/^_&@]{3,64}$")
CROCKFORD32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
CONSISTENCY_PREFERENCES = {"UNSPECIFIED": 0, "MINIMIZE_LATENCY": 100, "HIGHER_CONSISTENCY": 200}
WRITE_MODES = ("error", "ignore")


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


# -- field readers ----------------------------------------------------------------------------------


def _obj(value: Any, what: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(f"invalid value for {what}: expected a JSON object")
    return value


def _str(data: Mapping[str, Any], key: str, what: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError(f"invalid value for {what}.{key}: expected a string")
    return value


def check_ulid(value: str, what: str) -> str:
    """A store or model id from the path: a ULID, else ``validation_error``."""
    if not ULID_RE.match(value):
        raise ValidationError(f"invalid {what}: value does not match regex pattern \"{ULID_RE.pattern}\"")
    return value


def check_store_id(store_id: str) -> str:
    return check_ulid(store_id, "StoreId")


def model_id_of(data: Mapping[str, Any], what: str) -> str:
    """The optional ``authorization_model_id`` of a request body (a ULID when present)."""
    value = _str(data, "authorization_model_id", what)
    if value and not ULID_RE.match(value):
        raise ValidationError(f"invalid {what}.AuthorizationModelId: value does not match regex pattern "
                              f"\"{ULID_RE.pattern}\"")
    return value


def consistency_of(data: Mapping[str, Any], what: str) -> str:
    value = data.get("consistency")
    if value is None:
        return "UNSPECIFIED"
    for name, number in CONSISTENCY_PREFERENCES.items():
        if value in (name, number):
            return name
    raise ValidationError(f"invalid value for enum field consistency: {json.dumps(value)}")


def _tuple_keys(value: Any, what: str) -> tuple[TupleKey, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValidationError(f"invalid value for {what}: expected a list of tuple keys")
    return tuple(TupleKey.from_json(item) for item in value)


def contextual_of(data: Mapping[str, Any], what: str, *, wrapped: bool = True) -> tuple[TupleKey, ...]:
    """``contextual_tuples``: ``{"tuple_keys": [...]}`` (wrapped) or a plain list (ListUsers)."""
    value = data.get("contextual_tuples")
    if wrapped:
        return _tuple_keys(_obj(value, f"{what}.contextual_tuples").get("tuple_keys"),
                           f"{what}.contextual_tuples.tuple_keys")
    return _tuple_keys(value, f"{what}.contextual_tuples")


def context_of(data: Mapping[str, Any], what: str) -> Mapping[str, Any] | None:
    value = data.get("context")
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValidationError(f"invalid value for {what}.context: expected a JSON object")
    return value


def required_tuple_key(data: Mapping[str, Any], what: str) -> TupleKey:
    value = data.get("tuple_key")
    if value is None:
        raise TupleKeyValueNotSpecified(f"invalid {what}.TupleKey: value is required")
    return TupleKey.from_json(_obj(value, f"{what}.tuple_key"))


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


# -- requests ---------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class CreateStoreRequest:
    name: str

    @classmethod
    def from_json(cls, data: Any) -> CreateStoreRequest:
        name = _str(_obj(data, "CreateStoreRequest"), "name", "CreateStoreRequest")
        if not STORE_NAME_RE.match(name):
            raise ValidationError(f"invalid CreateStoreRequest.Name: value does not match regex pattern "
                                  f"\"{STORE_NAME_RE.pattern}\"")
        return cls(name=name)


@attrs.frozen(kw_only=True)
class CheckRequest:
    tuple_key: TupleKey
    contextual_tuples: tuple[TupleKey, ...] = ()
    context: Mapping[str, Any] | None = attrs.field(default=None, eq=False)
    authorization_model_id: str = ""
    consistency: str = "UNSPECIFIED"

    @classmethod
    def from_json(cls, data: Any) -> CheckRequest:
        data = _obj(data, "CheckRequest")
        return cls(tuple_key=required_tuple_key(data, "CheckRequest"),
                   contextual_tuples=contextual_of(data, "CheckRequest"), context=context_of(data, "CheckRequest"),
                   authorization_model_id=model_id_of(data, "CheckRequest"),
                   consistency=consistency_of(data, "CheckRequest"))

    def to_json(self) -> dict[str, Any]:
        key = self.tuple_key.to_json()
        key.pop("condition", None)
        return _common({"tuple_key": key}, contextual=self.contextual_tuples, context=self.context,
                       model_id=self.authorization_model_id)


@attrs.frozen(kw_only=True)
class BatchCheckRequest:
    checks: tuple[BatchCheckItem, ...]
    authorization_model_id: str = ""
    consistency: str = "UNSPECIFIED"

    @classmethod
    def from_json(cls, data: Any) -> BatchCheckRequest:
        data = _obj(data, "BatchCheckRequest")
        checks = data.get("checks")
        if checks is None:
            checks = []
        if not isinstance(checks, list):
            raise ValidationError("invalid value for BatchCheckRequest.checks: expected a list")
        return cls(checks=tuple(BatchCheckItem.from_json(c) for c in checks),
                   authorization_model_id=model_id_of(data, "BatchCheckRequest"),
                   consistency=consistency_of(data, "BatchCheckRequest"))

    def to_json(self) -> dict[str, Any]:
        items = []
        for item in self.checks:
            key = item.tuple_key.to_json()
            key.pop("condition", None)
            items.append(_common({"tuple_key": key, "correlation_id": item.correlation_id},
                                 contextual=item.contextual_tuples, context=item.context, model_id=""))
        out: dict[str, Any] = {"checks": items}
        if self.authorization_model_id:
            out["authorization_model_id"] = self.authorization_model_id
        return out


@attrs.frozen(kw_only=True)
class ListObjectsRequest:
    type: str
    relation: str
    user: str
    contextual_tuples: tuple[TupleKey, ...] = ()
    context: Mapping[str, Any] | None = attrs.field(default=None, eq=False)
    authorization_model_id: str = ""
    consistency: str = "UNSPECIFIED"

    @classmethod
    def from_json(cls, data: Any) -> ListObjectsRequest:
        data = _obj(data, "ListObjectsRequest")
        what = "ListObjectsRequest"
        values = {k: _str(data, k, what) for k in ("type", "relation", "user")}
        for k, v in values.items():
            if not v:
                raise ValidationError(f"invalid {what}.{k.capitalize()}: value is required")
        return cls(**values, contextual_tuples=contextual_of(data, what), context=context_of(data, what),
                   authorization_model_id=model_id_of(data, what), consistency=consistency_of(data, what))

    def to_json(self) -> dict[str, Any]:
        return _common({"type": self.type, "relation": self.relation, "user": self.user},
                       contextual=self.contextual_tuples, context=self.context, model_id=self.authorization_model_id)


@attrs.frozen(kw_only=True)
class ListUsersRequest:
    object: str
    relation: str
    user_filters: tuple[Mapping[str, str], ...]
    contextual_tuples: tuple[TupleKey, ...] = ()
    context: Mapping[str, Any] | None = attrs.field(default=None, eq=False)
    authorization_model_id: str = ""
    consistency: str = "UNSPECIFIED"

    @classmethod
    def from_json(cls, data: Any) -> ListUsersRequest:
        what = "ListUsersRequest"
        data = _obj(data, what)
        obj = data.get("object")
        if obj is None:
            raise ValidationError(f"invalid {what}.Object: value is required")
        obj = _obj(obj, f"{what}.object")
        otype, oid = _str(obj, "type", f"{what}.object"), _str(obj, "id", f"{what}.object")
        relation = _str(data, "relation", what)
        if not relation:
            raise ValidationError(f"invalid {what}.Relation: value is required")
        filters = data.get("user_filters")
        if not isinstance(filters, list) or len(filters) != 1:
            raise ValidationError(f"invalid {what}.UserFilters: value must contain exactly 1 item(s)")
        flt = _obj(filters[0], f"{what}.user_filters[0]")
        parsed = {"type": _str(flt, "type", f"{what}.user_filters[0]")}
        if flt.get("relation"):
            parsed["relation"] = _str(flt, "relation", f"{what}.user_filters[0]")
        return cls(object=f"{otype}:{oid}", relation=relation, user_filters=(parsed,),
                   contextual_tuples=contextual_of(data, what, wrapped=False), context=context_of(data, what),
                   authorization_model_id=model_id_of(data, what), consistency=consistency_of(data, what))

    def to_json(self) -> dict[str, Any]:
        otype, _, oid = self.object.partition(":")
        out: dict[str, Any] = {"object": {"type": otype, "id": oid}, "relation": self.relation,
                               "user_filters": [dict(f) for f in self.user_filters]}
        if self.contextual_tuples:
            out["contextual_tuples"] = [k.to_json() for k in self.contextual_tuples]
        if self.context is not None:
            out["context"] = dict(self.context)
        if self.authorization_model_id:
            out["authorization_model_id"] = self.authorization_model_id
        return out


@attrs.frozen(kw_only=True)
class WriteRequest:
    writes: tuple[TupleKey, ...] = ()
    deletes: tuple[TupleKey, ...] = ()
    on_duplicate: str = "error"
    on_missing: str = "error"
    authorization_model_id: str = ""

    @classmethod
    def from_json(cls, data: Any) -> WriteRequest:
        what = "WriteRequest"
        data = _obj(data, what)
        writes = _obj(data.get("writes"), f"{what}.writes")
        deletes = _obj(data.get("deletes"), f"{what}.deletes")
        on_duplicate = _str(writes, "on_duplicate", f"{what}.writes") or "error"
        on_missing = _str(deletes, "on_missing", f"{what}.deletes") or "error"
        for field, value in (("writes.on_duplicate", on_duplicate), ("deletes.on_missing", on_missing)):
            if value not in WRITE_MODES:
                raise ValidationError(f"invalid {what}.{field}: value must be in list [error ignore]")
        write_keys = _tuple_keys(writes.get("tuple_keys"), f"{what}.writes.tuple_keys")
        delete_keys = _tuple_keys(deletes.get("tuple_keys"), f"{what}.deletes.tuple_keys")
        for field, present, keys in (("Writes", "writes" in data and data["writes"] is not None, write_keys),
                                     ("Deletes", "deletes" in data and data["deletes"] is not None, delete_keys)):
            if present and not keys:
                raise ValidationError(f"invalid {what}.{field}: embedded message failed validation | caused by: "
                                      "value must contain at least 1 item(s)")
        return cls(writes=write_keys, deletes=delete_keys, on_duplicate=on_duplicate, on_missing=on_missing,
                   authorization_model_id=model_id_of(data, what))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.writes:
            out["writes"] = {"tuple_keys": [k.to_json() for k in self.writes]}
            if self.on_duplicate != "error":
                out["writes"]["on_duplicate"] = self.on_duplicate
        if self.deletes:
            out["deletes"] = {"tuple_keys": [{"user": k.user, "relation": k.relation, "object": k.object}
                                             for k in self.deletes]}
            if self.on_missing != "error":
                out["deletes"]["on_missing"] = self.on_missing
        if self.authorization_model_id:
            out["authorization_model_id"] = self.authorization_model_id
        return out


@attrs.frozen(kw_only=True)
class ReadRequest:
    """Read: every filter optional; with a ``tuple_key``, the object type is required and the object
    id and the user cannot both be empty (``pkg/server/commands/read.go``)."""

    object_type: str = ""
    object_id: str = ""
    relation: str = ""
    user: str = ""
    page: Page = Page()

    @classmethod
    def from_json(cls, data: Any) -> ReadRequest:
        what = "ReadRequest"
        data = _obj(data, what)
        page = Page.parse(page_size=data.get("page_size"), token=data.get("continuation_token"))
        if data.get("tuple_key") is None:
            return cls(page=page)
        key = _obj(data.get("tuple_key"), f"{what}.tuple_key")
        obj, relation, user = (_str(key, k, f"{what}.tuple_key") for k in ("object", "relation", "user"))
        otype, _, oid = obj.partition(":")
        if not otype or (not oid and not user):
            raise ValidationError("the 'tuple_key' field was provided but the object type field is required and "
                                  "both the object id and user cannot be empty")
        return cls(object_type=otype, object_id=oid, relation=relation, user=user, page=page)


def _common(out: dict[str, Any], *, contextual: Sequence[TupleKey], context: Mapping[str, Any] | None,
            model_id: str) -> dict[str, Any]:
    if contextual:
        out["contextual_tuples"] = {"tuple_keys": [k.to_json() for k in contextual]}
    if context is not None:
        out["context"] = dict(context)
    if model_id:
        out["authorization_model_id"] = model_id
    return out
