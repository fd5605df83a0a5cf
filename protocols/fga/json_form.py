"""The JSON form of OpenFGA models (``WriteAuthorizationModel`` bodies), in both directions.

Shapes are the protobuf JSON mapping of ``openfga/v1/authzmodel.proto`` (github.com/openfga/api):
``{"schema_version", "type_definitions": [{"type", "relations": {name: Userset},
"metadata": {"relations": {name: {"directly_related_user_types": [...]}}, "module",
"source_info": {"file"}}}], "conditions": {name: {"name", "expression", "parameters":
{p: {"type_name": "TYPE_NAME_INT", "generic_types": [...]}}, "metadata"}}}``.
A chain ``a or b or c`` is one ``union`` with three children. Reading accepts the protobuf
camelCase aliases (``typeDefinitions``, ``directlyRelatedUserTypes``, ...) as protojson does.

:func:`normalize_model_json` puts a JSON model in the form protojson would print it (absent and
empty/default fields are the same), which is how the language fixtures compare models.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from protocols.fga.errors import ValidationError
from protocols.fga.model import (
    PARAM_TYPE_NAMES, AuthorizationModel, ComputedUserset, Condition, Difference, Intersection, ParamType,
    Relation, RelationReference, Rewrite, This, TupleToUserset, TypeDefinition, Union,
)

# -- model -> JSON ----------------------------------------------------------------------------------


def rewrite_to_json(rewrite: Rewrite) -> dict[str, Any]:
    if isinstance(rewrite, This):
        return {"this": {}}
    if isinstance(rewrite, ComputedUserset):
        return {"computedUserset": {"relation": rewrite.relation}}
    if isinstance(rewrite, TupleToUserset):
        return {"tupleToUserset": {"tupleset": {"relation": rewrite.tupleset},
                                   "computedUserset": {"relation": rewrite.computed_relation}}}
    if isinstance(rewrite, Union):
        return {"union": {"child": [rewrite_to_json(c) for c in rewrite.children]}}
    if isinstance(rewrite, Intersection):
        return {"intersection": {"child": [rewrite_to_json(c) for c in rewrite.children]}}
    if isinstance(rewrite, Difference):
        return {"difference": {"base": rewrite_to_json(rewrite.base),
                               "subtract": rewrite_to_json(rewrite.subtract)}}
    raise TypeError(f"not a rewrite: {rewrite!r}")


def reference_to_json(ref: RelationReference) -> dict[str, Any]:
    out: dict[str, Any] = {"type": ref.type}
    if ref.wildcard:
        out["wildcard"] = {}
    if ref.relation:
        out["relation"] = ref.relation
    if ref.condition:
        out["condition"] = ref.condition
    return out


def _param_to_json(ptype: ParamType) -> dict[str, Any]:
    out: dict[str, Any] = {"type_name": ptype.wire_name}
    if ptype.generic:
        out["generic_types"] = [_param_to_json(g) for g in ptype.generic]
    return out


def _source_metadata(module: str, file: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if module:
        out["module"] = module
    if file:
        out["source_info"] = {"file": file}
    return out


def type_to_json(t: TypeDefinition) -> dict[str, Any]:
    out: dict[str, Any] = {"type": t.name, "relations": {r.name: rewrite_to_json(r.rewrite) for r in t.relations}}
    metadata: dict[str, Any] = _source_metadata(t.module, t.source_file)
    if t.relations:
        rel_meta = {}
        for r in t.relations:
            entry: dict[str, Any] = {"directly_related_user_types": [reference_to_json(x)
                                                                     for x in r.directly_related_user_types]}
            entry.update(_source_metadata(r.module, r.source_file))
            rel_meta[r.name] = entry
        metadata["relations"] = rel_meta
    out["metadata"] = metadata or None
    return out


def condition_to_json(c: Condition) -> dict[str, Any]:
    out: dict[str, Any] = {"name": c.name, "expression": c.expression,
                           "parameters": {name: _param_to_json(p) for name, p in c.parameters}}
    meta = _source_metadata(c.module, c.source_file)
    if meta:
        out["metadata"] = meta
    return out


def model_to_json(model: AuthorizationModel, *, include_id: bool = False) -> dict[str, Any]:
    """The ``AuthorizationModel`` JSON object (``id`` only when asked and known)."""
    out: dict[str, Any] = {}
    if include_id and model.id:
        out["id"] = model.id
    out["schema_version"] = model.schema_version
    out["type_definitions"] = [type_to_json(t) for t in model.type_definitions]
    if model.conditions:
        out["conditions"] = {c.map_key: condition_to_json(c) for c in model.conditions}
    return out


# -- JSON -> model ----------------------------------------------------------------------------------


def _get(obj: Mapping[str, Any], *names: str, default: Any = None) -> Any:
    for name in names:
        if name in obj and obj[name] is not None:
            return obj[name]
    return default


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(f"invalid authorization model: {what} must be an object")
    return value


def rewrite_from_json(data: Any, *, where: str = "relation") -> Rewrite:
    if not isinstance(data, Mapping) or not data:
        raise ValidationError(f"invalid authorization model: {where} has an empty rewrite")
    if "this" in data and data["this"] is not None:
        return This()
    cu = _get(data, "computedUserset", "computed_userset")
    if cu is not None:
        rel = _get(_mapping(cu, where), "relation", default="")
        if not rel:
            raise ValidationError(f"invalid authorization model: {where}: computedUserset needs a relation")
        return ComputedUserset(relation=str(rel))
    ttu = _get(data, "tupleToUserset", "tuple_to_userset")
    if ttu is not None:
        ttu = _mapping(ttu, where)
        tupleset = _get(_mapping(_get(ttu, "tupleset"), where), "relation", default="")
        computed = _get(_mapping(_get(ttu, "computedUserset", "computed_userset"), where), "relation", default="")
        if not tupleset or not computed:
            raise ValidationError(f"invalid authorization model: {where}: tupleToUserset needs tupleset and "
                                  "computedUserset relations")
        return TupleToUserset(tupleset=str(tupleset), computed_relation=str(computed))
    for key, cls in (("union", Union), ("intersection", Intersection)):
        if _get(data, key) is not None:
            children = _get(_mapping(data[key], where), "child", default=[])
            if not isinstance(children, list) or not children:
                raise ValidationError(f"invalid authorization model: {where}: {key} needs children")
            return cls(tuple(rewrite_from_json(c, where=where) for c in children))
    diff = _get(data, "difference")
    if diff is not None:
        diff = _mapping(diff, where)
        if _get(diff, "base") is None:
            raise ValidationError(f"invalid authorization model: {where}: difference needs a base")
        if _get(diff, "subtract") is None:
            raise ValidationError(f"invalid authorization model: {where}: difference needs a subtract")
        return Difference(base=rewrite_from_json(diff["base"], where=where),
                          subtract=rewrite_from_json(diff["subtract"], where=where))
    raise ValidationError(f"invalid authorization model: {where} has an unknown rewrite {sorted(data)}")


def reference_from_json(data: Any) -> RelationReference:
    data = _mapping(data, "directly_related_user_types entry")
    type_name = _get(data, "type", default="")
    if not isinstance(type_name, str) or not type_name:
        raise ValidationError("invalid authorization model: a type restriction needs a type")
    return RelationReference(type=type_name, relation=str(_get(data, "relation", default="") or ""),
                             wildcard=_get(data, "wildcard") is not None,
                             condition=str(_get(data, "condition", default="") or ""))


def _source_info(meta: Mapping[str, Any]) -> tuple[str, str]:
    module = str(_get(meta, "module", default="") or "")
    info = _mapping(_get(meta, "source_info", "sourceInfo"), "source_info")
    return module, str(_get(info, "file", default="") or "")


def type_from_json(data: Any) -> TypeDefinition:
    data = _mapping(data, "type definition")
    name = _get(data, "type", default="")
    if not isinstance(name, str):
        raise ValidationError("invalid authorization model: type name must be a string")
    relations = _mapping(_get(data, "relations"), f"relations of {name}")
    meta = _mapping(_get(data, "metadata"), f"metadata of {name}")
    rel_meta = _mapping(_get(meta, "relations"), f"metadata.relations of {name}")
    rels = []
    for rel_name, rw in relations.items():
        m = _mapping(rel_meta.get(rel_name), f"metadata of {name}#{rel_name}")
        refs = _get(m, "directly_related_user_types", "directlyRelatedUserTypes", default=[])
        if not isinstance(refs, list):
            raise ValidationError(f"invalid authorization model: {name}#{rel_name} type restrictions must be a list")
        module, file = _source_info(m)
        rels.append(Relation(name=rel_name, rewrite=rewrite_from_json(rw, where=f"{name}#{rel_name}"),
                             directly_related_user_types=tuple(reference_from_json(r) for r in refs),
                             module=module, source_file=file))
    module, file = _source_info(meta)
    return TypeDefinition(name=name, relations=tuple(rels), module=module, source_file=file)


def _param_from_json(data: Any) -> ParamType:
    data = _mapping(data, "condition parameter")
    wire = str(_get(data, "type_name", "typeName", default="") or "")
    short = wire[len("TYPE_NAME_"):].lower() if wire.startswith("TYPE_NAME_") else wire.lower()
    if short not in PARAM_TYPE_NAMES:
        raise ValidationError(f"invalid authorization model: unknown condition parameter type '{wire}'")
    generic = _get(data, "generic_types", "genericTypes", default=[]) or []
    return ParamType(short, tuple(_param_from_json(g) for g in generic))


def condition_from_json(key: str, data: Any) -> Condition:
    data = _mapping(data, f"condition {key}")
    params = _mapping(_get(data, "parameters"), f"parameters of condition {key}")
    module, file = _source_info(_mapping(_get(data, "metadata"), f"metadata of condition {key}"))
    return Condition(name=str(_get(data, "name", default="") or ""), expression=str(_get(data, "expression", default="")),
                     parameters=tuple((p, _param_from_json(t)) for p, t in params.items()),
                     key=key, module=module, source_file=file)


def model_from_json(data: Any) -> AuthorizationModel:
    """Read an ``AuthorizationModel`` JSON object; raises ``ValidationError`` (2000) on bad shapes.

    No semantic validation happens here (see ``protocols.fga.validation.compile_model``).
    """
    data = _mapping(data, "authorization model")
    types = _get(data, "type_definitions", "typeDefinitions", default=[])
    if not isinstance(types, list):
        raise ValidationError("invalid authorization model: type_definitions must be a list")
    conditions = _mapping(_get(data, "conditions"), "conditions")
    return AuthorizationModel(schema_version=str(_get(data, "schema_version", "schemaVersion", default="") or ""),
                              type_definitions=tuple(type_from_json(t) for t in types),
                              conditions=tuple(condition_from_json(k, v) for k, v in conditions.items()),
                              id=str(_get(data, "id", default="") or ""))


# -- comparison -------------------------------------------------------------------------------------

_KEEP_EMPTY = frozenset({"this", "wildcard"})
_ALIASES = {"typeDefinitions": "type_definitions", "schemaVersion": "schema_version",
            "directlyRelatedUserTypes": "directly_related_user_types", "computed_userset": "computedUserset",
            "tuple_to_userset": "tupleToUserset", "typeName": "type_name", "genericTypes": "generic_types",
            "sourceInfo": "source_info"}


def normalize_model_json(value: Any, key: str = "") -> Any:
    """Drop absent/empty/default fields the way protojson printing does (``this``/``wildcard``
    stay: they are set oneof messages)."""
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            k = _ALIASES.get(k, k)
            nv = normalize_model_json(v, k)
            if nv is None or nv == "" or nv is False:
                continue
            if nv in ({}, []) and k not in _KEEP_EMPTY:
                continue
            out[k] = nv
        return out
    if isinstance(value, list):
        return [normalize_model_json(v, key) for v in value]
    return value
