"""The FGA service over both transports: OpenFGA's HTTP API shapes, the client, the audit trail,
SQLite persistence, and every bad input answered with OpenFGA's error code and status (never a 500)."""

from __future__ import annotations

import json

import pytest

from actors.fga_client import FgaClient
from actors.runtime.network import Transport
from protocols.fga import BatchCheckItem, TupleKey, check, list_objects, load_model, MemoryTupleStore
from protocols.fga.api import ULID_RE
from protocols.fga.errors import AuthorizationModelNotFound, InvalidTuple, RelationNotFound, StoreIdNotFound
from protocols.fga.json_form import model_to_json
from tests.actors.fga_helpers import MODEL, TUPLES, loaded_store, running_service, tk

TRANSPORTS = pytest.mark.parametrize("transport", list(Transport), ids=lambda t: t.value)
UNKNOWN_STORE = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


@TRANSPORTS
async def test_store_lifecycle_and_pagination(transport):
    async with running_service(transport) as svc:
        ids = []
        for name in ("alpha", "beta", "gamma"):
            status, body = await svc.call("POST", "/stores", {"name": name})
            assert status == 201 and ULID_RE.match(body["id"]) and body["name"] == name
            assert body["created_at"] == body["updated_at"] and body["created_at"].endswith("Z")
            ids.append(body["id"])
        assert len(set(ids)) == 3
        status, page1 = await svc.call("GET", "/stores?page_size=2")
        assert status == 200 and [s["id"] for s in page1["stores"]] == ids[:2] and page1["continuation_token"]
        status, page2 = await svc.call("GET", f"/stores?page_size=2&continuation_token={page1['continuation_token']}")
        assert [s["id"] for s in page2["stores"]] == ids[2:] and page2["continuation_token"] == ""
        status, got = await svc.call("GET", f"/stores/{ids[1]}")
        assert status == 200 and got["name"] == "beta"
        status, body = await svc.call("DELETE", f"/stores/{ids[1]}")
        assert (status, body) == (204, None)
        status, body = await svc.call("GET", f"/stores/{ids[1]}")
        assert (status, body["code"]) == (404, "store_id_not_found")
        status, listed = await svc.call("GET", "/stores")
        assert [s["id"] for s in listed["stores"]] == [ids[0], ids[2]]
        assert [e.event for e in svc.audit("fga.store_created", "fga.store_deleted")] == \
            ["fga.store_created"] * 3 + ["fga.store_deleted"]


@TRANSPORTS
async def test_models_are_kept_per_store_and_the_newest_answers(transport):
    async with running_service(transport) as svc:
        client = await loaded_store(svc)
        first = (await svc.call("GET", f"/stores/{client.store_id}/authorization-models"))[1]["authorization_models"]
        assert len(first) == 1 and ULID_RE.match(first[0]["id"]) and first[0]["schema_version"] == "1.1"
        # a second model in which document#viewer is only direct: the newest is used by default
        newer = MODEL.replace("define viewer: (editor or viewer from parent) but not blocked", "define viewer: [user]")
        newer_id = await client.write_model(newer)
        listed = (await svc.call("GET", f"/stores/{client.store_id}/authorization-models"))[1]["authorization_models"]
        assert [m["id"] for m in listed] == [newer_id, first[0]["id"]]
        status, one = await svc.call("GET", f"/stores/{client.store_id}/authorization-models/{first[0]['id']}")
        assert status == 200 and one["authorization_model"]["id"] == first[0]["id"]
        expected = model_to_json(load_model(MODEL).model)["type_definitions"]
        assert one["authorization_model"]["type_definitions"] == expected
        assert not await client.check(user="user:anne", relation="viewer", object="document:roadmap")
        pinned = FgaClient(network=svc.network, base_url=svc.actor.base_url, store_id=client.store_id,
                           authorization_model_id=first[0]["id"])
        assert await pinned.check(user="user:anne", relation="viewer", object="document:roadmap")
        with pytest.raises(AuthorizationModelNotFound):
            await FgaClient(network=svc.network, base_url=svc.actor.base_url, store_id=client.store_id,
                            authorization_model_id=UNKNOWN_STORE).check(user="user:anne", relation="viewer",
                                                                        object="document:roadmap")


