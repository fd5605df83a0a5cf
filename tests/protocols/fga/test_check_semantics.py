"""The request memo (including the reuse of results that met a cycle) never changes an answer.

A reference resolver without any memo — a literal reading of OpenFGA's recursive Check with
visited-path cycle detection — is compared with the real resolver on random cyclic data over a
model with unions, intersections, exclusions, tuple-to-userset and recursive usersets.
"""

from __future__ import annotations

import random

import pytest

from protocols.fga import MemoryTupleStore, TupleKey, check, list_objects, list_users
from protocols.fga.errors import FgaError, ResolutionDepthExceeded
from protocols.fga.evaluators import CYCLE
from protocols.fga.language import load_model
from protocols.fga.resolver import CheckResolver

MODEL = """model
  schema 1.1
type user
type group
  relations
    define member: [user, group#member] or owner
    define owner: [user, group#member]
    define banned: [user, group#member]
    define active: member but not banned
type folder
  relations
    define parent: [folder]
    define reader: [user, user:*, group#member, group#active] or reader from parent
    define editor: [user, group#member] and reader
    define viewer: (reader or editor from parent) but not blocked
    define blocked: [user, group#member]
"""


class NaiveResolver(CheckResolver):
    """No memo at all: every sub-problem is re-evaluated on its own path (the model-level quick
    exit for user kinds that cannot reach a relation is part of the semantics and stays)."""

    __slots__ = ()

    def resolve(self, otype, oid, relation, depth):
        if depth >= self.max_depth:
            raise ResolutionDepthExceeded()
        key = (otype, oid, relation)
        if oid == self.uid and relation == self.urel and otype == self.utype:
            return ("self", otype, oid, relation)
        if self.kind not in self.compiled.can_reach[(otype, relation)]:
            return False
        if key in self.path:
            return CYCLE
        self.path.add(key)
        try:
            result = self.compiled.relations[key[0], relation].evaluator(self, oid, depth)
        finally:
            self.path.discard(key)
        return ("rel", otype, oid, relation, result) if result else result


def _random_store(rng: random.Random) -> list[TupleKey]:
    users = [f"user:u{i}" for i in range(4)]
    groups = [f"group:g{i}" for i in range(4)]
    folders = [f"folder:f{i}" for i in range(5)]
    out: set[tuple[str, str, str]] = set()
    for _ in range(rng.randrange(12, 30)):
        k = rng.randrange(7)
        if k == 0:
            out.add((rng.choice(users + [g + "#member" for g in groups]), rng.choice(["member", "owner", "banned"]),
                     rng.choice(groups)))
        elif k == 1:
            out.add((rng.choice(folders), "parent", rng.choice(folders)))
        elif k == 2:
            out.add((rng.choice(users + ["user:*"] + [g + "#member" for g in groups] + [g + "#active" for g in groups]),
                     "reader", rng.choice(folders)))
        elif k == 3:
            out.add((rng.choice(users + [g + "#member" for g in groups]), "editor", rng.choice(folders)))
        elif k == 4:
            out.add((rng.choice(users + [g + "#member" for g in groups]), "blocked", rng.choice(folders)))
        else:
            out.add((rng.choice([g + "#member" for g in groups]), "member", rng.choice(groups)))
    return [TupleKey(user=u, relation=r, object=o) for u, r, o in sorted(out)]


def _answer(resolver_cls, model, store, otype, oid, relation, user):
    from protocols.fga.tuples import split_user
    res = resolver_cls(model, store, split_user(user))
    try:
        return bool(res.resolve(otype, oid, relation, 0))
    except FgaError as exc:
        return exc.code


@pytest.mark.parametrize("seed", range(40))
def test_memoized_resolver_matches_naive_resolver(seed: int) -> None:
    model = load_model(MODEL)
    rng = random.Random(seed)
    store = MemoryTupleStore(_random_store(rng))
    users = ["user:u0", "user:u1", "user:u2", "user:*", "group:g0#member", "group:g1#active"]
    for user in users:
        for f in range(5):
            for relation in ("reader", "editor", "viewer"):
                naive = _answer(NaiveResolver, model, store, "folder", f"f{f}", relation, user)
                fast = _answer(CheckResolver, model, store, "folder", f"f{f}", relation, user)
                assert fast == naive, (seed, user, f, relation)
        for g in range(4):
            for relation in ("member", "active"):
                assert _answer(CheckResolver, model, store, "group", f"g{g}", relation, user) == \
                    _answer(NaiveResolver, model, store, "group", f"g{g}", relation, user)


@pytest.mark.parametrize("seed", range(10))
def test_list_calls_agree_with_check_on_cyclic_data(seed: int) -> None:
    model = load_model(MODEL)
    store = MemoryTupleStore(_random_store(random.Random(1000 + seed)))
    for user in ("user:u0", "user:u1", "user:*", "group:g0#member"):
        for relation in ("reader", "editor", "viewer"):
            objects = set(list_objects(model, store, type="folder", relation=relation, user=user).objects)
            for f in range(5):
                allowed = check(model, store, user=user, relation=relation, object=f"folder:f{f}", explain=False).allowed
                assert allowed == (f"folder:f{f}" in objects), (user, relation, f)
    for f in range(5):
        users = list_users(model, store, object=f"folder:f{f}", relation="viewer", user_filters=["user"]).users
        for user in users:
            assert check(model, store, user=user, relation="viewer", object=f"folder:f{f}").allowed
