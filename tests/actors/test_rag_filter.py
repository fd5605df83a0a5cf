"""RAG filtering through the FGA service over both transports: the pre-filter (ListObjects) and the
post-filter (BatchCheck) keep exactly what Check allows, drop the rest with reasons, and the service
audits them at a sane volume."""

from __future__ import annotations

import pytest

from actors.rag_filter import Candidate, candidates_for_uris, postfilter, prefilter
from actors.runtime.network import Transport
from protocols.fga import MemoryTupleStore, TupleKey, check, load_model
from tests.actors.fga_helpers import loaded_store, running_service

MODEL = """model
  schema 1.1
type user
type division
  relations
    define member: [user]
type report
  relations
    define division: [division]
    define reader: [user] or member from division
type resource
  relations
    define viewer: [user]
"""
DIVISIONS = [f"d{n}" for n in range(8)]
REPORTS = [f"report:{d}-{k}" for d in DIVISIONS for k in range(10)]  # 80 distinct objects: 2 BatchCheck calls
TUPLES = ([TupleKey(user="user:alice", relation="member", object="division:d3"),
           TupleKey(user="user:alice", relation="reader", object="report:d5-7")]
          + [TupleKey(user=f"division:{r.split(':')[1].split('-')[0]}", relation="division", object=r)
             for r in REPORTS]
          + [TupleKey(user="user:alice", relation="viewer", object="resource:crm/contacts/acme-corp")])
CANDIDATES = [Candidate(id=f"{r}#chunk{n}", object=r) for r in REPORTS for n in range(2)]

TRANSPORTS = pytest.mark.parametrize("transport", list(Transport), ids=lambda t: t.value)


def truth(user: str) -> set[str]:
    model, store = load_model(MODEL), MemoryTupleStore(TUPLES)
    return {c.id for c in CANDIDATES if check(model, store, user=user, relation="reader", object=c.object).allowed}


@TRANSPORTS
async def test_pre_and_post_filters_keep_exactly_what_check_allows(transport):
    async with running_service(transport) as svc:
        client = await loaded_store(svc, model=MODEL, tuples=[])
        for start in range(0, len(TUPLES), 100):
            await client.write(writes=TUPLES[start:start + 100])
        expected = truth("user:alice")
        assert len(expected) == 22  # division d3's 10 reports + report d5-7, two chunks each
        before = len(svc.audit())
        pre = await prefilter(client, user="user:alice", relation="reader", candidates=CANDIDATES)
        assert len(svc.audit()) - before == 1  # one ListObjects call, one audit entry
        before = len(svc.audit())
        post = await postfilter(client, user="user:alice", relation="reader", candidates=CANDIDATES)
        assert len(svc.audit()) - before == len(REPORTS)  # one decision per distinct object, not per chunk
        for result, mode in ((pre, "pre-filter"), (post, "post-filter")):
            assert result.mode == mode and set(result.kept_ids) == expected
            assert set(result.dropped_ids) == {c.id for c in CANDIDATES} - expected
            assert all(d.reason for d in result.dropped)
            assert list(result.kept_ids) == [c.id for c in CANDIDATES if c.id in expected]  # retrieval order kept
        nobody = await postfilter(client, user="user:mallory", relation="reader", candidates=CANDIDATES)
        assert nobody.kept == () and len(nobody.dropped) == len(CANDIDATES)


@TRANSPORTS
async def test_filters_fail_closed_on_errors(transport):
    async with running_service(transport) as svc:
        client = await loaded_store(svc, model=MODEL, tuples=TUPLES[:2])
        odd = [Candidate(id="x", object="spaceship:enterprise"), Candidate(id="y", object="report:d3-0")]
        await client.write(writes=[TupleKey(user="division:d3", relation="division", object="report:d3-0")])
        post = await postfilter(client, user="user:alice", relation="reader", candidates=odd)
        assert post.kept_ids == ("y",)
        assert post.dropped[0].reason.startswith("check failed (validation_error")
        pre = await prefilter(client, user="user:alice", relation="reader", candidates=odd)
        assert pre.kept_ids == ("y",) and "type_not_found" in pre.dropped[0].reason


@TRANSPORTS
async def test_mcp_resource_lists_filter_by_uri(transport):
    async with running_service(transport) as svc:
        client = await loaded_store(svc, model=MODEL, tuples=TUPLES[-1:])
        listed = candidates_for_uris(["crm://contacts/acme-corp", "pricing://executive-discounts"])
        result = await postfilter(client, user="user:alice", relation="viewer", candidates=listed)
        assert result.kept_ids == ("crm://contacts/acme-corp",)
        assert result.dropped_ids == ("pricing://executive-discounts",)
