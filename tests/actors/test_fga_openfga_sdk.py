"""Interoperability: OpenFGA's official Python SDK (``openfga-sdk``, sync client over urllib3) against the
FGA service on a real 127.0.0.1 port.

The SDK creates a store, writes a model and tuples, and its Check / BatchCheck / ListObjects /
ListUsers answers must equal those of the engine in-process on the same data. The SDK is blocking,
so it runs in a worker thread (``trio.to_thread``) while the service is served by trio with the real
clock (no MockClock: the thread's socket waits are real).
"""

from __future__ import annotations

import pytest
import trio
from openfga_sdk.client.configuration import ClientConfiguration
from openfga_sdk.client.models import (
    ClientBatchCheckItem, ClientBatchCheckRequest, ClientCheckRequest, ClientListObjectsRequest, ClientTuple,
    ClientWriteRequest,
)
from openfga_sdk.client.models.list_users_request import ClientListUsersRequest
from openfga_sdk.exceptions import NotFoundException, ValidationException
from openfga_sdk.models.create_store_request import CreateStoreRequest
from openfga_sdk.models.fga_object import FgaObject
from openfga_sdk.models.read_request_tuple_key import ReadRequestTupleKey
from openfga_sdk.models.relationship_condition import RelationshipCondition as SdkCondition
from openfga_sdk.models.user_type_filter import UserTypeFilter
from openfga_sdk.sync import OpenFgaClient

from actors.runtime.network import Transport
from protocols.fga import MemoryTupleStore, TupleKey, check, list_objects, list_users, load_model
from protocols.fga.json_form import model_to_json
from scenarios.library import SCENARIOS
from scenarios.world import load_world
from tests.actors.fga_helpers import MODEL, TUPLES, running_service

CONDITIONED = TupleKey.from_json({"user": "user:dana", "relation": "editor", "object": "document:memo",
                                  "condition": {"name": "in_hours"}})
USERS = ["user:anne", "user:bob", "user:carl", "user:dana", "user:*", "group:eng#member"]
OBJECTS = ["document:roadmap", "document:budget", "document:handbook", "document:memo", "folder:plans",
           "folder:public"]
CONTEXT = {"hour": 10}


def sdk_tuple(key: TupleKey) -> ClientTuple:
    cond = SdkCondition(name=key.condition.name, context=key.condition.context) if key.condition else None
    return ClientTuple(user=key.user, relation=key.relation, object=key.object, condition=cond)


def sdk_user(user) -> str:
    if user.object is not None:
        return f"{user.object.type}:{user.object.id}"
    if user.userset is not None:
        return f"{user.userset.type}:{user.userset.id}#{user.userset.relation}"
    return f"{user.wildcard.type}:*"


def drive_sdk(base_url: str, model_json: dict, tuples: list[TupleKey], *, relation: str, users: list[str],
              objects: list[str], types: list[str], filters: list[str]) -> dict:
    """Everything the SDK sees, as plain data (runs in a worker thread)."""
    out: dict = {}
    with OpenFgaClient(ClientConfiguration(api_url=base_url)) as fga:
        store = fga.create_store(CreateStoreRequest(name="sdk-interop"))
        out["store_id"] = store.id
        fga.set_store_id(store.id)
        model_id = fga.write_authorization_model(model_json).authorization_model_id
        out["model_id"] = model_id
        out["latest_model"] = fga.read_latest_authorization_model().authorization_model.id
        fga.set_authorization_model_id(model_id)
        fga.write(ClientWriteRequest(writes=[sdk_tuple(k) for k in tuples]))
        stored = fga.read(ReadRequestTupleKey()).tuples
        out["read"] = sorted(f"{t.key.object}#{t.key.relation}@{t.key.user}" for t in stored)
        out["check"] = {
            (u, o): fga.check(ClientCheckRequest(user=u, relation=relation, object=o, context=CONTEXT)).allowed
            for u in users for o in objects}
        items = [ClientBatchCheckItem(user=u, relation=relation, object=o, correlation_id=f"c{i}", context=CONTEXT)
                 for i, (u, o) in enumerate((u, o) for u in users for o in objects)]
        batch = fga.batch_check(ClientBatchCheckRequest(checks=items)).result
        out["batch"] = {(r.request.user, r.request.object): r.allowed for r in batch}
        out["list_objects"] = {(u, t): sorted(fga.list_objects(ClientListObjectsRequest(
            user=u, relation=relation, type=t, context=CONTEXT)).objects) for u in users for t in types}
        out["list_users"] = {}
        for o in objects:
            otype, oid = o.split(":", 1)
            for flt in filters:
                ftype, _, frel = flt.partition("#")
                answer = fga.list_users(ClientListUsersRequest(
                    object=FgaObject(type=otype, id=oid), relation=relation,
                    user_filters=[UserTypeFilter(type=ftype, relation=frel or None)], context=CONTEXT))
                out["list_users"][(o, flt)] = sorted(sdk_user(u) for u in answer.users)
        try:
            fga.check(ClientCheckRequest(user="user:anne", relation="no_such_relation", object=objects[0]))
        except ValidationException as error:
            out["bad_check"] = (error.status, error.code, error.error_message)
        fga.delete_store()
        try:
            fga.get_store()
        except NotFoundException as error:
            out["deleted"] = (error.status, error.code)
    return out