@TRANSPORTS
async def test_queries_answer_like_the_engine(transport):
    async with running_service(transport) as svc:
        client = await loaded_store(svc)
        compiled, store = load_model(MODEL), MemoryTupleStore(TUPLES)
        users = ["user:anne", "user:bob", "user:carl", "user:*", "group:eng#member"]
        objects = ["document:roadmap", "document:budget", "document:handbook", "folder:plans", "folder:public"]
        for user in users:
            for obj in objects:
                want = check(compiled, store, user=user, relation="viewer", object=obj).allowed
                assert await client.check(user=user, relation="viewer", object=obj) == want, (user, obj)
            for otype in ("document", "folder"):
                want = sorted(list_objects(compiled, store, type=otype, relation="viewer", user=user).objects)
                assert sorted(await client.list_objects(type=otype, relation="viewer", user=user)) == want
        assert await client.check(user="user:anne", relation="viewer", object="document:roadmap")
        assert not await client.check(user="user:anne", relation="viewer", object="document:budget")  # blocked
        assert sorted(await client.list_users(object="document:roadmap", relation="viewer", user_filter="user")) == \
            ["user:anne", "user:bob"]
        assert await client.list_users(object="folder:plans", relation="viewer", user_filter="group#member") == \
            ["group:eng#member"]
        assert await client.list_users(object="document:handbook", relation="viewer", user_filter="user") == ["user:*"]
        # contextual tuples and conditions
        extra = [tk("user:carl", "member", "group:eng")]
        assert await client.check(user="user:carl", relation="viewer", object="document:roadmap",
                                  contextual_tuples=extra)
        assert not await client.check(user="user:carl", relation="viewer", object="document:roadmap")
        await client.write(writes=[TupleKey.from_json({"user": "user:dana", "relation": "editor",
                                                       "object": "document:memo",
                                                       "condition": {"name": "in_hours"}})])
        assert await client.check(user="user:dana", relation="editor", object="document:memo", context={"hour": 9})
        assert not await client.check(user="user:dana", relation="editor", object="document:memo",
                                      context={"hour": 20})
        # batch check: more than 50 items are split into several requests
        items = [BatchCheckItem(tuple_key=tk(u, "viewer", o), correlation_id=f"c{i}-{j}")
                 for i, u in enumerate(users) for j, o in enumerate(objects * 3)]
        assert len(items) > 50
        outcomes = await client.batch_check(items)
        assert set(outcomes) == {i.correlation_id for i in items}
        for item in items:
            key = item.tuple_key
            assert outcomes[item.correlation_id].allowed == check(compiled, store, user=key.user, relation="viewer",
                                                                  object=key.object).allowed
        bad = await client.batch_check([BatchCheckItem(tuple_key=tk("user:anne", "nope", "document:roadmap"),
                                                       correlation_id="x")])
        assert bad["x"].error is not None and bad["x"].error.code == "validation_error"


@TRANSPORTS
async def test_read_filters_pages_and_timestamps(transport):
    async with running_service(transport) as svc:
        client = await loaded_store(svc)
        everything, token = await client.read()
        assert token == "" and {str(k) for k in everything} == {str(k) for k in TUPLES}
        docs, _ = await client.read(object="document:", user="folder:plans")
        assert {k.object for k in docs} == {"document:roadmap", "document:budget"}
        one, _ = await client.read(object="document:budget", relation="blocked")
        assert [str(k) for k in one] == ["document:budget#blocked@user:anne"]
        page, token = await client.read(page_size=3)
        rest, last = await client.read(page_size=100, continuation_token=token)
        assert len(page) == 3 and last == "" and len(page) + len(rest) == len(TUPLES)
        status, raw = await svc.call("POST", f"/stores/{client.store_id}/read", {})
        assert all(t["timestamp"].startswith("2025-01-06T08:00") for t in raw["tuples"])
        await client.write(deletes=[tk("user:anne", "blocked", "document:budget")])
        assert await client.check(user="user:anne", relation="viewer", object="document:budget")
        await client.write(writes=[tk("user:anne", "blocked", "document:budget")],
                           deletes=[tk("user:anne", "member", "group:eng")])
        assert not await client.check(user="user:anne", relation="viewer", object="document:roadmap")


