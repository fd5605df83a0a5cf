"""A validated model compiled for evaluation (OpenFGA ``pkg/typesystem``).

:class:`CompiledModel` precomputes, once per model, everything the engine would otherwise
recompute per request: each relation's admitted user kinds and conditions (the read-time tuple
filter of ``ValidateTupleForRead``), which relations are tuplesets, which user kinds can possibly
reach each relation (Check's quick exit), which relations are monotone (no intersection or
exclusion below them), the reverse edges ListObjects walks, and the compiled conditions. The
Check evaluators themselves are compiled lazily by ``protocols.fga.evaluators``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from protocols.fga.conditions import CompiledCondition, compile_conditions
from protocols.fga.model import (
    AuthorizationModel, ComputedUserset, Difference, Intersection, Relation, Rewrite, This, TupleToUserset,
    Union,
)
from protocols.fga.tuples import TupleRecord

UserKind = tuple[str, str]
"""``(user type, kind)`` where kind is ``""`` (an object), ``"*"`` (a wildcard) or a relation
(a userset ``type:id#relation``)."""


class RelationInfo:
    """One ``type#relation`` with its direct-assignment rules precomputed."""

    __slots__ = ("type_name", "name", "relation", "rewrite", "allowed", "wildcard_types", "plain_types",
                 "userset_kinds", "is_tupleset", "evaluator")

    def __init__(self, type_name: str, relation: Relation) -> None:
        self.type_name = type_name
        self.name = relation.name
        self.relation = relation
        self.rewrite = relation.rewrite
        allowed: dict[UserKind, set[str]] = {}
        for ref in relation.directly_related_user_types:
            kind = "*" if ref.wildcard else ref.relation
            allowed.setdefault((ref.type, kind), set()).add(ref.condition)
        self.allowed: dict[UserKind, frozenset[str]] = {k: frozenset(v) for k, v in allowed.items()}
        self.wildcard_types = frozenset(t for t, k in self.allowed if k == "*")
        self.plain_types = frozenset(t for t, k in self.allowed if k == "")
        self.userset_kinds = frozenset((t, k) for t, k in self.allowed if k not in ("", "*"))
        self.is_tupleset = False
        self.evaluator: Callable[..., Any] | None = None

    def admits(self, rec: TupleRecord) -> bool:
        """``ValidateTupleForRead``: does a stored tuple still fit this relation's restrictions?"""
        kind = "*" if rec.user_id == "*" else rec.user_relation
        conds = self.allowed.get((rec.user_type, kind))
        if conds is None or rec.condition not in conds:
            return False
        return not (self.is_tupleset and kind)

    def __repr__(self) -> str:
        return f"RelationInfo({self.type_name}#{self.name})"


class ReverseEdge:
    """How a fact "the user has ``source``" yields facts on ``target`` (for ListObjects).

    kinds: ``computed`` (same object), ``userset`` (tuples ``target_obj#target@src_obj#src``),
    ``ttu`` (tuples ``target_obj#tupleset@src_obj``), ``direct`` / ``wildcard`` (from the request
    user itself). ``needs_check``: the path goes through an intersection or exclusion, so a derived
    object is only a candidate until Check confirms it.
    """

    __slots__ = ("kind", "target", "tupleset", "needs_check")

    def __init__(self, kind: str, target: RelationInfo, *, tupleset: RelationInfo | None = None,
                 needs_check: bool = False) -> None:
        self.kind = kind
        self.target = target
        self.tupleset = tupleset
        self.needs_check = needs_check

    def __repr__(self) -> str:
        return f"ReverseEdge({self.kind}->{self.target.type_name}#{self.target.name}, check={self.needs_check})"


class CompiledModel:
    """A model ready for Check / ListObjects / ListUsers (build with ``validation.compile_model``)."""

    def __init__(self, model: AuthorizationModel) -> None:
        self.model = model
        self.id = model.id
        self.conditions: dict[str, CompiledCondition] = compile_conditions(model.conditions)
        self.relations: dict[tuple[str, str], RelationInfo] = {}
        self.types: dict[str, dict[str, RelationInfo]] = {}
        for t in model.type_definitions:
            if t.name in self.types:
                continue
            rels: dict[str, RelationInfo] = {}
            for r in t.relations:
                info = RelationInfo(t.name, r)
                rels[r.name] = info
                self.relations[(t.name, r.name)] = info
            self.types[t.name] = rels
        for info in self.relations.values():
            for leaf in _leaves(info.rewrite):
                if isinstance(leaf, TupleToUserset):
                    ts = self.relations.get((info.type_name, leaf.tupleset))
                    if ts is not None:
                        ts.is_tupleset = True
        self.can_reach = self._reachability()
        self.monotone = self._monotonicity()
        self.edges_from_fact, self.edges_from_user = self._reverse_edges()

    # -- lookups ---------------------------------------------------------------------------------
    def relation(self, type_name: str, relation: str) -> RelationInfo | None:
        return self.relations.get((type_name, relation))

    def has_type(self, type_name: str) -> bool:
        return type_name in self.types

    # -- dispatch targets of a rewrite --------------------------------------------------------------
    def _targets(self, info: RelationInfo, rewrite: Rewrite, *, base_only: bool) -> list[RelationInfo]:
        """Relations a rewrite dispatches to (computed, ttu parents, userset restrictions)."""
        out: list[RelationInfo] = []
        for leaf in _leaves(rewrite, base_only=base_only):
            if isinstance(leaf, This):
                for t, k in info.userset_kinds:
                    target = self.relations.get((t, k))
                    if target is not None:
                        out.append(target)
            elif isinstance(leaf, ComputedUserset):
                target = self.relations.get((info.type_name, leaf.relation))
                if target is not None:
                    out.append(target)
            elif isinstance(leaf, TupleToUserset):
                ts = self.relations.get((info.type_name, leaf.tupleset))
                if ts is None:
                    continue
                for t, k in ts.allowed:
                    target = self.relations.get((t, leaf.computed_relation))
                    if target is not None and k == "":
                        out.append(target)
        return out

    def _reachability(self) -> dict[tuple[str, str], frozenset[UserKind]]:
        reach: dict[tuple[str, str], set[UserKind]] = {}
        for key, info in self.relations.items():
            kinds: set[UserKind] = set()
            if any(isinstance(leaf, This) for leaf in _leaves(info.rewrite, base_only=True)):
                for (t, k) in info.allowed:
                    kinds.add((t, k))
                    if k == "*":
                        kinds.add((t, ""))
            kinds.add(key)  # self-defining usersets
            reach[key] = kinds
        targets = {key: [(t.type_name, t.name) for t in self._targets(info, info.rewrite, base_only=True)]
                   for key, info in self.relations.items()}
        changed = True
        while changed:
            changed = False
            for key, deps in targets.items():
                mine = reach[key]
                before = len(mine)
                for dep in deps:
                    mine |= reach[dep]
                if len(mine) != before:
                    changed = True
        return {k: frozenset(v) for k, v in reach.items()}

    def _monotonicity(self) -> dict[tuple[str, str], bool]:
        local = {key: not _has_algebra(info.rewrite) for key, info in self.relations.items()}
        targets = {key: [(t.type_name, t.name) for t in self._targets(info, info.rewrite, base_only=False)]
                   for key, info in self.relations.items()}
        mono = dict(local)
        changed = True
        while changed:
            changed = False
            for key, deps in targets.items():
                if mono[key] and any(not mono[d] for d in deps):
                    mono[key] = False
                    changed = True
        return mono

    def _reverse_edges(self) -> tuple[dict[tuple[str, str], list[ReverseEdge]], dict[str, list[ReverseEdge]]]:
        from_fact: dict[tuple[str, str], list[ReverseEdge]] = {}
        from_user: dict[str, list[ReverseEdge]] = {}
        for info in self.relations.values():
            for leaf, guarded in _leaves_guarded(info.rewrite):
                if isinstance(leaf, This):
                    for (t, k) in info.allowed:
                        if k == "":
                            from_user.setdefault(t, []).append(ReverseEdge("direct", info, needs_check=guarded))
                        elif k == "*":
                            from_user.setdefault(t, []).append(ReverseEdge("wildcard", info, needs_check=guarded))
                        else:
                            from_fact.setdefault((t, k), []).append(
                                ReverseEdge("userset", info, needs_check=guarded))
                elif isinstance(leaf, ComputedUserset):
                    from_fact.setdefault((info.type_name, leaf.relation), []).append(
                        ReverseEdge("computed", info, needs_check=guarded))
                elif isinstance(leaf, TupleToUserset):
                    ts = self.relations.get((info.type_name, leaf.tupleset))
                    if ts is None:
                        continue
                    for (t, k) in ts.allowed:
                        if k == "" and (t, leaf.computed_relation) in self.relations:
                            from_fact.setdefault((t, leaf.computed_relation), []).append(
                                ReverseEdge("ttu", info, tupleset=ts, needs_check=guarded))
        return from_fact, from_user


def _leaves(rewrite: Rewrite, *, base_only: bool = False):
    if isinstance(rewrite, (Union, Intersection)):
        for child in rewrite.children:
            yield from _leaves(child, base_only=base_only)
    elif isinstance(rewrite, Difference):
        yield from _leaves(rewrite.base, base_only=base_only)
        if not base_only:
            yield from _leaves(rewrite.subtract, base_only=base_only)
    else:
        yield rewrite


def _leaves_guarded(rewrite: Rewrite, guarded: bool = False):
    """Leaves that can grant the relation (not under a ``but not`` subtract), with whether an
    intersection or exclusion sits above them."""
    if isinstance(rewrite, Union):
        for child in rewrite.children:
            yield from _leaves_guarded(child, guarded)
    elif isinstance(rewrite, Intersection):
        for child in rewrite.children:
            yield from _leaves_guarded(child, True)
    elif isinstance(rewrite, Difference):
        yield from _leaves_guarded(rewrite.base, True)
    else:
        yield rewrite, guarded


def _has_algebra(rewrite: Rewrite) -> bool:
    if isinstance(rewrite, (Intersection, Difference)):
        return True
    if isinstance(rewrite, Union):
        return any(_has_algebra(c) for c in rewrite.children)
    return False
