"""Why a Check was denied: one line per top-level branch of the checked relation.

Re-evaluates each top-level operand of the relation's rewrite with the request's resolver (the
memo is warm, so this costs little) and describes its outcome: no matching tuple, no parent granting
the relation, an exclusion that matched (with the tuple that excluded), a cycle, or an error.
"""

from __future__ import annotations

from typing import Any

from protocols.fga.errors import FgaError
from protocols.fga.explain import flatten_proof
from protocols.fga.model import ComputedUserset, Difference, Intersection, Rewrite, This, TupleToUserset, Union


def denial_reasons(res: Any, *, otype: str, oid: str, relation: str) -> list[str]:
    from protocols.fga.check import CYCLE, _compile, _describe

    compiled = res.compiled
    info = compiled.relations[(otype, relation)]
    obj = f"{otype}:{oid}"
    if res.kind not in compiled.can_reach[(otype, relation)]:
        return [f"the model has no path from {res.kind[0]}{':*' if res.kind[1] == '*' else ''}"
                f"{'#' + res.kind[1] if res.kind[1] not in ('', '*') else ''} users to {otype}#{relation}"]

    def outcome(node: Rewrite) -> tuple[Any, FgaError | None]:
        try:
            return _compile(compiled, info, node)(res, oid, 0), None
        except FgaError as exc:
            return None, exc

    def describe_false(node: Rewrite, found: Any, err: FgaError | None) -> str:
        label = _describe(node)
        if err is not None:
            return f"{label}: could not be evaluated ({err.message})"
        if found is CYCLE:
            return f"{label}: cycle detected"
        if isinstance(node, This):
            refs = ", ".join(str(r) for r in info.relation.directly_related_user_types)
            return f"[{refs}]: no tuple {obj}#{relation} grants {res.ustr}"
        if isinstance(node, ComputedUserset):
            return f"{label}: {res.ustr} is not {node.relation} of {obj}"
        if isinstance(node, TupleToUserset):
            parents = [r.user for r in res.reader.read(otype, oid, node.tupleset)]
            if not parents:
                return f"{label}: {obj} has no {node.tupleset}"
            shown = ", ".join(parents[:5]) + (", ..." if len(parents) > 5 else "")
            return f"{label}: no {node.tupleset} of {obj} ({shown}) grants {node.computed_relation}"
        return f"{label}: not satisfied"

    rw = info.rewrite
    reasons: list[str] = []
    if isinstance(rw, Union):
        for child in rw.children:
            found, err = outcome(child)
            reasons.append(describe_false(child, found, err))
    elif isinstance(rw, Intersection):
        for child in rw.children:
            found, err = outcome(child)
            if not found:
                reasons.append("all of " + _describe(rw) + " are required; " + describe_false(child, found, err))
                break
    elif isinstance(rw, Difference):
        base, base_err = outcome(rw.base)
        if not base:
            reasons.append(describe_false(rw.base, base, base_err))
        else:
            sub, sub_err = outcome(rw.subtract)
            if sub:
                path, _ = flatten_proof(("rel", otype, oid, relation, sub))
                last = path[-1] if path else None
                by = f" ({last.tuple})" if last is not None and last.tuple is not None else ""
                reasons.append(f"granted by {_describe(rw.base)} but excluded by 'but not {_describe(rw.subtract)}'{by}")
            elif sub is CYCLE:
                reasons.append(f"granted by {_describe(rw.base)} but 'but not {_describe(rw.subtract)}' "
                               "met a cycle")
            elif sub_err is not None:
                reasons.append(f"'but not {_describe(rw.subtract)}' could not be evaluated ({sub_err.message})")
    else:
        found, err = outcome(rw)
        reasons.append(describe_false(rw, found, err))
    return reasons or ["no path grants it"]
