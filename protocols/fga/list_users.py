"""ListUsers: every user of a given type (or userset type#relation) related to an object.

Forward expansion from ``object#relation`` (OpenFGA ``pkg/server/commands/listusers``): direct
tuples yield users of the filter type (``type:id`` and the wildcard ``type:*``) and usersets
``type:id#rel`` matching a ``type#relation`` filter, and are expanded recursively; computed
relations and tuple-to-userset parents are followed; the object's own userset counts when it
matches the filter (self-defining, ``nested_usersets_are_recursively_expanded``). Subtracted
branches of an exclusion are not expanded. When the relation is not monotone (an intersection or
exclusion is reachable), each candidate is confirmed with Check, so the result is consistent with
Check; an excluded user is then simply absent while ``type:*`` stays (there is no
``excluded_users`` field at this API version).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from protocols.fga.errors import FgaError, RelationNotFound, ResolutionDepthExceeded, TypeNotFound, ValidationError
from protocols.fga.model import ComputedUserset, Difference, Intersection, Rewrite, This, TupleToUserset, Union
from protocols.fga.resolver import DEFAULT_RESOLVE_NODE_LIMIT, CheckResolver
from protocols.fga.tuples import ContextualTupleReader, TupleKey, TupleReader, split_object, split_user
from protocols.fga.typesystem import CompiledModel
from protocols.fga.validation import check_context, parse_contextual, validate_contextual_tuples

DEFAULT_MAX_RESULTS = 1000


@attrs.frozen
class UserFilter:
    """``{"type": "user"}`` or ``{"type": "group", "relation": "member"}``."""

    type: str
    relation: str = ""

    @classmethod
    def parse(cls, value: UserFilter | str | Mapping[str, Any]) -> UserFilter:
        if isinstance(value, UserFilter):
            return value
        if isinstance(value, str):
            t, _, r = value.partition("#")
            return cls(t, r)
        if isinstance(value, Mapping) and isinstance(value.get("type"), str):
            return cls(value["type"], str(value.get("relation") or ""))
        raise ValidationError("invalid user filter")


def user_to_json(user: str) -> dict[str, Any]:
    """``type:id`` / ``type:*`` / ``type:id#rel`` as the ListUsers ``User`` message."""
    utype, uid, urel = split_user(user) or ("", "", "")
    if urel:
        return {"userset": {"type": utype, "id": uid, "relation": urel}}
    if uid == "*":
        return {"wildcard": {"type": utype}}
    return {"object": {"type": utype, "id": uid}}


@attrs.frozen(kw_only=True)
class ListUsersResult:
    users: tuple[str, ...]
    truncated: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"users": [user_to_json(u) for u in self.users]}


