"""Server-side validation: models on write, tuples on write, and request inputs.

- :func:`compile_model` is ``WriteAuthorizationModel``'s ``typesystem.NewAndValidate``: limits
  (100 types, 256 KiB), the modelling-language semantic rules (``language_validation``), condition
  compilation; failures raise :class:`InvalidAuthorizationModel` (2056) or
  :class:`ExceededEntityLimit` (2053).
- :func:`tuple_problem` is ``internal/validation.ValidateTupleForWrite`` (user, object, relation,
  tupleset rule, type restrictions, condition and its context); a written tuple that fails is a
  ``validation_error`` (2000), a contextual tuple an ``invalid_tuple`` (2027).
- :func:`check_request_user` and friends are the looser request checks of Check / ListObjects /
  ListUsers (2000 / 2021 / 2022).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from protocols.fga.conditions import ParamConversionError, convert_param
from protocols.fga.errors import (
    ExceededEntityLimit, FgaError, InvalidAuthorizationModel, InvalidTuple, RelationNotFound, TypeNotFound,
    ValidationError,
)
from protocols.fga.json_form import model_to_json
from protocols.fga.language_validation import validate_model
from protocols.fga.model import AuthorizationModel, has_this
from protocols.fga.tuples import (
    MAX_CONTEXTUAL_TUPLES, TupleKey, TupleRecord, is_valid_relation_name, record_from_key, split_object,
    split_user,
)
from protocols.fga.typesystem import CompiledModel

MAX_TYPES_PER_MODEL = 100
MAX_MODEL_BYTES = 256 * 1024


def compile_model(model: AuthorizationModel, *, max_types: int = MAX_TYPES_PER_MODEL,
                  max_bytes: int = MAX_MODEL_BYTES) -> CompiledModel:
    """Validate ``model`` as WriteAuthorizationModel does and compile it for evaluation."""
    if len(model.type_definitions) > max_types:
        raise ExceededEntityLimit(
            f"the number of type definitions in an authorization model exceeds the allowed limit of {max_types}")
    size = len(json.dumps(model_to_json(model), separators=(",", ":")).encode())
    if size > max_bytes:
        raise InvalidAuthorizationModel(f"model exceeds size limit: {size} bytes vs {max_bytes} bytes")
    if not model.type_definitions:
        raise InvalidAuthorizationModel("the model must define at least one type")
    errors = validate_model(model, check_unused_conditions=False)
    problems = [e.msg for e in errors]
    for t in model.type_definitions:
        for r in t.relations:
            if r.directly_related_user_types and not has_this(r.rewrite):
                problems.append(f"the relation `{r.name}` of type `{t.name}` has type restrictions but no "
                                "direct assignment")
            for ref in r.directly_related_user_types:
                if ref.wildcard and ref.relation:
                    problems.append(f"type restriction `{ref}` cannot contain both wildcard and relation")
    for c in model.conditions:
        if c.key and c.name and c.key != c.name:
            problems.append(f"condition key is `{c.key}` but nested name property is {c.name}")
        for pname, ptype in c.parameters:
            if ptype.name in ("map", "list") and len(ptype.generic) != 1:
                problems.append(f"condition `{c.map_key}` parameter `{pname}` of type {ptype.name} needs "
                                "one generic type")
    if problems:
        raise InvalidAuthorizationModel("; ".join(problems))
    return CompiledModel(model)


# -- tuples -----------------------------------------------------------------------------------------


def tuple_problem(compiled: CompiledModel, key: TupleKey) -> str | None:
    """Why ``key`` cannot be written under ``compiled`` (``None`` when it can)."""
    usr = split_user(key.user)
    if usr is None:
        return "the 'user' field is malformed"
    utype, uid, urel = usr
    if not compiled.has_type(utype):
        return f"type '{utype}' not found"
    if urel and compiled.relation(utype, urel) is None:
        return f"relation '{utype}#{urel}' not found"
    obj = split_object(key.object)
    if obj is None:
        if key.object.endswith(":*"):
            return "the 'object' field cannot contain a typed wildcard"
        return "invalid 'object' field format"
    otype, oid = obj
    if oid == "*":
        return "the 'object' field cannot contain a typed wildcard"
    if not compiled.has_type(otype):
        return f"type '{otype}' not found"
    if not is_valid_relation_name(key.relation):
        return "invalid 'relation' field format"
    info = compiled.relation(otype, key.relation)
    if info is None:
        return f"relation '{otype}#{key.relation}' not found"
    kind = "*" if uid == "*" else urel
    if info.is_tupleset and kind:
        return f"unexpected user '{key.user}' with tupleset relation '{otype}#{key.relation}'"
    conds = info.allowed.get((utype, kind))
    if conds is None:
        if uid == "*":
            return f"the typed wildcard '{key.user}' is not an allowed type restriction for '{otype}#{key.relation}'"
        if urel:
            return f"'{utype}#{urel}' is not an allowed type restriction for '{otype}#{key.relation}'"
        return f"type '{utype}' is not an allowed type restriction for '{otype}#{key.relation}'"
    cond = key.condition
    if cond is None:
        if "" not in conds:
            return "condition is missing"
        return None
    compiled_cond = compiled.conditions.get(cond.name)
    if compiled_cond is None:
        return f"undefined condition '{cond.name}'"
    if cond.name not in conds:
        return "invalid condition for type restriction"
    for pname, value in cond.context.items():
        ptype = compiled_cond.params.get(pname)
        if ptype is None:
            return f"found invalid context parameter: {pname}"
        try:
            convert_param(value, ptype)
        except ParamConversionError as exc:
            return f"failed to convert context parameter '{pname}': {exc}"
    return None


def validate_tuple_for_write(compiled: CompiledModel, key: TupleKey) -> TupleRecord:
    """A record for ``key`` or ``ValidationError`` (2000) ``Invalid tuple '...'. Reason: ...``."""
    problem = tuple_problem(compiled, key)
    if problem is not None:
        raise ValidationError(f"Invalid tuple '{key}'. Reason: {problem}")
    return record_from_key(key)


def validate_contextual_tuples(compiled: CompiledModel, keys: Sequence[TupleKey]) -> list[TupleRecord]:
    """Records for contextual tuples (duplicates dropped) or ``InvalidTuple`` (2027)."""
    if len(keys) > MAX_CONTEXTUAL_TUPLES:
        raise ValidationError(f"the number of contextual tuples exceeds the allowed limit of {MAX_CONTEXTUAL_TUPLES}")
    out: list[TupleRecord] = []
    seen: set[tuple[str, str, str]] = set()
    for key in keys:
        problem = tuple_problem(compiled, key)
        if problem is not None:
            raise InvalidTuple(f"Invalid tuple '{key}'. Reason: {problem}")
        if key.key in seen:
            continue
        seen.add(key.key)
        out.append(record_from_key(key))
    return out


# -- requests ---------------------------------------------------------------------------------------


def check_request_user(compiled: CompiledModel, user: str) -> tuple[str, str, str]:
    """The request user, well-formed and defined, or ``ValidationError`` (2000)."""
    usr = split_user(user)
    if usr is None:
        raise ValidationError(f"invalid 'user' field format: '{user}'")
    utype, _, urel = usr
    if not compiled.has_type(utype):
        raise ValidationError(f"type '{utype}' not found")
    if urel and compiled.relation(utype, urel) is None:
        raise ValidationError(f"relation '{utype}#{urel}' not found")
    return usr


def check_request_object(compiled: CompiledModel, obj: str, relation: str,
                         *, error: type[FgaError] = ValidationError) -> tuple[str, str]:
    """The request object and relation, or an error (Check: 2000 for every problem)."""
    parts = split_object(obj)
    if parts is None or parts[1] == "*":
        raise ValidationError(f"invalid 'object' field format: '{obj}'")
    otype = parts[0]
    if not compiled.has_type(otype):
        raise (error if error is ValidationError else TypeNotFound)(f"type '{otype}' not found")
    if compiled.relation(otype, relation) is None:
        raise (error if error is ValidationError else RelationNotFound)(f"relation '{otype}#{relation}' not found")
    return parts


def check_type_relation(compiled: CompiledModel, type_name: str, relation: str) -> None:
    """ListObjects / ListUsers: unknown type → 2021, unknown relation → 2022."""
    if not compiled.has_type(type_name):
        raise TypeNotFound(f"type '{type_name}' not found")
    if compiled.relation(type_name, relation) is None:
        raise RelationNotFound(f"relation '{type_name}#{relation}' not found")


def check_context(context: Any) -> Mapping[str, Any] | None:
    if context is None:
        return None
    if not isinstance(context, Mapping):
        raise ValidationError("context must be an object")
    return context


def parse_contextual(keys: Iterable[TupleKey | Mapping[str, Any]]) -> list[TupleKey]:
    return [k if isinstance(k, TupleKey) else TupleKey.from_json(k) for k in keys]
