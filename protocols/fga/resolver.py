"""The request-scoped resolver of a Check: dispatch depth, cycles, self-defining usersets, the memo.

Semantics of OpenFGA's ``LocalChecker.ResolveCheck`` (``internal/graph/check.go``; reference
``openfga.md`` §5); the rewrites themselves are evaluated by :mod:`protocols.fga.evaluators`:

- every dispatch (tuple-to-userset hop, userset expansion) adds one to the depth — a computed
  relation on the same object does not ("No dispatch here, as we don't want to increase resolution
  depth"); going past the resolve-node limit (25 dispatches) is
  ``authorization_model_resolution_too_complex`` (2002). Both points were measured against OpenFGA
  v1.22 (``fga model test``): a 25-deep nested-group or parent chain checks true, 26 is an error,
  and a 40-deep computed chain checks true;
- a sub-problem ``object#relation`` already on the current path is a *cycle*: it evaluates to
  false and the flag propagates (it is not an error);
- ``type:id#rel`` checked against ``type:id`` / ``rel`` is true (self-defining userset).

Speed: sub-results are memoized for the duration of a request (the user is fixed within a Check,
so the memo key is ``(type, id, relation)``); user kinds that cannot reach a relation exit without
reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from protocols.fga.errors import ResolutionDepthExceeded
from protocols.fga.evaluators import CYCLE, ensure_compiled
from protocols.fga.tuples import TupleReader
from protocols.fga.typesystem import CompiledModel

DEFAULT_RESOLVE_NODE_LIMIT = 25


class CheckResolver:
    """Request-scoped state of one Check (one user): reader, context, memo, current path."""

    __slots__ = ("compiled", "reader", "context", "utype", "uid", "urel", "ustr", "kind", "wildcard",
                 "memo", "path", "max_depth", "dispatches", "cycle_seen", "cycle_memo", "frames")

    def __init__(self, compiled: CompiledModel, reader: TupleReader, user: tuple[str, str, str], *,
                 context: Mapping[str, Any] | None = None, max_depth: int = DEFAULT_RESOLVE_NODE_LIMIT) -> None:
        ensure_compiled(compiled)
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
