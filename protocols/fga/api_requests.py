"""The request bodies of the OpenFGA HTTP API: parsing, validation and serialization.

Shapes are the grpc-gateway JSON mapping of ``openfga/v1/openfga_service.proto``
(github.com/openfga/api; reference ``openfga.md`` §8): snake_case field names, ``contextual_tuples`` wrapped as
``{"tuple_keys": [...]}`` in Check / BatchCheck / ListObjects but a plain list in ListUsers, and
``writes: {tuple_keys, on_duplicate}`` / ``deletes: {tuple_keys, on_missing}`` in Write. The request rules
the proto validators enforce before the server sees a request (``tuple_key`` required, model ids are
ULIDs, store names ``^[a-zA-Z0-9\\s.\\-/^_&@]{3,64}$``) are checked here with the error codes of
:mod:`protocols.fga.api`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from protocols.fga.api import ULID_RE, Page, TupleKeyValueNotSpecified
from protocols.fga.check import BatchCheckItem
from protocols.fga.errors import ValidationError
from protocols.fga.tuples import TupleKey

STORE_NAME_RE = re.compile(r"^[a-zA-Z0-9\s.\-/^_&@]{3,64}$")
CONSISTENCY_PREFERENCES = {"UNSPECIFIED": 0, "MINIMIZE_LATENCY": 100, "HIGHER_CONSISTENCY": 200}
WRITE_MODES = ("error", "ignore")


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