@TRANSPORTS
async def test_every_decision_is_audited_with_subject_agent_and_reason(transport):
    async with running_service(transport) as svc:
        client = await loaded_store(svc)
        agent_client = FgaClient(network=svc.network, base_url=svc.actor.base_url, store_id=client.store_id,
                                 agent="sales-agent-prod-001")
        assert await agent_client.check(user="user:anne", relation="viewer", object="document:roadmap")
        assert not await agent_client.check(user="user:anne", relation="viewer", object="document:budget")
        allowed, denied = svc.audit("authz.allowed", "authz.denied")[-2:]
        assert (allowed.event, allowed.agent, allowed.subject, allowed.decision) == \
            ("authz.allowed", "sales-agent-prod-001", "user:anne", "allow")
        assert allowed.details["object"] == "document:roadmap" and allowed.details["relation"] == "viewer"
        assert "folder:plans" in allowed.reason and "group:eng" in allowed.reason
        assert (denied.event, denied.decision) == ("authz.denied", "deny")
        assert "blocked" in denied.reason and "document:budget#blocked@user:anne" in denied.reason
        before = len(svc.audit())
        objects = await agent_client.list_objects(type="document", relation="viewer", user="user:bob")
        entries = svc.audit()[before:]
        assert len(entries) == 1 and entries[0].event == "authz.allowed"
        assert entries[0].details["count"] == len(objects) == 3 and entries[0].details["objects"] == sorted(objects)
        before = len(svc.audit())
        await agent_client.batch_check([BatchCheckItem(tuple_key=tk("user:bob", "viewer", o), correlation_id=str(i))
                                        for i, o in enumerate(["document:roadmap", "document:x", "folder:plans"])])
        assert [(e.event, e.details["correlation_id"]) for e in svc.audit()[before:]] == \
            [("authz.allowed", "0"), ("authz.denied", "1"), ("authz.allowed", "2")]
        before = len(svc.audit())
        assert (await svc.call("POST", f"/stores/{client.store_id}/check", {"tuple_key": {}}))[0] == 400
        assert svc.audit()[before:] == []  # refused requests are logged, not audited


@TRANSPORTS
async def test_client_raises_the_remote_error(transport):
    async with running_service(transport) as svc:
        client = await loaded_store(svc)
        with pytest.raises(StoreIdNotFound) as info:
            await FgaClient(network=svc.network, base_url=svc.actor.base_url, store_id=UNKNOWN_STORE).check(
                user="user:anne", relation="viewer", object="document:roadmap")
        assert info.value.status == 404
        with pytest.raises(RelationNotFound):
            await client.list_objects(type="document", relation="owner", user="user:anne")
        with pytest.raises(InvalidTuple):
            await client.check(user="user:anne", relation="viewer", object="document:roadmap",
                               contextual_tuples=[tk("user:anne", "parent", "document:roadmap")])


async def test_sqlite_storage_survives_a_restart(tmp_path):
    path = tmp_path / "fga.sqlite"
    async with running_service(Transport.CHANNEL, db_path=path) as svc:
        client = await loaded_store(svc)
        store_id = client.store_id
        models = (await svc.call("GET", f"/stores/{store_id}/authorization-models"))[1]["authorization_models"]
        model_id = models[0]["id"]
        svc.actor.server.backend.close()
    async with running_service(Transport.CHANNEL, db_path=path, seed=8) as svc:
        again = FgaClient(network=svc.network, base_url=svc.actor.base_url, store_id=store_id)
        assert (await again.get_store())["name"] == "tests"
        assert (await again.read_model(model_id))["id"] == model_id
        assert await again.check(user="user:anne", relation="viewer", object="document:roadmap")
        assert not await again.check(user="user:anne", relation="viewer", object="document:budget")
        tuples, _ = await again.read()
        assert len(tuples) == len(TUPLES)
        await again.write(writes=[tk("user:carl", "member", "group:eng")])
        assert await again.check(user="user:carl", relation="viewer", object="document:roadmap")


