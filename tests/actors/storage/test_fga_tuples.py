"""The SQLite tuple store behaves exactly like the in-memory one (same tests, both stores)."""

from __future__ import annotations

import itertools
import random
import sqlite3

import pytest

from actors.storage.fga_tuples import SqliteTupleStore, connect
from protocols.fga import (
    MemoryTupleStore, RelationshipCondition, TupleKey, check, list_objects, list_users,
)
from protocols.fga.errors import WriteFailedDueToInvalidInput
from protocols.fga.language import load_model
from protocols.fga.tuples import ContextualTupleReader, TupleReader, TupleStore, record_from_key
from tests.protocols.fga.conformance_data import OPENFGA, require, yaml_or_empty
from tests.protocols.fga.server_harness import run_test

_ids = itertools.count()


def key(user: str, relation: str, obj: str, **kw) -> TupleKey:
    return TupleKey(user=user, relation=relation, object=obj, **kw)


@pytest.fixture(params=["memory", "sqlite"])
def make_store(request):
    conn = connect(":memory:") if request.param == "sqlite" else None

    def factory():
        if conn is None:
            return MemoryTupleStore()
        return SqliteTupleStore(conn, f"store-{next(_ids)}")

    yield factory
    if conn is not None:
        conn.close()


SAMPLE = [
    key("user:anne", "viewer", "doc:1"),
    key("user:bob", "viewer", "doc:1"),
    key("user:*", "viewer", "doc:2"),
    key("group:eng#member", "viewer", "doc:1"),
    key("group:ops#member", "viewer", "doc:2"),
    key("user:anne", "member", "group:eng"),
    key("folder:a", "parent", "doc:1"),
    key("user:carol", "editor", "doc:1", condition=RelationshipCondition.of("c", {"x": 1, "tags": ["a"]})),
]


def _users(records) -> list[str]:
    return sorted(r.user for r in records)


def test_store_implements_the_protocols(make_store) -> None:
    store = make_store()
    assert isinstance(store, TupleReader)
    assert isinstance(store, TupleStore) or hasattr(store, "write")


def test_indexed_reads(make_store) -> None:
    store = make_store()
    store.write(SAMPLE)
    assert store.count() == len(SAMPLE)
    assert _users(store.read("doc", "1", "viewer")) == ["group:eng#member", "user:anne", "user:bob"]
    assert store.read_user("doc", "1", "viewer", "user:anne") == record_from_key(SAMPLE[0])
    assert store.read_user("doc", "1", "viewer", "user:zed") is None
    assert _users(store.read_usersets("doc", "1", "viewer")) == ["group:eng#member"]
    assert sorted(r.object_id for r in store.read_by_user("doc", "viewer", "user:anne")) == ["1"]
    assert sorted(r.object for r in store.read_by_users("doc", "viewer", ["user:*", "group:ops#member"])) == [
        "doc:2", "doc:2"]
    assert list(store.read("doc", "9", "viewer")) == []
    carol = store.read_user("doc", "1", "editor", "user:carol")
    assert carol is not None and carol.condition == "c" and carol.context == {"x": 1, "tags": ["a"]}
    assert carol.to_key() == SAMPLE[-1]


def test_read_matching_filters(make_store) -> None:
    store = make_store()
    store.write(SAMPLE)
    assert len(store.read_matching()) == len(SAMPLE)
    assert [str(r) for r in store.read_matching(object_type="group")] == ["group:eng#member@user:anne"]
    assert len(store.read_matching(object_type="doc", object_id="1")) == 5
    assert [str(r) for r in store.read_matching(relation="viewer", user="user:*")] == ["doc:2#viewer@user:*"]


def test_write_rules_and_atomicity(make_store) -> None:
    store = make_store()
    store.write(SAMPLE[:2])
    with pytest.raises(WriteFailedDueToInvalidInput):
        store.write([SAMPLE[2], SAMPLE[0]])          # second key exists: nothing of this write applies
    assert store.count() == 2 and store.read_user("doc", "2", "viewer", "user:*") is None
    with pytest.raises(WriteFailedDueToInvalidInput):
        store.write([SAMPLE[2]], deletes=[key("user:zed", "viewer", "doc:1")])
    assert store.count() == 2
    store.write([SAMPLE[0], SAMPLE[2]], on_duplicate="ignore")
    assert store.count() == 3
    store.write(deletes=[SAMPLE[0]], writes=[SAMPLE[0]])  # delete then re-write in one request
    assert store.count() == 3
    store.write(deletes=[SAMPLE[0], key("user:zed", "viewer", "doc:1")], on_missing="ignore")
    assert store.count() == 2 and store.read_user("doc", "1", "viewer", "user:anne") is None
    changed = key("user:bob", "viewer", "doc:1", condition=RelationshipCondition.of("c"))
    with pytest.raises(WriteFailedDueToInvalidInput):
        store.write([changed], on_duplicate="ignore")  # same key, different condition: still a conflict


def test_contextual_overlay_reads_both(make_store) -> None:
    store = make_store()
    store.write(SAMPLE[:2])
    overlay = ContextualTupleReader(store, [record_from_key(key("user:dan", "viewer", "doc:1"))])
    assert _users(overlay.read("doc", "1", "viewer")) == ["user:anne", "user:bob", "user:dan"]
    assert overlay.read_user("doc", "1", "viewer", "user:dan") is not None
    assert sorted(r.object for r in overlay.read_by_users("doc", "viewer", ["user:dan", "user:bob"])) == [
        "doc:1", "doc:1"]


