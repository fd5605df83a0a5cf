"""Check and BatchCheck: is ``user`` related to ``object`` by ``relation``?

Semantics of OpenFGA's ``LocalChecker.ResolveCheck`` (``internal/graph/check.go``):

- every dispatch (tuple-to-userset hop, userset expansion) adds one to the depth — a computed
  relation on the same object does not ("No dispatch here, as we don't want to increase resolution
  depth"); going past the resolve-node limit (25 dispatches) is
  ``authorization_model_resolution_too_complex`` (2002). Both points were measured against OpenFGA
  v1.22 (``fga model test``): a 25-deep nested-group or parent chain checks true, 26 is an error,
  and a 40-deep computed chain checks true;
- a sub-problem ``object#relation`` already on the current path is a *cycle*: it evaluates to
  false and the flag propagates (it is not an error);
- ``type:id#rel`` checked against ``type:id`` / ``rel`` is true (self-defining userset);
- direct assignment looks up the exact tuple, the ``type:*`` tuple for an object user, and
  expands admitted usersets; tuple-to-userset follows the tupleset tuples to parents on which the
  computed relation is defined; stored tuples that no longer fit the model are skipped;
- union: true if any branch is; else the first error; else false (cycle flag kept);
  intersection: false as soon as a branch is false or cyclic, else the first error, else true;
  exclusion: false if the base is false/cyclic or the subtracted branch true/cyclic, else the first
  error (base first), else true;
- conditions are evaluated with the tuple's context layered over the request context.

Speed: the model is compiled once into one closure per relation node; sub-results are memoized
for the duration of a request (the user is fixed within a Check, so the memo key is
``(type, id, relation)``); user kinds that cannot reach a relation exit without reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Callable

import attrs

from protocols.fga.errors import FgaError, ResolutionDepthExceeded, ValidationError
from protocols.fga.explain import Explanation, flatten_proof
from protocols.fga.model import ComputedUserset, Difference, Intersection, Rewrite, This, TupleToUserset, Union
from protocols.fga.tuples import ContextualTupleReader, TupleKey, TupleReader
from protocols.fga.typesystem import CompiledModel, RelationInfo
from protocols.fga.validation import (
    check_context, check_request_object, check_request_user, parse_contextual, validate_contextual_tuples,
)

DEFAULT_RESOLVE_NODE_LIMIT = 25
MAX_CHECKS_PER_BATCH = 50


class _Cycle:
    """The falsy result of a sub-problem already on the current resolution path."""

    __slots__ = ()

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "CYCLE"


CYCLE = _Cycle()
Evaluator = Callable[["CheckResolver", str, int], Any]


class CheckResolver:
    """Request-scoped state of one Check (one user): reader, context, memo, current path."""

    __slots__ = ("compiled", "reader", "context", "utype", "uid", "urel", "ustr", "kind", "wildcard",
                 "memo", "path", "max_depth", "dispatches", "cycle_seen", "cycle_memo", "frames")

    def __init__(self, compiled: CompiledModel, reader: TupleReader, user: tuple[str, str, str], *,
                 context: Mapping[str, Any] | None = None, max_depth: int = DEFAULT_RESOLVE_NODE_LIMIT) -> None:
        _ensure_compiled(compiled)
        self.compiled = compiled
        self.reader = reader
        self.context = context
        self.utype, self.uid, self.urel = user
        self.ustr = f"{self.utype}:{self.uid}#{self.urel}" if self.urel else f"{self.utype}:{self.uid}"
        ukind = self.urel if self.urel else ("*" if self.uid == "*" else "")
        self.kind = (self.utype, ukind)
        self.wildcard = f"{self.utype}:*" if ukind == "" else None
        self.memo: dict[tuple[str, str, str], Any] = {}
        self.path: set[tuple[str, str, str]] = set()
        self.max_depth = max_depth
        self.dispatches = 0
        self.cycle_seen = False
        # Results that met a cycle depend on which sub-problems were on the path: they are kept
        # with that set and reused only while all of it is still on the path (see ``resolve``).
        self.cycle_memo: dict[tuple[str, str, str], frozenset] = {}
        self.frames: list[set | None] = []

    def _note_cycle(self, keys) -> None:
        if self.frames:
            hits = self.frames[-1]
            if hits is None:
                self.frames[-1] = set(keys)
            else:
                hits.update(keys)

    def resolve(self, otype: str, oid: str, relation: str, depth: int) -> Any:
        """The proof that the user has ``relation`` on ``otype:oid``, or ``False`` / ``CYCLE``.

        Results are memoized for the request. A true result, or a false one reached without
        meeting a cycle, does not depend on the path and is kept for good; a false result that met
        a cycle (a sub-problem already on the path) is kept with the set of path entries it met and
        reused only while they are all still on the path — re-evaluating it there would meet the
        same cycles — which keeps cyclic data from making the search exponential.
        """
        if depth > self.max_depth:  # OpenFGA v1.22 allows exactly max_depth (25) dispatches
            raise ResolutionDepthExceeded()
        key = (otype, oid, relation)
        found = self.memo.get(key)
        if found is not None:
            return found
        if oid == self.uid and relation == self.urel and otype == self.utype:
            proof = ("self", otype, oid, relation)
            self.memo[key] = proof
            return proof
        if self.kind not in self.compiled.can_reach[(otype, relation)]:
            self.memo[key] = False
            return False
        path = self.path
        if key in path:
            self.cycle_seen = True
            self._note_cycle((key,))
            return CYCLE
        deps = self.cycle_memo.get(key)
        if deps is not None and deps <= path:
            if deps:
                self._note_cycle(deps)
            return CYCLE
        path.add(key)
        self.frames.append(None)
        self.dispatches += 1
        try:
            result = self.compiled.relations[otype, relation].evaluator(self, oid, depth)
        finally:
            path.discard(key)
            hits = self.frames.pop()
            if hits is not None:
                hits.discard(key)
                if hits:
                    self._note_cycle(hits)
        if result:
            result = ("rel", otype, oid, relation, result)
            self.memo[key] = result
        elif result is not CYCLE:
            self.memo[key] = False
        else:
            self.cycle_memo[key] = frozenset(hits) if hits else frozenset()
        return result


# -- compilation of rewrites into closures -------------------------------------------------------


def _ensure_compiled(compiled: CompiledModel) -> None:
    if getattr(compiled, "_check_compiled", False):
        return
    for info in compiled.relations.values():
        info.evaluator = _compile(compiled, info, info.rewrite)
    compiled._check_compiled = True  # type: ignore[attr-defined]


def _eval_condition(compiled: CompiledModel, res: CheckResolver, rec) -> bool:
    return compiled.conditions[rec.condition].evaluate(rec.context, res.context, tuple_text=str(rec))


def _compile(compiled: CompiledModel, info: RelationInfo, node: Rewrite) -> Evaluator:
    if isinstance(node, This):
        return _compile_direct(compiled, info)
    if isinstance(node, ComputedUserset):
        return _compile_computed(info, node)
    if isinstance(node, TupleToUserset):
        return _compile_ttu(compiled, info, node)
    if isinstance(node, Union):
        return _compile_union([_compile(compiled, info, c) for c in node.children])
    if isinstance(node, Intersection):
        return _compile_intersection([_compile(compiled, info, c) for c in node.children])
    if isinstance(node, Difference):
        return _compile_difference(_compile(compiled, info, node.base), _compile(compiled, info, node.subtract),
                                   _describe(node.subtract))
    raise TypeError(f"unknown rewrite {node!r}")


def _describe(node: Rewrite) -> str:
    if isinstance(node, This):
        return "[direct]"
    if isinstance(node, ComputedUserset):
        return node.relation
    if isinstance(node, TupleToUserset):
        return f"{node.computed_relation} from {node.tupleset}"
    if isinstance(node, Union):
        return "(" + " or ".join(_describe(c) for c in node.children) + ")"
    if isinstance(node, Intersection):
        return "(" + " and ".join(_describe(c) for c in node.children) + ")"
    if isinstance(node, Difference):
        return f"({_describe(node.base)} but not {_describe(node.subtract)})"
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


# -- public API -------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class CheckResult:
    """The answer of a Check, with OpenFGA's internal resolution metadata and an explanation.

    ``explanation`` is built on first access from the request's proof (allowed) or by re-walking
    the request's memoized resolution (denied), so a caller that never reads it pays nothing; read
    it before writing to the store again if the denial reasons must reflect the checked state.
    """

    allowed: bool
    object: str
    relation: str
    user: str
    cycle_detected: bool = False
    dispatch_count: int = 0
    _resolver: Any = attrs.field(default=None, eq=False, repr=False, alias="resolver")
    _found: Any = attrs.field(default=None, eq=False, repr=False, alias="found")
    _explanation: Explanation | None = attrs.field(default=None, eq=False, repr=False, alias="explanation")

    @property
    def explanation(self) -> Explanation:
        if self._explanation is None:
            if self._resolver is None:
                expl = Explanation(allowed=self.allowed, object=self.object, relation=self.relation, user=self.user)
            else:
                otype, oid = self.object.split(":", 1)
                expl = build_explanation(self._resolver, self._found, otype=otype, oid=oid, relation=self.relation)
            object.__setattr__(self, "_explanation", expl)
            object.__setattr__(self, "_resolver", None)
        return self._explanation  # type: ignore[return-value]

    def to_json(self) -> dict[str, Any]:
        """The HTTP response body of ``POST /stores/{id}/check``."""
        return {"allowed": self.allowed, "resolution": ""}


def check(compiled: CompiledModel, reader: TupleReader, *, user: str, relation: str, object: str,
          contextual_tuples: Sequence[TupleKey | Mapping[str, Any]] = (),
          context: Mapping[str, Any] | None = None,
          max_depth: int = DEFAULT_RESOLVE_NODE_LIMIT, explain: bool = True) -> CheckResult:
    """Check ``object#relation@user`` against ``reader`` (plus contextual tuples).

    Raises ``ValidationError`` (2000) for a malformed or undefined user/object/relation,
    ``InvalidTuple`` (2027) for a contextual tuple that does not fit the model,
    ``AuthorizationModelResolutionTooComplex`` (2002) past ``max_depth`` dispatches, and
    ``ConditionEvaluationError`` (2000) when a deciding condition cannot be evaluated.
    ``explain=False`` drops the explanation (``result.explanation`` then only states the answer).
    """
    usr = check_request_user(compiled, user)
    otype, oid = check_request_object(compiled, object, relation)
    ctx = check_context(context)
    if contextual_tuples:
        reader = ContextualTupleReader(reader, validate_contextual_tuples(compiled, parse_contextual(contextual_tuples)))
    res = CheckResolver(compiled, reader, usr, context=ctx, max_depth=max_depth)
    found = res.resolve(otype, oid, relation, 0)
    return CheckResult(allowed=bool(found), object=f"{otype}:{oid}", relation=relation, user=res.ustr,
                       cycle_detected=res.cycle_seen, dispatch_count=res.dispatches,
                       resolver=res if explain else None, found=found if explain else None)


def build_explanation(res: CheckResolver, found: Any, *, otype: str, oid: str, relation: str) -> Explanation:
    obj = f"{otype}:{oid}"
    if found:
        path, also = flatten_proof(found)
        return Explanation(allowed=True, object=obj, relation=relation, user=res.ustr, path=tuple(path),
                           also_required=tuple(tuple(b) for b in also), dispatch_count=res.dispatches)
    from protocols.fga.denials import denial_reasons
    reasons = denial_reasons(res, otype=otype, oid=oid, relation=relation)
    return Explanation(allowed=False, object=obj, relation=relation, user=res.ustr, reasons=tuple(reasons),
                       cycle_detected=res.cycle_seen or found is CYCLE, dispatch_count=res.dispatches)


@attrs.frozen(kw_only=True)
class BatchCheckItem:
    """One check of a BatchCheck request, identified by its ``correlation_id``."""

    tuple_key: TupleKey
    correlation_id: str
    contextual_tuples: tuple[TupleKey, ...] = ()
    context: Mapping[str, Any] | None = attrs.field(default=None, eq=False, hash=False)


    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BatchCheckItem:
        """One entry of ``{"checks": [...]}`` in a BatchCheck request body."""
        if not isinstance(data, Mapping):
            raise ValidationError("each check must be an object")
        contextual = data.get("contextual_tuples") or {}
        keys = contextual.get("tuple_keys") or [] if isinstance(contextual, Mapping) else []
        return cls(tuple_key=TupleKey.from_json(data.get("tuple_key") or {}),
                   correlation_id=str(data.get("correlation_id") or ""),
                   contextual_tuples=tuple(TupleKey.from_json(k) for k in keys),
                   context=check_context(data.get("context")))


@attrs.frozen(kw_only=True)
class BatchCheckOutcome:
    """The result of one item: ``allowed`` or the error it raised."""

    correlation_id: str
    allowed: bool = False
    error: FgaError | None = attrs.field(default=None, eq=False)
    explanation: Explanation | None = None

    def to_json(self) -> dict[str, Any]:
        if self.error is not None:
            return {"error": {"input_error" if self.error.status == 400 else "internal_error":
                              self.error.code, "message": self.error.message}}
        return {"allowed": self.allowed}


def batch_check(compiled: CompiledModel, reader: TupleReader, items: Sequence[BatchCheckItem], *,
                max_checks: int = MAX_CHECKS_PER_BATCH, max_depth: int = DEFAULT_RESOLVE_NODE_LIMIT,
                explain: bool = False) -> dict[str, BatchCheckOutcome]:
    """Run every item; per-item failures become outcomes with ``error`` (the batch still succeeds).

    Raises ``ValidationError`` for an empty batch, more than ``max_checks`` items, or a missing /
    duplicate correlation id.
    """
    if not items:
        raise ValidationError("batch check requires at least one check")
    if len(items) > max_checks:
        raise ValidationError(f"batchCheck received {len(items)} checks, the maximum allowed is {max_checks}")
    seen: set[str] = set()
    for item in items:
        if not item.correlation_id:
            raise ValidationError("correlation_id is required")
        if item.correlation_id in seen:
            raise ValidationError(f"duplicate correlation_id: {item.correlation_id}")
        seen.add(item.correlation_id)
    out: dict[str, BatchCheckOutcome] = {}
    for item in items:
        key = item.tuple_key
        try:
            result = check(compiled, reader, user=key.user, relation=key.relation, object=key.object,
                           contextual_tuples=item.contextual_tuples, context=item.context,
                           max_depth=max_depth, explain=explain)
        except FgaError as exc:
            out[item.correlation_id] = BatchCheckOutcome(correlation_id=item.correlation_id, error=exc)
            continue
        out[item.correlation_id] = BatchCheckOutcome(correlation_id=item.correlation_id, allowed=result.allowed,
                                                     explanation=result.explanation if explain else None)
    return out


def batch_check_to_json(outcomes: Mapping[str, BatchCheckOutcome]) -> dict[str, Any]:
    """The BatchCheck response body: ``{"result": {correlation_id: {"allowed"} | {"error"}}}``."""
    return {"result": {cid: outcome.to_json() for cid, outcome in outcomes.items()}}