# -- bad input: (name, method, path, body, content type, expected code, expected status) ----------------

DEEP_MODEL = "model\n  schema 1.1\ntype user\ntype resource\n  relations\n    define a0: [user]\n" + "".join(
    f"    define a{n}: [resource#a{n - 1}]\n" for n in range(1, 27))
DEEP_TUPLES = [{"user": "user:u", "relation": "a0", "object": "resource:r"}] + [
    {"user": f"resource:r#a{n - 1}", "relation": f"a{n}", "object": "resource:r"} for n in range(1, 27)]


def check_body(user="user:anne", relation="viewer", obj="document:roadmap", **extra):
    return {"tuple_key": {"user": user, "relation": relation, "object": obj}, **extra}


def keys(n, relation="viewer"):
    return [{"user": f"user:u{i}", "relation": relation, "object": "document:roadmap"} for i in range(n)]


BAD = [
    ("malformed JSON", "POST", "/stores/{s}/check", b'{"tuple_key": ', None, "validation_error", 400),
    ("JSON array body", "POST", "/stores/{s}/check", b"[]", None, "validation_error", 400),
    ("duplicate JSON member", "POST", "/stores/{s}/check", b'{"tuple_key": {}, "tuple_key": {}}', None,
     "validation_error", 400),
    ("body not UTF-8", "POST", "/stores/{s}/check", b'{"a": "\xff"}', None, "validation_error", 400),
    ("unknown store", "POST", f"/stores/{UNKNOWN_STORE}/check", check_body(), None, "store_id_not_found", 404),
    ("unknown store (get)", "GET", f"/stores/{UNKNOWN_STORE}", None, None, "store_id_not_found", 404),
    ("malformed store id", "POST", "/stores/not-a-ulid/check", check_body(), None, "validation_error", 400),
    ("unknown model", "POST", "/stores/{s}/check", check_body(authorization_model_id=UNKNOWN_STORE), None,
     "authorization_model_not_found", 400),
    ("unknown model (read)", "GET", f"/stores/{{s}}/authorization-models/{UNKNOWN_STORE}", None, None,
     "authorization_model_not_found", 400),
    ("malformed model id", "POST", "/stores/{s}/check", check_body(authorization_model_id="xyz"), None,
     "validation_error", 400),
    ("no model yet", "POST", "/stores/{empty}/check", check_body(), None, "latest_authorization_model_not_found", 400),
    ("store name pattern", "POST", "/stores", {"name": "x"}, None, "validation_error", 400),
    ("malformed DSL", "POST", "/stores/{s}/authorization-models", b"model\n  schema 1.1\ntype user\n  relations\n",
     "text/plain", "invalid_authorization_model", 400),
    ("undefined relation in JSON model", "POST", "/stores/{s}/authorization-models",
     {"schema_version": "1.1", "type_definitions": [
         {"type": "user"}, {"type": "doc", "relations": {"viewer": {"computedUserset": {"relation": "owner"}}}}]},
     None, "invalid_authorization_model", 400),
    ("cyclic model", "POST", "/stores/{s}/authorization-models",
     b"model\n  schema 1.1\ntype user\ntype doc\n  relations\n    define a: b\n    define b: a\n", "text/plain",
     "invalid_authorization_model", 400),
    ("unsupported schema version", "POST", "/stores/{s}/authorization-models",
     {"schema_version": "1.0", "type_definitions": [{"type": "user"}]}, None, "invalid_authorization_model", 400),
    ("model shape", "POST", "/stores/{s}/authorization-models", {"schema_version": "1.1", "type_definitions": "x"},
     None, "validation_error", 400),
    ("model without types", "POST", "/stores/{s}/authorization-models", {"schema_version": "1.1"}, None,
     "type_definitions_too_few_items", 400),
    ("tuple not fitting the model", "POST", "/stores/{s}/write",
     {"writes": {"tuple_keys": [{"user": "group:eng", "relation": "viewer", "object": "document:x"}]}}, None,
     "validation_error", 400),
    ("write unknown type", "POST", "/stores/{s}/write",
     {"writes": {"tuple_keys": [{"user": "user:a", "relation": "viewer", "object": "spaceship:x"}]}}, None,
     "validation_error", 400),
    ("write unknown relation", "POST", "/stores/{s}/write",
     {"writes": {"tuple_keys": [{"user": "user:a", "relation": "pilot", "object": "document:x"}]}}, None,
     "validation_error", 400),
    ("write wildcard object", "POST", "/stores/{s}/write",
     {"writes": {"tuple_keys": [{"user": "user:a", "relation": "owner", "object": "folder:*"}]}}, None,
     "validation_error", 400),
    ("write conditioned restriction without condition", "POST", "/stores/{s}/write",
     {"writes": {"tuple_keys": [{"user": "user:a", "relation": "blocked", "object": "document:x",
                                 "condition": {"name": "in_hours"}}]}}, None, "validation_error", 400),
    ("duplicate tuple in one write", "POST", "/stores/{s}/write",
     {"writes": {"tuple_keys": keys(1) + keys(1)}}, None, "cannot_allow_duplicate_tuples_in_one_request", 400),
    ("tuple already exists", "POST", "/stores/{s}/write",
     {"writes": {"tuple_keys": [{"user": "user:anne", "relation": "member", "object": "group:eng"}]}}, None,
     "write_failed_due_to_invalid_input", 400),
    ("delete missing tuple", "POST", "/stores/{s}/write",
     {"deletes": {"tuple_keys": [{"user": "user:zed", "relation": "member", "object": "group:eng"}]}}, None,
     "write_failed_due_to_invalid_input", 400),
    ("more than 100 tuples in a write", "POST", "/stores/{s}/write", {"writes": {"tuple_keys": keys(101, "editor")}},
     None, "exceeded_entity_limit", 400),
    ("empty write", "POST", "/stores/{s}/write", {}, None, "invalid_write_input", 400),
    ("bad on_duplicate", "POST", "/stores/{s}/write",
     {"writes": {"tuple_keys": keys(1, "editor"), "on_duplicate": "merge"}}, None, "validation_error", 400),
    ("check without tuple_key", "POST", "/stores/{s}/check", {}, None, "tuple_key_value_not_specified", 400),
    ("check unknown relation", "POST", "/stores/{s}/check", check_body(relation="pilot"), None, "validation_error",
     400),
    ("check unknown user type", "POST", "/stores/{s}/check", check_body(user="robot:r2"), None,
     "validation_error", 400),
    ("check malformed user", "POST", "/stores/{s}/check", check_body(user="a:b:c"), None, "validation_error", 400),
    ("check wildcard object", "POST", "/stores/{s}/check", check_body(obj="document:*"), None, "validation_error", 400),
    ("check context not an object", "POST", "/stores/{s}/check", check_body(context=[1]), None, "validation_error",
     400),
    ("bad consistency", "POST", "/stores/{s}/check", check_body(consistency="EVENTUAL"), None, "validation_error", 400),
    ("more than 100 contextual tuples", "POST", "/stores/{s}/check",
     check_body(contextual_tuples={"tuple_keys": keys(101, "editor")}), None, "validation_error", 400),
    ("contextual tuple not fitting the model", "POST", "/stores/{s}/check",
     check_body(contextual_tuples={"tuple_keys": [{"user": "folder:x", "relation": "editor",
                                                   "object": "document:roadmap"}]}), None, "invalid_tuple", 400),
    ("missing condition context", "POST", "/stores/{s}/check", check_body(user="user:dana", relation="editor",
                                                                          obj="document:memo"), None,
     "validation_error", 400),
    ("too deep resolution", "POST", "/stores/{deep}/check", check_body(user="user:u", relation="a26",
                                                                       obj="resource:r"), None,
     "authorization_model_resolution_too_complex", 400),
    ("list-objects unknown type", "POST", "/stores/{s}/list-objects",
     {"type": "spaceship", "relation": "viewer", "user": "user:anne"}, None, "type_not_found", 400),
    ("list-objects unknown relation", "POST", "/stores/{s}/list-objects",
     {"type": "document", "relation": "pilot", "user": "user:anne"}, None, "relation_not_found", 400),
    ("list-objects missing user", "POST", "/stores/{s}/list-objects", {"type": "document", "relation": "viewer"},
     None, "validation_error", 400),
    ("list-objects too deep", "POST", "/stores/{deep}/list-objects",
     {"type": "resource", "relation": "a26", "user": "user:u"}, None, "authorization_model_resolution_too_complex",
     400),
    ("list-users two filters", "POST", "/stores/{s}/list-users",
     {"object": {"type": "document", "id": "roadmap"}, "relation": "viewer",
      "user_filters": [{"type": "user"}, {"type": "group", "relation": "member"}]}, None, "validation_error", 400),
    ("list-users unknown filter type", "POST", "/stores/{s}/list-users",
     {"object": {"type": "document", "id": "roadmap"}, "relation": "viewer", "user_filters": [{"type": "robot"}]},
     None, "type_not_found", 400),
    ("batch-check over 50", "POST", "/stores/{s}/batch-check",
     {"checks": [{**check_body(), "correlation_id": str(i)} for i in range(51)]}, None, "validation_error", 400),
    ("batch-check duplicate correlation id", "POST", "/stores/{s}/batch-check",
     {"checks": [{**check_body(), "correlation_id": "a"}, {**check_body(), "correlation_id": "a"}]}, None,
     "validation_error", 400),
    ("batch-check empty", "POST", "/stores/{s}/batch-check", {"checks": []}, None, "validation_error", 400),
    ("page size 0", "GET", "/stores?page_size=0", None, None, "page_size_invalid", 400),
    ("page size 101", "POST", "/stores/{s}/read", {"page_size": 101}, None, "page_size_invalid", 400),
    ("bad continuation token", "GET", "/stores?continuation_token=%%%", None, None, "invalid_continuation_token",
     400),
    ("read without object type", "POST", "/stores/{s}/read", {"tuple_key": {"user": "user:anne"}}, None,
     "validation_error", 400),
    ("unknown endpoint", "POST", "/stores/{s}/expand-everything", {}, None, "undefined_endpoint", 404),
    ("wrong method", "PATCH", "/stores/{s}/check", {}, None, "unimplemented", 404),
]


