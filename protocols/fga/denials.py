"""Why a Check was denied: one line per top-level branch of the checked relation.

Re-evaluates each top-level operand of the relation's rewrite with the request's resolver (the
memo is warm, so this costs little) and describes its outcome: no matching tuple, no parent granting
the relation, an exclusion that matched (with the tuple that excluded), a cycle, or an error.
"""

from __future__ import annotations

from typing import Any

from protocols.fga.errors import FgaError
from protocols.fga.evaluators import CYCLE, compile_rewrite, describe_rewrite
from protocols.fga.explain import flatten_proof
from protocols.fga.model import ComputedUserset, Difference, Intersection, Rewrite, This, TupleToUserset, Union


def denial_reasons(res: Any, *, otype: str, oid: str, relation: str) -> list[str]:
    compiled = res.compiled
    info = compiled.relations[(otype, relation)]
    obj = f"{otype}:{oid}"
    if res.kind not in compiled.can_reach[(otype, relation)]:
        return [f"the model has no path from {res.kind[0]}{':*' if res.kind[1] == '*' else ''}"
                f"{'#' + res.kind[1] if res.kind[1] not in ('', '*') else ''} users to {otype}#{relation}"]

    def outcome(node: Rewrite) -> tuple[Any, FgaError | None]:
        try:
            return compile_rewrite(compiled, info, node)(res, oid, 0), None
        except FgaError as exc:
            return None, exc

    def describe_false(node: Rewrite, found: Any, err: FgaError | None) -> str:
        label = describe_rewrite(node)
        if err is not None:
            return f"{label}: could not be evaluated ({err.message})"
        if found is CYCLE:
            return f"{label}: cycle detected"
        if isinstance(node, This):
            return _describe_direct(res, info, otype, oid, relation)
        if isinstance(node, ComputedUserset):
            return f"{label}: {res.ustr} is not {node.relation} of {obj}"
        if isinstance(node, TupleToUserset):
            parents = [r.user for r in res.reader.read(otype, oid, node.tupleset)]
            if not parents:
                return f"{label}: {obj} has no {node.tupleset}"
            shown = ", ".join(parents[:5]) + (", ..." if len(parents) > 5 else "")
            return f"{label}: no {node.tupleset} of {obj} ({shown}) grants {node.computed_relation}"
        return f"{label}: not satisfied"

    def explain(node: Rewrite) -> list[str]:
        if isinstance(node, Union):
            return [line for child in node.children for line in explain(child)]
        if isinstance(node, Intersection):
            for child in node.children:
                found, err = outcome(child)
                if not found:
                    return ["all of " + describe_rewrite(node) + " are required; " + line for line in explain(child)]
            return [f"{describe_rewrite(node)}: not satisfied"]
        if isinstance(node, Difference):
            base, base_err = outcome(node.base)
            if not base:
                return explain(node.base)
            sub, sub_err = outcome(node.subtract)
            if sub:
                path, _ = flatten_proof(("rel", otype, oid, relation, sub))
                last = path[-1] if path else None
                by = f" ({last.tuple})" if last is not None and last.tuple is not None else ""
                return [f"granted by {describe_rewrite(node.base)} but excluded by "
                        f"'but not {describe_rewrite(node.subtract)}'{by}"]
            if sub is CYCLE:
                return [f"granted by {describe_rewrite(node.base)} but "
                        f"'but not {describe_rewrite(node.subtract)}' met a cycle"]
            if sub_err is not None:
                return [f"'but not {describe_rewrite(node.subtract)}' could not be evaluated ({sub_err.message})"]
            if base_err is not None:
                return [f"{describe_rewrite(node.base)}: could not be evaluated ({base_err.message})"]
            return [f"{describe_rewrite(node)}: not satisfied"]
        found, err = outcome(node)
        return [describe_false(node, found, err)]

    reasons = explain(info.rewrite)
    return reasons or ["no path grants it"]


def _describe_direct(res: Any, info: Any, otype: str, oid: str, relation: str) -> str:
    """Why the direct assignment ``[...]`` of ``otype:oid#relation`` did not grant the user."""
    refs = ", ".join(str(r) for r in info.relation.directly_related_user_types)
    obj = f"{otype}:{oid}"
    notes: list[str] = []
    candidates = [res.ustr] + ([res.wildcard] if res.wildcard is not None else [])
    for user in candidates:
        rec = res.reader.read_user(otype, oid, relation, user)
        if rec is None:
            continue
        if not info.admits(rec):
            notes.append(f"tuple {rec} no longer fits the model and is ignored")
        elif rec.condition:
            notes.append(f"tuple {rec} exists but its condition '{rec.condition}' is not met")
    usersets = [r.user for r in res.reader.read_usersets(otype, oid, relation) if info.admits(r)]
    if usersets:
        shown = ", ".join(usersets[:5]) + (", ..." if len(usersets) > 5 else "")
        notes.append(f"{len(usersets)} userset(s) checked ({shown}), none includes {res.ustr}")
    if not notes:
        notes.append(f"no tuple {obj}#{relation}@{res.ustr}")
    return f"[{refs}]: " + "; ".join(notes)
