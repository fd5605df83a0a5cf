"""Check's rewrite evaluators: every relation's rewrite compiled once into a closure.

Semantics of OpenFGA's ``LocalChecker.ResolveCheck`` (``internal/graph/check.go``; reference
``openfga.md`` §5). An evaluator answers for the request's user and one object with a proof, ``False``
or :data:`CYCLE`, and dispatches sub-problems through :meth:`CheckResolver.resolve
<protocols.fga.resolver.CheckResolver.resolve>`, which counts the depth and detects cycles:

- direct assignment looks up the exact tuple, the ``type:*`` tuple for an object user, and
  expands admitted usersets; tuple-to-userset follows the tupleset tuples to parents on which the
  computed relation is defined; stored tuples that no longer fit the model are skipped;
- union: true if any branch is; else the first error; else false (cycle flag kept);
  intersection: false as soon as a branch is false or cyclic, else the first error, else true;
  exclusion: false if the base is false/cyclic or the subtracted branch true/cyclic, else the first
  error (base first), else true;
- conditions are evaluated with the tuple's context layered over the request context.

Speed: the model is compiled once (:func:`ensure_compiled`) into one closure per relation node,
kept on :attr:`RelationInfo.evaluator <protocols.fga.typesystem.RelationInfo>`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from protocols.fga.errors import FgaError
from protocols.fga.model import ComputedUserset, Difference, Intersection, Rewrite, This, TupleToUserset, Union
from protocols.fga.typesystem import CompiledModel, RelationInfo

if TYPE_CHECKING:
    from protocols.fga.resolver import CheckResolver


class _Cycle:
    """The falsy result of a sub-problem already on the current resolution path."""

    __slots__ = ()

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "CYCLE"


CYCLE = _Cycle()
Evaluator = Callable[["CheckResolver", str, int], Any]


def ensure_compiled(compiled: CompiledModel) -> None:
    """Attach its evaluator to every relation of ``compiled`` (once per compiled model)."""
    if getattr(compiled, "_check_compiled", False):
        return
    for info in compiled.relations.values():
        info.evaluator = compile_rewrite(compiled, info, info.rewrite)
    compiled._check_compiled = True  # type: ignore[attr-defined]


def compile_rewrite(compiled: CompiledModel, info: RelationInfo, node: Rewrite) -> Evaluator:
    """The evaluator of one rewrite node of relation ``info`` (its children compiled recursively)."""
    if isinstance(node, This):
        return _compile_direct(compiled, info)
    if isinstance(node, ComputedUserset):
        return _compile_computed(info, node)
    if isinstance(node, TupleToUserset):
        return _compile_ttu(compiled, info, node)
    if isinstance(node, Union):
        return _compile_union([compile_rewrite(compiled, info, c) for c in node.children])
    if isinstance(node, Intersection):
        return _compile_intersection([compile_rewrite(compiled, info, c) for c in node.children])
    if isinstance(node, Difference):
        return _compile_difference(compile_rewrite(compiled, info, node.base),
                                   compile_rewrite(compiled, info, node.subtract), describe_rewrite(node.subtract))
    raise TypeError(f"unknown rewrite {node!r}")


def describe_rewrite(node: Rewrite) -> str:
    """``node`` in DSL words (``viewer from parent``, ``(a but not b)``), for explanations."""
    if isinstance(node, This):
        return "[direct]"
    if isinstance(node, ComputedUserset):
        return node.relation
    if isinstance(node, TupleToUserset):
        return f"{node.computed_relation} from {node.tupleset}"
    if isinstance(node, Union):
        return "(" + " or ".join(describe_rewrite(c) for c in node.children) + ")"
    if isinstance(node, Intersection):
        return "(" + " and ".join(describe_rewrite(c) for c in node.children) + ")"
    if isinstance(node, Difference):
        return f"({describe_rewrite(node.base)} but not {describe_rewrite(node.subtract)})"
    return "?"


def _compile_direct(compiled: CompiledModel, info: RelationInfo) -> Evaluator:
    otype, relation = info.type_name, info.name
    allowed = info.allowed
    wildcard_types = info.wildcard_types
    has_usersets = bool(info.userset_kinds)
    conditions = compiled.conditions

    def direct(res: CheckResolver, oid: str, depth: int) -> Any:
        reader = res.reader
        err: FgaError | None = None
        conds = allowed.get(res.kind)
        if conds is not None:
            rec = reader.read_user(otype, oid, relation, res.ustr)
            if rec is not None and rec.condition in conds:
                if not rec.condition:
                    return ("tuple", rec)
                try:
                    if conditions[rec.condition].evaluate(rec.context, res.context, tuple_text=str(rec)):
                        return ("tuple", rec)
                except FgaError as exc:
                    err = exc
        if res.wildcard is not None and res.utype in wildcard_types:
            rec = reader.read_user(otype, oid, relation, res.wildcard)
            if rec is not None and rec.condition in allowed[(res.utype, "*")]:
                if not rec.condition:
                    return ("tuple", rec)
                try:
                    if conditions[rec.condition].evaluate(rec.context, res.context, tuple_text=str(rec)):
                        return ("tuple", rec)
                except FgaError as exc:
                    err = err or exc
        cycle = False
        if has_usersets:
            for rec in reader.read_usersets(otype, oid, relation):
                uconds = allowed.get((rec.user_type, rec.user_relation))
                if uconds is None or rec.condition not in uconds:
                    continue
                try:
                    if rec.condition and not conditions[rec.condition].evaluate(
                            rec.context, res.context, tuple_text=str(rec)):
                        continue
                    found = res.resolve(rec.user_type, rec.user_id, rec.user_relation, depth + 1)
                except FgaError as exc:
                    err = err or exc
                    continue
                if found:
                    return ("userset", rec, found)
                if found is CYCLE:
                    cycle = True
        if err is not None:
            raise err
        return CYCLE if cycle else False

    return direct


def _compile_computed(info: RelationInfo, node: ComputedUserset) -> Evaluator:
    otype, target = info.type_name, node.relation

    def computed(res: CheckResolver, oid: str, depth: int) -> Any:
        # not a dispatch: OpenFGA resolves computed usersets without increasing the depth
        found = res.resolve(otype, oid, target, depth)
        return ("computed", found) if found else found

    return computed


def _compile_ttu(compiled: CompiledModel, info: RelationInfo, node: TupleToUserset) -> Evaluator:
    otype = info.type_name
    tupleset = compiled.relation(otype, node.tupleset)
    assert tupleset is not None
    tupleset_name = node.tupleset
    target = node.computed_relation
    parents = frozenset(t for (t, k) in tupleset.allowed if k == "" and (t, target) in compiled.relations)
    text = f"{target} from {tupleset_name}"
    conditions = compiled.conditions
    admits = tupleset.admits

    def ttu(res: CheckResolver, oid: str, depth: int) -> Any:
        err: FgaError | None = None
        cycle = False
        for rec in res.reader.read(otype, oid, tupleset_name):
            if rec.user_type not in parents or not admits(rec):
                continue
            try:
                if rec.condition and not conditions[rec.condition].evaluate(
                        rec.context, res.context, tuple_text=str(rec)):
                    continue
                found = res.resolve(rec.user_type, rec.user_id, target, depth + 1)
            except FgaError as exc:
                err = err or exc
                continue
            if found:
                return ("ttu", rec, found, text)
            if found is CYCLE:
                cycle = True
        if err is not None:
            raise err
        return CYCLE if cycle else False

    return ttu


def _compile_union(children: list[Evaluator]) -> Evaluator:
    def union(res: CheckResolver, oid: str, depth: int) -> Any:
        err: FgaError | None = None
        cycle = False
        for child in children:
            try:
                found = child(res, oid, depth)
            except FgaError as exc:
                err = err or exc
                continue
            if found:
                return found
            if found is CYCLE:
                cycle = True
        if err is not None:
            raise err
        return CYCLE if cycle else False

    return union


def _compile_intersection(children: list[Evaluator]) -> Evaluator:
    def intersection(res: CheckResolver, oid: str, depth: int) -> Any:
        err: FgaError | None = None
        proofs = []
        for child in children:
            try:
                found = child(res, oid, depth)
            except FgaError as exc:
                err = err or exc
                continue
            if not found:
                return found
            proofs.append(found)
        if err is not None:
            raise err
        return ("and", tuple(proofs))

    return intersection


def _compile_difference(base: Evaluator, subtract: Evaluator, excluded: str) -> Evaluator:
    def difference(res: CheckResolver, oid: str, depth: int) -> Any:
        base_err: FgaError | None = None
        try:
            found = base(res, oid, depth)
        except FgaError as exc:
            base_err, found = exc, None
        if base_err is None and not found:
            return found
        try:
            sub = subtract(res, oid, depth)
        except FgaError:
            if base_err is not None:
                raise base_err from None
            raise
        if sub or sub is CYCLE:
            return CYCLE if sub is CYCLE else False
        if base_err is not None:
            raise base_err
        return ("butnot", found, excluded)

    return difference