class _Expansion:
    def __init__(self, compiled: CompiledModel, reader: TupleReader, flt: UserFilter,
                 context: Mapping[str, Any] | None, max_depth: int) -> None:
        self.compiled = compiled
        self.reader = reader
        self.filter = flt
        self.context = context
        self.max_depth = max_depth
        self.visited: set[tuple[str, str, str]] = set()
        self.candidates: dict[str, None] = {}
        self.error: FgaError | None = None

    def condition_holds(self, rec) -> bool:
        if not rec.condition:
            return True
        try:
            return self.compiled.conditions[rec.condition].evaluate(rec.context, self.context, tuple_text=str(rec))
        except FgaError as exc:
            self.error = self.error or exc
            return False

    def relevant(self, otype: str, relation: str) -> bool:
        """Can users matching the filter be reached from ``otype#relation`` at all?"""
        reach = self.compiled.can_reach[(otype, relation)]
        flt = self.filter
        if flt.relation:
            return (flt.type, flt.relation) in reach
        return (flt.type, "") in reach or (flt.type, "*") in reach

    def expand(self, otype: str, oid: str, relation: str, depth: int) -> None:
        if depth >= self.max_depth:
            raise ResolutionDepthExceeded()
        key = (otype, oid, relation)
        if key in self.visited:
            return
        self.visited.add(key)
        flt = self.filter
        if flt.relation and otype == flt.type and relation == flt.relation:
            self.candidates[f"{otype}:{oid}#{relation}"] = None
        info = self.compiled.relations[(otype, relation)]
        self.walk(info, info.rewrite, otype, oid, depth)

    def walk(self, info, node: Rewrite, otype: str, oid: str, depth: int) -> None:
        if isinstance(node, This):
            flt = self.filter
            for rec in self.reader.read(otype, oid, info.name):
                if not info.admits(rec):
                    continue
                if rec.user_relation:
                    if not self.relevant(rec.user_type, rec.user_relation) or not self.condition_holds(rec):
                        continue
                    if flt.relation and rec.user_type == flt.type and rec.user_relation == flt.relation:
                        self.candidates[rec.user] = None
                    self.expand(rec.user_type, rec.user_id, rec.user_relation, depth + 1)
                elif not flt.relation and rec.user_type == flt.type and self.condition_holds(rec):
                    self.candidates[rec.user] = None
        elif isinstance(node, ComputedUserset):
            self.expand(otype, oid, node.relation, depth + 1)
        elif isinstance(node, TupleToUserset):
            ts = self.compiled.relations[(otype, node.tupleset)]
            for rec in self.reader.read(otype, oid, node.tupleset):
                if (not ts.admits(rec) or (rec.user_type, node.computed_relation) not in self.compiled.relations
                        or not self.relevant(rec.user_type, node.computed_relation)):
                    continue
                if self.condition_holds(rec):
                    self.expand(rec.user_type, rec.user_id, node.computed_relation, depth + 1)
        elif isinstance(node, (Union, Intersection)):
            for child in node.children:
                self.walk(info, child, otype, oid, depth)
        elif isinstance(node, Difference):
            self.walk(info, node.base, otype, oid, depth)


def list_users(compiled: CompiledModel, reader: TupleReader, *, object: str, relation: str,
               user_filters: Sequence[UserFilter | str | Mapping[str, Any]],
               contextual_tuples: Sequence[TupleKey | Mapping[str, Any]] = (),
               context: Mapping[str, Any] | None = None, max_results: int = DEFAULT_MAX_RESULTS,
               max_depth: int = DEFAULT_RESOLVE_NODE_LIMIT) -> ListUsersResult:
    """Users matching the (single) filter that Check would allow on ``object#relation``.

    Raises ``ValidationError`` (2000) for a malformed object or not exactly one filter,
    ``TypeNotFound`` (2021) / ``RelationNotFound`` (2022) for the object or the filter,
    ``InvalidTuple`` (2027), ``AuthorizationModelResolutionTooComplex`` (2002), and
    ``ConditionEvaluationError`` (2000).
    """
    if len(user_filters) != 1:
        raise ValidationError("exactly one user filter is required")
    flt = UserFilter.parse(user_filters[0])
    parts = split_object(object)
    if parts is None or parts[1] == "*":
        raise ValidationError(f"invalid 'object' field format: '{object}'")
    otype, oid = parts
    if not compiled.has_type(otype):
        raise TypeNotFound(f"type '{otype}' not found")
    if compiled.relation(otype, relation) is None:
        raise RelationNotFound(f"relation '{otype}#{relation}' not found")
    if not compiled.has_type(flt.type):
        raise TypeNotFound(f"type '{flt.type}' not found")
    if flt.relation and compiled.relation(flt.type, flt.relation) is None:
        raise RelationNotFound(f"relation '{flt.type}#{flt.relation}' not found")
    ctx = check_context(context)
    if contextual_tuples:
        reader = ContextualTupleReader(reader, validate_contextual_tuples(compiled, parse_contextual(contextual_tuples)))
    expansion = _Expansion(compiled, reader, flt, ctx, max_depth)
    expansion.expand(otype, oid, relation, 0)
    if expansion.error is not None:
        raise expansion.error
    users = list(expansion.candidates)
    if not compiled.monotone[(otype, relation)]:
        confirmed = []
        for user in users:
            res = CheckResolver(compiled, reader, split_user(user), context=ctx, max_depth=max_depth)
            if res.resolve(otype, oid, relation, 0):
                confirmed.append(user)
        users = confirmed
    truncated = bool(max_results) and len(users) > max_results
    if truncated:
        users = users[:max_results]
    return ListUsersResult(users=tuple(users), truncated=truncated)
