"""Authorization filtering of retrieval results and resource lists, before anything reaches an agent.

SPEC.md capability 5: enforcement happens *before* data enters the agent's context — for vector
retrieval (RAG) and for MCP resource lists alike. Two placements, both from OpenFGA's guidance on
search ("Search with permissions", openfga.dev):

- **pre-filter** — ask ListObjects(user, relation, type) which objects the user may see, restrict the
  candidate ids to those, then retrieve. Cheap when the permitted set is small. ListObjects stops at
  ``listObjectsMaxResults`` (1000) without telling the client, so past that many permitted objects a
  pre-filter drops items that were in fact allowed (it fails closed; use the post-filter there).
- **post-filter** — retrieve first, then decide every retrieved candidate with BatchCheck (one
  check per distinct object) and drop what is denied. Exact whatever the permitted set's size; a
  candidate whose check failed (error) is dropped too (fails closed).

Both return a :class:`FilterResult`: what was kept and what was dropped, each drop with its reason.
The functions here are pure: they build the requests and interpret the answers; the actor-level
``actors.rag_filter`` sends them to the FGA service, and :func:`postfilter_local` runs the engine
directly (with the engine's explanation as reason).

Resource URIs such as ``crm://contacts/acme-corp`` are not valid object ids (``:`` is not allowed);
:func:`object_for_uri` maps them to ``resource:crm/contacts/acme-corp`` and :func:`uri_for_object`
back.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import attrs

from protocols.fga.check import BatchCheckItem, BatchCheckOutcome, batch_check
from protocols.fga.tuples import TupleKey, TupleReader, is_valid_object_id
from protocols.fga.typesystem import CompiledModel

RESOURCE_TYPE = "resource"


@attrs.frozen(kw_only=True)
class Candidate:
    """An item that may reach the agent: the retrieval system's ``id`` and the FGA ``object`` guarding it."""

    id: str
    object: str

    @property
    def object_type(self) -> str:
        return self.object.partition(":")[0]


@attrs.frozen(kw_only=True)
class Dropped:
    candidate: Candidate
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"id": self.candidate.id, "object": self.candidate.object, "reason": self.reason}


@attrs.frozen(kw_only=True)
class FilterResult:
    """The outcome of a filter: ``kept`` in the input order, ``dropped`` with reasons."""

    mode: str
    user: str
    relation: str
    kept: tuple[Candidate, ...] = ()
    dropped: tuple[Dropped, ...] = ()

    @property
    def kept_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.kept)

    @property
    def dropped_ids(self) -> tuple[str, ...]:
        return tuple(d.candidate.id for d in self.dropped)

    def to_json(self) -> dict[str, Any]:
        return {"mode": self.mode, "user": self.user, "relation": self.relation,
                "kept": [{"id": c.id, "object": c.object} for c in self.kept],
                "dropped": [d.to_json() for d in self.dropped]}


# -- resource URIs ------------------------------------------------------------------------------------


def object_for_uri(uri: str, *, type: str = RESOURCE_TYPE) -> str:
    """``crm://contacts/acme-corp`` → ``resource:crm/contacts/acme-corp``; ``ValueError`` if unmappable."""
    scheme, sep, rest = uri.partition("://")
    if not sep or not scheme or not rest:
        raise ValueError(f"not a scheme://path resource URI: {uri!r}")
    object_id = f"{scheme}/{rest}"
    if not is_valid_object_id(object_id):
        raise ValueError(f"resource URI {uri!r} does not map to a valid object id")
    return f"{type}:{object_id}"


def uri_for_object(obj: str) -> str:
    """``resource:crm/contacts/acme-corp`` → ``crm://contacts/acme-corp``."""
    _, _, object_id = obj.partition(":")
    scheme, sep, rest = object_id.partition("/")
    if not sep:
        raise ValueError(f"object {obj!r} does not encode a resource URI")
    return f"{scheme}://{rest}"


