"""Authorization filters for retrieval and resource lists, over the FGA service (SPEC.md capability 5).

The async counterparts of ``protocols.fga.rag``: :func:`prefilter` asks ListObjects once per object
type among the candidates and keeps what it returned; :func:`postfilter` asks BatchCheck (chunks of
50) about every distinct object and keeps what was allowed. Both return a ``FilterResult`` (kept,
dropped with reasons) and fail closed: a check or a ListObjects call that answered an error drops
its candidates (an unreachable service raises ``Unreachable``). Every decision is
audited by the FGA service itself (``authz.allowed`` / ``authz.denied``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from actors.fga_client import FgaClient
from protocols.fga.rag import (
    Candidate, FilterResult, apply_postfilter, apply_prefilter, candidates_for_uris, object_for_uri,
    postfilter_items, prefilter_types, uri_for_object,
)
from protocols.fga.errors import FgaError
from protocols.fga.tuples import TupleKey

__all__ = ["Candidate", "FilterResult", "candidates_for_uris", "object_for_uri", "postfilter", "prefilter",
           "uri_for_object"]


async def prefilter(client: FgaClient, *, user: str, relation: str, candidates: Sequence[Candidate],
                    contextual_tuples: Sequence[TupleKey] = (),
                    context: Mapping[str, Any] | None = None) -> FilterResult:
    """Restrict ``candidates`` to the objects ListObjects returns for ``user`` / ``relation``."""
    allowed: set[str] = set()
    failed: dict[str, str] = {}
    for object_type in prefilter_types(candidates):
        try:
            allowed.update(await client.list_objects(type=object_type, relation=relation, user=user,
                                                     contextual_tuples=contextual_tuples, context=context))
        except FgaError as error:
            failed[object_type] = f"{error.code}: {error.message}"
    return apply_prefilter(candidates, allowed_objects=allowed, user=user, relation=relation, failed_types=failed)


async def postfilter(client: FgaClient, *, user: str, relation: str, candidates: Sequence[Candidate],
                     contextual_tuples: Sequence[TupleKey] = (),
                     context: Mapping[str, Any] | None = None) -> FilterResult:
    """Drop the retrieved ``candidates`` that BatchCheck does not allow for ``user`` / ``relation``."""
    items = postfilter_items(candidates, user=user, relation=relation, contextual_tuples=contextual_tuples,
                             context=context)
    outcomes = await client.batch_check(items) if items else {}
    return apply_postfilter(candidates, items=items, outcomes=outcomes, user=user, relation=relation)
