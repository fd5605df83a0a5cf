"""Check and BatchCheck: is ``user`` related to ``object`` by ``relation``?

The request level of OpenFGA's Check and BatchCheck (reference ``openfga.md`` §5): validate the
request, layer its contextual tuples over the reader, resolve with a
:class:`~protocols.fga.resolver.CheckResolver` (depth, cycles, memo) over the evaluators of
:mod:`protocols.fga.evaluators` (direct, userset, tuple-to-userset, union, intersection, exclusion,
conditions), and explain the answer. BatchCheck takes up to 50 checks
(``DefaultMaxChecksPerBatchCheck``), each with a client correlation id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from protocols.fga.denials import denial_reasons
from protocols.fga.errors import FgaError, ValidationError
from protocols.fga.evaluators import CYCLE
from protocols.fga.explain import Explanation, flatten_proof
from protocols.fga.resolver import DEFAULT_RESOLVE_NODE_LIMIT, CheckResolver
from protocols.fga.tuples import ContextualTupleReader, TupleKey, TupleReader
from protocols.fga.typesystem import CompiledModel
from protocols.fga.validation import (
    check_context, check_request_object, check_request_user, parse_contextual, validate_contextual_tuples,
)

MAX_CHECKS_PER_BATCH = 50


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