def engine_answers(model_source: str, tuples: list[TupleKey], *, relation: str, users: list[str], objects: list[str],
                   types: list[str], filters: list[str]) -> dict:
    model, store = load_model(model_source), MemoryTupleStore(tuples)
    checks = {(u, o): check(model, store, user=u, relation=relation, object=o, context=CONTEXT).allowed
              for u in users for o in objects}
    listed = {(u, t): sorted(list_objects(model, store, type=t, relation=relation, user=u, context=CONTEXT).objects)
              for u in users for t in types}
    users_of = {(o, flt): sorted(list_users(model, store, object=o, relation=relation, user_filters=[flt],
                                            context=CONTEXT).users)
                for o in objects for flt in filters}
    return {"check": checks, "list_objects": listed, "list_users": users_of}


@pytest.mark.parametrize("dataset", ["documents", "sales-world"])
async def test_openfga_sdk_gets_the_engines_answers(dataset):
    if dataset == "documents":
        source, tuples, relation = MODEL, [*TUPLES, CONDITIONED], "viewer"
        users, objects, types, filters = USERS, OBJECTS, ["document", "folder"], ["user", "group#member"]
    else:
        fga = load_world(SCENARIOS["sales-agent"].world_file).fga
        source, tuples, relation = fga.model, list(fga.tuples), "viewer"
        users = ["user:sarah", "user:john", "user:mike", "team:sales#member", "team:sales-emea#member"]
        objects = sorted({t.object for t in tuples if t.object.startswith("resource:")})
        types, filters = ["resource", "account", "collection"], ["user", "team#member"]
        objects += ["account:acme-corp", "account:globex", "collection:executive-pricing"]
    model_json = model_to_json(load_model(source).model)
    async with running_service(Transport.HTTP) as svc:
        seen = await trio.to_thread.run_sync(
            lambda: drive_sdk(svc.actor.base_url, model_json, tuples, relation=relation, users=users,
                              objects=objects, types=types, filters=filters))
    want = engine_answers(source, tuples, relation=relation, users=users, objects=objects, types=types,
                          filters=filters)
    assert seen["latest_model"] == seen["model_id"]
    assert seen["read"] == sorted(str(k) for k in tuples)
    assert seen["check"] == want["check"]
    assert seen["batch"] == want["check"]
    assert seen["list_objects"] == want["list_objects"]
    assert seen["list_users"] == want["list_users"]
    assert any(want["check"].values()) and not all(want["check"].values())
    assert seen["bad_check"] == (400, "validation_error", "relation 'document#no_such_relation' not found") \
        if dataset == "documents" else seen["bad_check"][:2] == (400, "validation_error")
    assert seen["deleted"] == (404, "store_id_not_found")
