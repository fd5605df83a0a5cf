"""The resolve-node limit where OpenFGA v1.22 puts it.

Expectations measured with the real engine (``fga model test`` of openfga-cli 0.8.2, built on
openfga v1.22.0) on these exact models and tuples: Check allows 25 dispatches (a 25-deep nested
group or parent chain is true, 26 is error 2002) and does not count computed relations (a 40-deep
computed chain is true); ListObjects counts every hop, computed ones included, and refuses 25.
"""

from __future__ import annotations

import pytest

from protocols.fga import AuthorizationModelResolutionTooComplex, MemoryTupleStore, TupleKey, check, list_objects
from protocols.fga.language import load_model

MODEL = """model
  schema 1.1
type user
type group
  relations
    define member: [user, group#member]
type folder
  relations
    define parent: [folder]
    define viewer: [user] or viewer from parent
type res
  relations
    define c0: [user]
""" + "".join(f"    define c{n}: c{n - 1}\n" for n in range(1, 41))

TUPLES = ([TupleKey(user="user:u", relation="member", object="group:g0"),
           TupleKey(user="user:u", relation="viewer", object="folder:f0"),
           TupleKey(user="user:u", relation="c0", object="res:r")]
          + [TupleKey(user=f"group:g{n - 1}#member", relation="member", object=f"group:g{n}") for n in range(1, 31)]
          + [TupleKey(user=f"folder:f{n - 1}", relation="parent", object=f"folder:f{n}") for n in range(1, 31)])

ERROR = "error 2002"
CHECKS = [  # (object, relation, OpenFGA v1.22's answer)
    ("group:g24", "member", True), ("group:g25", "member", True), ("group:g26", "member", ERROR),
    ("group:g30", "member", ERROR),
    ("folder:f24", "viewer", True), ("folder:f25", "viewer", True), ("folder:f26", "viewer", ERROR),
    ("res:r", "c25", True), ("res:r", "c26", True), ("res:r", "c40", True),
]
LIST_OBJECTS = [("res", "c23", ["res:r"]), ("res", "c24", ["res:r"]), ("res", "c25", ERROR), ("res", "c40", ERROR)]


@pytest.fixture(scope="module")
def world():
    return load_model(MODEL), MemoryTupleStore(TUPLES)


def answer(fn):
    try:
        return fn()
    except AuthorizationModelResolutionTooComplex:
        return ERROR


@pytest.mark.parametrize(("obj", "relation", "expected"), CHECKS)
def test_check_depth_matches_openfga(world, obj, relation, expected):
    model, store = world
    assert answer(lambda: check(model, store, user="user:u", relation=relation, object=obj).allowed) == expected


@pytest.mark.parametrize(("otype", "relation", "expected"), LIST_OBJECTS)
def test_list_objects_depth_matches_openfga(world, otype, relation, expected):
    model, store = world
    got = answer(lambda: sorted(list_objects(model, store, type=otype, relation=relation, user="user:u").objects))
    assert got == expected


def test_a_deep_branch_that_cannot_reach_the_target_does_not_count(world):
    """The user sits at the bottom of 30-deep group and folder chains; res#c10 depends on neither."""
    model, store = world
    assert list_objects(model, store, type="res", relation="c10", user="user:u").objects == ("res:r",)
    with pytest.raises(AuthorizationModelResolutionTooComplex):
        list_objects(model, store, type="group", relation="member", user="user:u")
