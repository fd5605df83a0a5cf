"""ListObjects: every object of a type that the user has a relation with.

Reverse expansion (OpenFGA ``pkg/server/commands/reverseexpand``): starting from the user, follow
the model's edges backwards — direct and wildcard assignments of the user itself, then from each
derived fact "the user has ``S`` on ``X``": computed relations on the same object, tuples whose
user is the userset ``X#S``, and tuple-to-userset parents ``…#tupleset@X``. Lookups are batched per
level through :meth:`TupleReader.read_by_users`. Objects reached through an intersection or an
exclusion are candidates that Check must confirm (with the request's memo), so the result is
always consistent with Check. Each level of the expansion is one hop; a fact that can still lead to
the target found ``max_depth`` (25) hops from the user is ``authorization_model_resolution_too_complex``
(OpenFGA v1.22 answers a 24-hop chain and refuses a 25-hop one, computed hops included).
Results are a set (no duplicates); at most ``max_results`` (OpenFGA's
``listObjectsMaxResults``, default 1000; 0 = unlimited) are returned, with ``truncated`` set when the
limit cut the search short.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from protocols.fga.errors import ResolutionDepthExceeded
from protocols.fga.resolver import DEFAULT_RESOLVE_NODE_LIMIT, CheckResolver
from protocols.fga.tuples import ContextualTupleReader, TupleKey, TupleReader, TupleRecord
from protocols.fga.typesystem import CompiledModel, RelationInfo
from protocols.fga.validation import (
    check_context, check_request_user, check_type_relation, parse_contextual, validate_contextual_tuples,
)

DEFAULT_MAX_RESULTS = 1000


@attrs.frozen(kw_only=True)
class ListObjectsResult:
    objects: tuple[str, ...]
    truncated: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"objects": list(self.objects)}


class _Limit(Exception):
    pass


class _ReverseExpansion:
    def __init__(self, compiled: CompiledModel, reader: TupleReader, resolver: CheckResolver,
                 target: tuple[str, str], context: Mapping[str, Any] | None, max_results: int,
                 max_depth: int = DEFAULT_RESOLVE_NODE_LIMIT) -> None:
        self.compiled = compiled
        self.reader = reader
        self.resolver = resolver
        self.target = target
        self.context = context
        self.max_results = max_results
        self.facts: dict[tuple[str, str], set[str]] = {}
        self.rejected: set[tuple[str, str, str]] = set()
        self.frontier: dict[tuple[str, str], list[str]] = {}
        self.results: list[str] = []
        self.level = 0
        self.max_depth = max_depth
        self.relevant = _leading_to(compiled, target)

    def condition_holds(self, rec: TupleRecord) -> bool:
        if not rec.condition:
            return True
        return self.compiled.conditions[rec.condition].evaluate(rec.context, self.context, tuple_text=str(rec))

    def add(self, otype: str, oid: str, relation: str, needs_check: bool) -> None:
        key = (otype, relation)
        known = self.facts.get(key)
        if known is None:
            known = self.facts[key] = set()
        elif oid in known:
            return
        if self.level >= self.max_depth and key in self.relevant:
            raise ResolutionDepthExceeded()
        if needs_check:
            fact = (otype, oid, relation)
            if fact in self.rejected:
                return
            if not self.resolver.resolve(otype, oid, relation, 0):
                self.rejected.add(fact)
                return
        known.add(oid)
        self.frontier.setdefault(key, []).append(oid)
        if key == self.target:
            self.results.append(f"{otype}:{oid}")
            if self.max_results and len(self.results) >= self.max_results:
                raise _Limit()

    def from_records(self, records, target: RelationInfo, admits: RelationInfo, needs_check: bool) -> None:
        name = target.name
        for rec in records:
            if admits.admits(rec) and self.condition_holds(rec):
                self.add(rec.object_type, rec.object_id, name, needs_check)

    def seed(self, utype: str, uid: str, urel: str) -> None:
        if urel:
            self.add(utype, uid, urel, False)
            return
        user = f"{utype}:{uid}"
        wildcard = f"{utype}:*"
        for edge in self.compiled.edges_from_user.get(utype, ()):
            t = edge.target
            if edge.kind == "direct" and uid != "*":
                self.from_records(self.reader.read_by_user(t.type_name, t.name, user), t, t, edge.needs_check)
            elif edge.kind == "wildcard":
                self.from_records(self.reader.read_by_user(t.type_name, t.name, wildcard), t, t, edge.needs_check)

    def run(self) -> None:
        edges_from_fact = self.compiled.edges_from_fact
        while self.frontier:
            level, self.frontier = self.frontier, {}
            self.level += 1
            for (stype, srel), oids in level.items():
                for edge in edges_from_fact.get((stype, srel), ()):
                    t = edge.target
                    if edge.kind == "computed":
                        for oid in oids:
                            self.add(stype, oid, t.name, edge.needs_check)
                    elif edge.kind == "userset":
                        users = [f"{stype}:{oid}#{srel}" for oid in oids]
                        self.from_records(self.reader.read_by_users(t.type_name, t.name, users), t, t,
                                          edge.needs_check)
                    elif edge.kind == "ttu":
                        ts = edge.tupleset
                        users = [f"{stype}:{oid}" for oid in oids]
                        self.from_records(self.reader.read_by_users(t.type_name, ts.name, users), t, ts,
                                          edge.needs_check)


def list_objects(compiled: CompiledModel, reader: TupleReader, *, type: str, relation: str, user: str,
                 contextual_tuples: Sequence[TupleKey | Mapping[str, Any]] = (),
                 context: Mapping[str, Any] | None = None, max_results: int = DEFAULT_MAX_RESULTS,
                 max_depth: int = DEFAULT_RESOLVE_NODE_LIMIT) -> ListObjectsResult:
    """Objects ``type:id`` such that Check(``type:id#relation@user``) is true.

    Raises ``TypeNotFound`` (2021), ``RelationNotFound`` (2022), ``ValidationError`` (2000) for a
    bad user or a condition that cannot be evaluated, ``InvalidTuple`` (2027) for a bad contextual
    tuple, ``AuthorizationModelResolutionTooComplex`` (2002) from a confirming Check.
    """
    check_type_relation(compiled, type, relation)
    usr = check_request_user(compiled, user)
    ctx = check_context(context)
    if contextual_tuples:
        reader = ContextualTupleReader(reader, validate_contextual_tuples(compiled, parse_contextual(contextual_tuples)))
    resolver = CheckResolver(compiled, reader, usr, context=ctx, max_depth=max_depth)
    expansion = _ReverseExpansion(compiled, reader, resolver, (type, relation), ctx, max_results, max_depth)
    truncated = False
    if usr[2] or resolver.kind in _reachable_kinds(compiled, type, relation):
        try:
            expansion.seed(*usr)
            expansion.run()
        except _Limit:
            truncated = True
    return ListObjectsResult(objects=tuple(expansion.results), truncated=truncated)


def _leading_to(compiled: CompiledModel, target: tuple[str, str]) -> frozenset[tuple[str, str]]:
    """The relations whose facts can lead to ``target`` along the reverse edges (depth only counts there)."""
    preds: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for source, edges in compiled.edges_from_fact.items():
        for edge in edges:
            preds.setdefault((edge.target.type_name, edge.target.name), set()).add(source)
    found, todo = {target}, [target]
    while todo:
        for source in preds.get(todo.pop(), ()):
            if source not in found:
                found.add(source)
                todo.append(source)
    return frozenset(found)


def _reachable_kinds(compiled: CompiledModel, type_name: str, relation: str) -> frozenset:
    return compiled.can_reach[(type_name, relation)]
