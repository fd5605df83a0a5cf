"""Pre- and post-filter helpers: kept and dropped items with reasons, failing closed; URI mapping."""

from __future__ import annotations

import pytest

from protocols.fga import MemoryTupleStore, TupleKey, check, load_model
from protocols.fga.check import BatchCheckOutcome
from protocols.fga.errors import ValidationError
from protocols.fga.rag import (
    Candidate, apply_postfilter, apply_prefilter, candidates_for_uris, object_for_uri, postfilter_items,
    postfilter_local, uri_for_object,
)

FINANCE = """model
  schema 1.1
type user
type division
  relations
    define member: [user]
    define restricted: [user]
type report
  relations
    define division: [division]
    define reader: ([user] or member from division) but not restricted from division
"""
DIVISIONS = ["emea", "americas", "apac"]
TUPLES = [TupleKey(user="user:alice", relation="member", object="division:emea"),
          TupleKey(user="user:bob", relation="member", object="division:americas"),
          TupleKey(user="user:alice", relation="reader", object="report:board-q3"),
          TupleKey(user="user:carol", relation="member", object="division:emea"),
          TupleKey(user="user:carol", relation="restricted", object="division:emea")]
TUPLES += [TupleKey(user=f"division:{d}", relation="division", object=f"report:q3-{d}") for d in DIVISIONS]
# retrieval returns chunks; several chunks may belong to the same report
CHUNKS = [Candidate(id=f"q3-{d}#chunk{n}", object=f"report:q3-{d}") for d in DIVISIONS for n in range(2)]
CHUNKS.append(Candidate(id="board-q3#chunk0", object="report:board-q3"))


@pytest.mark.parametrize(("uri", "obj"), [
    ("crm://contacts/acme-corp", "resource:crm/contacts/acme-corp"),
    ("docs://proposals/templates", "resource:docs/proposals/templates"),
    ("calendar://availability/sales-team", "resource:calendar/availability/sales-team"),
])
def test_resource_uris_map_to_objects_and_back(uri, obj):
    assert object_for_uri(uri) == obj and uri_for_object(obj) == uri


@pytest.mark.parametrize("uri", ["no-scheme", "crm://", "://x", "crm://has space", "crm://a#b", "crm://a:b"])
def test_unmappable_uris_are_refused(uri):
    with pytest.raises(ValueError):
        object_for_uri(uri)


def test_prefilter_keeps_listed_objects_in_order_and_explains_the_rest():
    result = apply_prefilter(CHUNKS, allowed_objects={"report:q3-emea", "report:board-q3"}, user="user:alice",
                             relation="reader")
    assert result.kept_ids == ("q3-emea#chunk0", "q3-emea#chunk1", "board-q3#chunk0")
    assert set(result.dropped_ids) == {c.id for c in CHUNKS} - set(result.kept_ids)
    assert all("not among the report objects user:alice has reader on" in d.reason for d in result.dropped)
    failed = apply_prefilter(CHUNKS, allowed_objects={"report:q3-emea"}, user="user:alice", relation="reader",
                             failed_types={"report": "type_not_found: type 'report' not found"})
    assert failed.kept == () and all("fails closed" in d.reason for d in failed.dropped)


def test_postfilter_checks_each_object_once_and_fails_closed():
    items = postfilter_items(CHUNKS, user="user:alice", relation="reader")
    assert [i.tuple_key.object for i in items] == ["report:q3-emea", "report:q3-americas", "report:q3-apac",
                                                   "report:board-q3"]
    assert [i.correlation_id for i in items] == ["0", "1", "2", "3"]
    outcomes = {"0": BatchCheckOutcome(correlation_id="0", allowed=True),
                "1": BatchCheckOutcome(correlation_id="1", allowed=False),
                "2": BatchCheckOutcome(correlation_id="2", error=ValidationError("boom"))}
    result = apply_postfilter(CHUNKS, items=items, outcomes=outcomes, user="user:alice", relation="reader")
    assert result.kept_ids == ("q3-emea#chunk0", "q3-emea#chunk1")
    reasons = {d.candidate.object: d.reason for d in result.dropped}
    assert reasons["report:q3-americas"] == "denied: user:alice is not reader of report:q3-americas"
    assert reasons["report:q3-apac"].startswith("check failed (validation_error: boom)")
    assert reasons["report:board-q3"].startswith("no decision")


def test_local_postfilter_matches_check_and_uses_the_engines_reasons():
    model, store = load_model(FINANCE), MemoryTupleStore(TUPLES)
    for user in ("user:alice", "user:bob", "user:carol", "user:dave"):
        result = postfilter_local(model, store, candidates=CHUNKS, user=user, relation="reader")
        truth = {c.id for c in CHUNKS if check(model, store, user=user, relation="reader", object=c.object).allowed}
        assert set(result.kept_ids) == truth and set(result.dropped_ids) == {c.id for c in CHUNKS} - truth
    alice = postfilter_local(model, store, candidates=CHUNKS, user="user:alice", relation="reader")
    assert alice.kept_ids == ("q3-emea#chunk0", "q3-emea#chunk1", "board-q3#chunk0")
    carol = postfilter_local(model, store, candidates=CHUNKS, user="user:carol", relation="reader")
    assert carol.kept == ()
    assert any("but not restricted from division" in d.reason for d in carol.dropped)
    assert carol.to_json()["dropped"][0]["id"] == "q3-emea#chunk0"


def test_candidates_for_uris():
    assert candidates_for_uris(["crm://contacts/acme-corp"]) == [
        Candidate(id="crm://contacts/acme-corp", object="resource:crm/contacts/acme-corp")]