def candidates_for_uris(uris: Sequence[str], *, type: str = RESOURCE_TYPE) -> list[Candidate]:
    return [Candidate(id=uri, object=object_for_uri(uri, type=type)) for uri in uris]


# -- pre-filter ---------------------------------------------------------------------------------------


def prefilter_types(candidates: Sequence[Candidate]) -> list[str]:
    """The object types to ask ListObjects about, in a stable order."""
    return sorted({c.object_type for c in candidates})


def apply_prefilter(candidates: Sequence[Candidate], *, allowed_objects: Collection[str], user: str,
                    relation: str, failed_types: Mapping[str, str] | None = None) -> FilterResult:
    """Keep the candidates whose object ListObjects returned for ``user`` / ``relation``.

    ``failed_types`` maps an object type whose ListObjects call failed to the error; its candidates
    are dropped with that reason (fails closed).
    """
    allowed = set(allowed_objects)
    failed = dict(failed_types or {})
    kept, dropped = [], []
    for c in candidates:
        if c.object_type in failed:
            dropped.append(Dropped(candidate=c, reason=f"ListObjects failed ({failed[c.object_type]}); fails closed"))
        elif c.object in allowed:
            kept.append(c)
        else:
            dropped.append(Dropped(candidate=c, reason=f"{c.object} is not among the {c.object_type} objects "
                                                       f"{user} has {relation} on (ListObjects)"))
    return FilterResult(mode="pre-filter", user=user, relation=relation, kept=tuple(kept), dropped=tuple(dropped))


# -- post-filter --------------------------------------------------------------------------------------


def postfilter_items(candidates: Sequence[Candidate], *, user: str, relation: str,
                     contextual_tuples: Sequence[TupleKey] = (),
                     context: Mapping[str, Any] | None = None) -> list[BatchCheckItem]:
    """One BatchCheck item per distinct object; the correlation id is the object's index."""
    objects = list(dict.fromkeys(c.object for c in candidates))
    return [BatchCheckItem(tuple_key=TupleKey(user=user, relation=relation, object=obj), correlation_id=str(i),
                           contextual_tuples=tuple(contextual_tuples), context=context)
            for i, obj in enumerate(objects)]


def apply_postfilter(candidates: Sequence[Candidate], *, items: Sequence[BatchCheckItem],
                     outcomes: Mapping[str, BatchCheckOutcome], user: str, relation: str) -> FilterResult:
    """Keep the candidates whose object's check was allowed; errors and missing answers drop them."""
    by_object = {item.tuple_key.object: outcomes.get(item.correlation_id) for item in items}
    kept, dropped = [], []
    for c in candidates:
        outcome = by_object.get(c.object)
        if outcome is None:
            dropped.append(Dropped(candidate=c, reason=f"no decision for {c.object} (fails closed)"))
        elif outcome.error is not None:
            dropped.append(Dropped(candidate=c, reason=f"check failed ({outcome.error.code}: "
                                                       f"{outcome.error.message}); fails closed"))
        elif outcome.allowed:
            kept.append(c)
        else:
            why = outcome.explanation.summary if outcome.explanation is not None else \
                f"denied: {user} is not {relation} of {c.object}"
            dropped.append(Dropped(candidate=c, reason=why))
    return FilterResult(mode="post-filter", user=user, relation=relation, kept=tuple(kept), dropped=tuple(dropped))


def postfilter_local(compiled: CompiledModel, reader: TupleReader, *, candidates: Sequence[Candidate], user: str,
                     relation: str, contextual_tuples: Sequence[TupleKey] = (),
                     context: Mapping[str, Any] | None = None) -> FilterResult:
    """The post-filter against the engine in-process; reasons are the engine's explanations."""
    items = postfilter_items(candidates, user=user, relation=relation, contextual_tuples=contextual_tuples,
                             context=context)
    outcomes: dict[str, BatchCheckOutcome] = {}
    for start in range(0, len(items), 50):
        outcomes.update(batch_check(compiled, reader, items[start:start + 50], explain=True))
    return apply_postfilter(candidates, items=items, outcomes=outcomes, user=user, relation=relation)