@TRANSPORTS
async def test_bad_input_gets_openfga_error_codes(transport):
    """One service per transport; each case must answer its exact code and status, never a 500."""
    async with running_service(transport) as svc:
        client = await loaded_store(svc)
        await client.write(writes=[TupleKey.from_json({"user": "user:dana", "relation": "editor",
                                                       "object": "document:memo", "condition": {"name": "in_hours"}})])
        empty = await FgaClient.create_store(network=svc.network, base_url=svc.actor.base_url, name="empty")
        deep = await FgaClient.create_store(network=svc.network, base_url=svc.actor.base_url, name="deep")
        await deep.write_model(DEEP_MODEL)
        await deep.write(writes=[TupleKey.from_json(t) for t in DEEP_TUPLES])
        ids = {"s": client.store_id, "empty": empty.store_id, "deep": deep.store_id}
        failures = []
        for name, method, path, body, content_type, code, status in BAD:
            raw = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
            response = await svc.raw(method, path.format(**ids), raw, content_type=content_type or "application/json")
            try:
                answer = response.json()
            except ValueError:
                answer = {}
            got = (response.status, answer.get("code"))
            if got != (status, code) or not answer.get("message") or "Traceback" in answer.get("message", ""):
                failures.append(f"{name}: expected {(status, code)}, got {got} {answer.get('message')!r}")
        assert failures == []
        assert await client.check(user="user:anne", relation="viewer", object="document:roadmap")  # still serving