def test_sqlite_stores_share_one_database_without_mixing(tmp_path) -> None:
    path = tmp_path / "fga.sqlite3"
    a = SqliteTupleStore.open(path, "A")
    b = SqliteTupleStore(a.conn, "B")
    a.write(SAMPLE[:3])
    b.write([SAMPLE[0]])
    assert a.count() == 3 and b.count() == 1
    assert b.read_user("doc", "1", "viewer", "user:bob") is None
    b.delete_store()
    assert b.count() == 0 and a.count() == 3
    a.conn.close()
    reopened = SqliteTupleStore.open(path, "A")            # acknowledged writes survive a reconnect
    assert reopened.count() == 3
    reopened.conn.close()


def test_sqlite_reads_use_the_indexes() -> None:
    conn = connect(":memory:")
    plans = {
        "point": "SELECT * FROM fga_tuple WHERE store=? AND object_type=? AND object_id=? AND relation=? AND user=?",
        "object": "SELECT * FROM fga_tuple WHERE store=? AND object_type=? AND object_id=? AND relation=?",
        "by_user": "SELECT * FROM fga_tuple INDEXED BY fga_tuple_by_user WHERE store=? AND object_type=? "
                   "AND relation=? AND user=?",
        "usersets": "SELECT * FROM fga_tuple INDEXED BY fga_tuple_usersets WHERE store=? AND object_type=? "
                    "AND object_id=? AND relation=? AND user_relation != ''",
    }
    for name, sql in plans.items():
        n = sql.count("?")
        detail = " ".join(row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, ("x",) * n))
        assert "SCAN" not in detail.replace("SCAN CONSTANT", ""), (name, detail)
        assert "INDEX" in detail or "PRIMARY KEY" in detail, (name, detail)


def test_sqlite_write_is_one_transaction() -> None:
    conn = connect(":memory:")
    store = SqliteTupleStore(conn, "s")
    with pytest.raises(WriteFailedDueToInvalidInput):
        store.write([key(f"user:{i}", "viewer", "doc:1") for i in range(10)] + [key("user:3", "viewer", "doc:1")])
    assert store.count() == 0
    assert not conn.in_transaction
    with pytest.raises(sqlite3.ProgrammingError):
        conn.close()
        store.count()


# -- engine parity ---------------------------------------------------------------------------------

MODEL = """model
  schema 1.1
type user
type group
  relations
    define member: [user, user:*, group#member]
type folder
  relations
    define parent: [folder]
    define owner: [user, group#member]
    define viewer: [user, group#member] or owner or viewer from parent
type doc
  relations
    define parent: [folder]
    define blocked: [user]
    define editor: [user, group#member] and viewer
    define viewer: ([user, user:*, group#member] or viewer from parent) but not blocked
"""


def _random_tuples(rng: random.Random) -> list[TupleKey]:
    out = set()
    for _ in range(400):
        kind = rng.randrange(6)
        u = f"user:u{rng.randrange(15)}"
        g = f"group:g{rng.randrange(6)}"
        f = f"folder:f{rng.randrange(10)}"
        d = f"doc:d{rng.randrange(20)}"
        choice = [
            (u if rng.random() < 0.8 else (g + "#member")), "member", g] if kind == 0 else \
            [f"folder:f{rng.randrange(10)}", "parent", f] if kind == 1 else \
            [rng.choice([u, g + "#member"]), rng.choice(["owner", "viewer"]), f] if kind == 2 else \
            [f, "parent", d] if kind == 3 else \
            [rng.choice([u, "user:*", g + "#member"]), rng.choice(["viewer", "editor"]), d] if kind == 4 else \
            [u, "blocked", d]
        if choice[1] == "editor" and choice[0] == "user:*":
            continue
        out.add(tuple(choice))
    return [key(*t) for t in sorted(out)]


def test_engine_answers_match_on_both_stores() -> None:
    model = load_model(MODEL)
    rng = random.Random(7)
    keys = _random_tuples(rng)
    memory = MemoryTupleStore(keys)
    sqlite_store = SqliteTupleStore(connect(":memory:"), "parity")
    for k in range(0, len(keys), 100):
        sqlite_store.write(keys[k:k + 100])
    users = [f"user:u{i}" for i in range(15)] + ["user:*", "group:g1#member"]
    for user in users:
        for relation in ("viewer", "editor"):
            lo_m = sorted(list_objects(model, memory, type="doc", relation=relation, user=user, max_results=0).objects)
            lo_s = sorted(list_objects(model, sqlite_store, type="doc", relation=relation, user=user,
                                       max_results=0).objects)
            assert lo_m == lo_s, (user, relation)
            for d in range(20):
                obj = f"doc:d{d}"
                a = check(model, memory, user=user, relation=relation, object=obj, explain=False).allowed
                b = check(model, sqlite_store, user=user, relation=relation, object=obj, explain=False).allowed
                assert a == b == (obj in lo_m), (user, relation, obj)
    for d in range(20):
        for flt in ("user", "group#member"):
            a = sorted(list_users(model, memory, object=f"doc:d{d}", relation="viewer", user_filters=[flt]).users)
            b = sorted(list_users(model, sqlite_store, object=f"doc:d{d}", relation="viewer", user_filters=[flt]).users)
            assert a == b


@pytest.mark.parametrize("name", ["consolidated_1_1_tests.yaml", "abac_tests.yaml",
                                  "derived/check_matrix_tests.yaml", "derived/listobjects_matrix_tests.yaml"])
def test_openfga_conformance_on_sqlite(name: str) -> None:
    require(OPENFGA / name)
    data = yaml_or_empty(OPENFGA / name)
    conn = connect(":memory:")
    factory = lambda: SqliteTupleStore(conn, f"store-{next(_ids)}")  # noqa: E731
    failures: list[str] = []
    for test in data["tests"]:
        fails, _ = run_test(test, matrix="check_matrix" in name, contextual_variant=False, store_factory=factory)
        failures += fails
    assert not failures, "\n".join(failures)
