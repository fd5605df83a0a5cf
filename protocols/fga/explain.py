"""Explanations of authorization decisions, as frozen values.

An allowed Check is explained by the *path of relations* that granted it — from the checked
``object#relation`` down to the tuple that ended the search, e.g.::

    document:readme#viewer  --viewer from parent-->  folder:docs#viewer  (document:readme#parent@folder:docs)
    folder:docs#viewer      --member from owner-->   org:acme#member     (folder:docs#owner@org:acme)
    org:acme#member         --direct-->              org:acme#member@user:anne

A denied Check is explained by a summary of every top-level branch of the relation and why it did
not grant (no tuple, a condition evaluated false, an exclusion matched, a cycle, ...). OpenFGA keeps
this kind of data internal (``resolution_metadata``); here it is part of the result so that the
audit log can record *why*.
"""

from __future__ import annotations

from typing import Any

import attrs

from protocols.fga.tuples import TupleKey, TupleRecord


@attrs.frozen(kw_only=True)
class Step:
    """One hop of a granting path: ``object#relation`` and how it was satisfied."""

    object: str
    relation: str
    via: str            # direct | wildcard | userset | computed | tuple_to_userset | self | intersection | exclusion
    detail: str = ""    # e.g. the rewrite text ("viewer from parent") or the excluded relation
    tuple: TupleKey | None = None

    def __str__(self) -> str:
        text = f"{self.object}#{self.relation} via {self.via}"
        if self.detail:
            text += f" ({self.detail})"
        if self.tuple is not None:
            text += f" [{self.tuple}]"
        return text

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"object": self.object, "relation": self.relation, "via": self.via}
        if self.detail:
            out["detail"] = self.detail
        if self.tuple is not None:
            out["tuple"] = self.tuple.to_json()
        return out


@attrs.frozen(kw_only=True)
class Explanation:
    """Why a decision came out the way it did."""

    allowed: bool
    object: str
    relation: str
    user: str
    path: tuple[Step, ...] = ()                        # allowed: the granting chain
    also_required: tuple[tuple[Step, ...], ...] = ()   # allowed through an intersection: the other branches
    reasons: tuple[str, ...] = ()                      # denied: one line per top-level branch
    cycle_detected: bool = False
    dispatch_count: int = 0

    @property
    def summary(self) -> str:
        if self.allowed:
            hops = " -> ".join(f"{s.object}#{s.relation}" for s in self.path)
            last = self.path[-1] if self.path else None
            end = f" [{last.tuple}]" if last is not None and last.tuple is not None else ""
            return f"allowed: {self.user} reaches {self.object}#{self.relation} via {hops}{end}"
        why = "; ".join(self.reasons) if self.reasons else "no path grants it"
        return f"denied: {self.user} is not {self.relation} of {self.object}: {why}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"allowed": self.allowed, "object": self.object, "relation": self.relation,
                               "user": self.user, "summary": self.summary}
        if self.path:
            out["path"] = [s.to_json() for s in self.path]
        if self.also_required:
            out["also_required"] = [[s.to_json() for s in chain] for chain in self.also_required]
        if self.reasons:
            out["reasons"] = list(self.reasons)
        if self.cycle_detected:
            out["cycle_detected"] = True
        return out


def _key(rec: TupleRecord) -> TupleKey:
    return rec.to_key()


def flatten_proof(proof: tuple) -> tuple[list[Step], list[list[Step]]]:
    """Turn the engine's proof tree into a granting path plus the other intersection branches."""
    also: list[list[Step]] = []
    path: list[Step] = []
    _flatten(proof, path, also)
    return path, also


def _flatten(proof: tuple, path: list[Step], also: list[list[Step]]) -> None:
    kind = proof[0]
    if kind == "self":
        _, otype, oid, rel = proof
        path.append(Step(object=f"{otype}:{oid}", relation=rel, via="self", detail="the userset itself"))
        return
    if kind == "rel":
        _, otype, oid, rel, inner = proof
        _flatten_inner(f"{otype}:{oid}", rel, inner, path, also)
        return
    raise ValueError(f"unknown proof node {kind!r}")


def _flatten_inner(obj: str, rel: str, inner: tuple, path: list[Step], also: list[list[Step]]) -> None:
    kind = inner[0]
    if kind == "tuple":
        rec = inner[1]
        via = "wildcard" if rec.user_id == "*" else "direct"
        path.append(Step(object=obj, relation=rel, via=via, tuple=_key(rec)))
    elif kind == "userset":
        rec, sub = inner[1], inner[2]
        path.append(Step(object=obj, relation=rel, via="userset", detail=f"{rec.user_type}#{rec.user_relation}",
                         tuple=_key(rec)))
        _flatten(sub, path, also)
    elif kind == "computed":
        sub = inner[1]
        path.append(Step(object=obj, relation=rel, via="computed", detail=sub_relation(sub)))
        _flatten(sub, path, also)
    elif kind == "ttu":
        rec, sub, text = inner[1], inner[2], inner[3]
        path.append(Step(object=obj, relation=rel, via="tuple_to_userset", detail=text, tuple=_key(rec)))
        _flatten(sub, path, also)
    elif kind == "and":
        children = inner[1]
        path.append(Step(object=obj, relation=rel, via="intersection",
                         detail=f"all {len(children)} branches hold"))
        _flatten_inner(obj, rel, children[0], path, also)
        for child in children[1:]:
            branch: list[Step] = []
            _flatten_inner(obj, rel, child, branch, also)
            also.append(branch)
    elif kind == "butnot":
        base, excluded = inner[1], inner[2]
        path.append(Step(object=obj, relation=rel, via="exclusion", detail=f"and not {excluded}"))
        _flatten_inner(obj, rel, base, path, also)
    else:
        raise ValueError(f"unknown proof node {kind!r}")


def sub_relation(proof: tuple) -> str:
    """The relation a ``("self", ...)`` or ``("rel", ...)`` proof node is about."""
    return proof[3]
