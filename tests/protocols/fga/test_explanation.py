"""Every decision comes with an explanation: the path of relations that allowed it, or why none did."""

from __future__ import annotations

import attrs
import pytest

from protocols.fga import MemoryTupleStore, RelationshipCondition, Step, TupleKey, check
from protocols.fga.language import load_model

THREE_LEVELS = """model
  schema 1.1
type user
type org
  relations
    define member: [user]
type folder
  relations
    define parent: [org]
    define viewer: member from parent
type document
  relations
    define parent: [folder]
    define blocked: [user]
    define owner: [user with in_office]
    define viewer: (viewer from parent or owner) but not blocked
condition in_office(hour: int) {
  hour >= 9 && hour < 18
}
"""


def key(user: str, relation: str, obj: str, **kw) -> TupleKey:
    return TupleKey(user=user, relation=relation, object=obj, **kw)


@pytest.fixture(scope="module")
def model():
    return load_model(THREE_LEVELS)


@pytest.fixture
def store():
    return MemoryTupleStore([
        key("folder:docs", "parent", "document:readme"),
        key("org:acme", "parent", "folder:docs"),
        key("user:anne", "member", "org:acme"),
        key("user:bob", "member", "org:acme"),
        key("user:bob", "blocked", "document:readme"),
        key("user:carol", "owner", "document:readme", condition=RelationshipCondition.of("in_office")),
    ])


def test_allowed_three_levels_gives_the_path_of_relations(model, store) -> None:
    result = check(model, store, user="user:anne", relation="viewer", object="document:readme")
    assert result.allowed
    expl = result.explanation
    assert expl.allowed and expl.user == "user:anne"
    hops = [(s.object, s.relation, s.via) for s in expl.path]
    assert hops == [
        ("document:readme", "viewer", "exclusion"),
        ("document:readme", "viewer", "tuple_to_userset"),
        ("folder:docs", "viewer", "tuple_to_userset"),
        ("org:acme", "member", "direct"),
    ]
    assert expl.path[0].detail == "and not blocked"
    assert expl.path[1].tuple == key("folder:docs", "parent", "document:readme")
    assert expl.path[1].detail == "viewer from parent"
    assert expl.path[2].tuple == key("org:acme", "parent", "folder:docs")
    assert expl.path[3].tuple == key("user:anne", "member", "org:acme")
    assert expl.summary == ("allowed: user:anne reaches document:readme#viewer via document:readme#viewer -> "
                            "document:readme#viewer -> folder:docs#viewer -> org:acme#member "
                            "[org:acme#member@user:anne]")
    assert all(isinstance(s, Step) for s in expl.path)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        expl.allowed = False  # type: ignore[misc]
    assert expl.to_json()["path"][3]["tuple"] == {"user": "user:anne", "relation": "member", "object": "org:acme"}


def test_denial_by_exclusion_says_which_tuple_excluded(model, store) -> None:
    result = check(model, store, user="user:bob", relation="viewer", object="document:readme")
    assert not result.allowed
    reasons = result.explanation.reasons
    assert len(reasons) == 1
    assert "excluded by 'but not blocked'" in reasons[0]
    assert "document:readme#blocked@user:bob" in reasons[0]
    assert result.explanation.summary.startswith("denied: user:bob is not viewer of document:readme: ")


def test_denial_without_any_path_lists_each_branch(model, store) -> None:
    result = check(model, store, user="user:dave", relation="viewer", object="document:readme")
    assert not result.allowed
    assert result.explanation.reasons == (
        "viewer from parent: no parent of document:readme (folder:docs) grants viewer",
        "owner: user:dave is not owner of document:readme",
    )
    detailed = check(model, store, user="user:dave", relation="viewer", object="folder:docs").explanation.reasons
    assert detailed == ("member from parent: no parent of folder:docs (org:acme) grants member",)


def test_denial_by_false_condition_mentions_the_condition(model, store) -> None:
    result = check(model, store, user="user:carol", relation="owner", object="document:readme", context={"hour": 20})
    assert not result.allowed
    assert result.explanation.reasons == (
        "[user with in_office]: tuple document:readme#owner@user:carol exists but its condition 'in_office' is not met",)
    allowed = check(model, store, user="user:carol", relation="viewer", object="document:readme", context={"hour": 10})
    assert allowed.allowed
    assert [s.via for s in allowed.explanation.path] == ["exclusion", "computed", "direct"]


def test_unreachable_user_type_is_explained_without_reads(model, store) -> None:
    result = check(model, store, user="org:acme#member", relation="blocked", object="document:readme")
    assert not result.allowed
    assert result.explanation.reasons == ("the model has no path from org#member users to document#blocked",)


def test_intersection_lists_the_other_required_branches() -> None:
    model = load_model("model\n  schema 1.1\ntype user\ntype doc\n  relations\n    define a: [user]\n"
                       "    define b: [user]\n    define both: a and b\n")
    store = MemoryTupleStore([key("user:x", "a", "doc:1"), key("user:x", "b", "doc:1")])
    expl = check(model, store, user="user:x", relation="both", object="doc:1").explanation
    assert [s.via for s in expl.path] == ["intersection", "computed", "direct"]
    assert [[s.relation for s in branch] for branch in expl.also_required] == [["both", "b"]]
    denied = check(model, MemoryTupleStore([key("user:x", "a", "doc:1")]), user="user:x", relation="both",
                   object="doc:1").explanation
    assert denied.reasons == ("all of (a and b) are required; b: user:x is not b of doc:1",)


def test_explain_false_skips_the_explanation(model, store) -> None:
    result = check(model, store, user="user:anne", relation="viewer", object="document:readme", explain=False)
    assert result.allowed and result.explanation.path == ()
