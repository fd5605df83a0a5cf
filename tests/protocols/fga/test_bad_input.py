"""Bad input never escapes as a traceback: each path raises its OpenFGA error kind with a readable message."""

from __future__ import annotations

import json

import pytest

from protocols.fga import (
    AuthorizationModelResolutionTooComplex, BatchCheckItem, DslSyntaxError, ExceededEntityLimit, FgaError,
    InvalidAuthorizationModel, InvalidTuple, MemoryTupleStore, ModelValidationError, RelationNotFound,
    RelationshipCondition, TupleKey, TypeNotFound, ValidationError, batch_check, batch_check_to_json, check,
    compile_model,
    list_objects, list_users, model_from_json, parse_dsl, validate_dsl, validate_tuple_for_write,
)
from protocols.fga.errors import (
    CannotAllowDuplicateTuplesInOneRequest, ConditionEvaluationError, ERRORS_BY_CODE, InvalidWriteInput,
    WriteFailedDueToInvalidInput,
)
from protocols.fga.language import load_model
from protocols.fga.tuples import check_write_request

MODEL = """model
  schema 1.1
type user
type group
  relations
    define member: [user, group#member]
type folder
  relations
    define owner: [user]
    define parent: [folder]
    define viewer: [user, user:*, group#member] or owner or viewer from parent
type document
  relations
    define parent: [folder]
    define editor: [user with non_expired]
    define viewer: editor or viewer from parent
condition non_expired(grant_time: timestamp, grant_duration: duration, current_time: timestamp) {
  current_time < grant_time + grant_duration
}
"""


@pytest.fixture(scope="module")
def model():
    return load_model(MODEL)


def key(user: str, relation: str, obj: str, **kw) -> TupleKey:
    return TupleKey(user=user, relation=relation, object=obj, **kw)


def assert_error(exc: FgaError, cls: type[FgaError], code: str, number: int, fragment: str) -> None:
    assert isinstance(exc, cls), exc
    assert exc.code == code and exc.numeric_code == number and exc.status == 400
    assert fragment in exc.message, exc.message
    assert exc.to_json() == {"code": code, "message": exc.message}
    response = exc.to_response()
    assert response.status == 400 and json.loads(response.body)["code"] == code


# -- malformed DSL and invalid models ----------------------------------------------------------------


@pytest.mark.parametrize(("dsl", "fragment", "line"), [
    ("model\n  schema 1.1\ntype user\n  relations\n    define viewer [user]\n", "missing ':'", 4),
    ("type user\n", "expecting", 0),
    ("model\n  schema 1.1\ntype doc\n  relations\n    define v: [user] or [user]\n", "extraneous input '['", 4),
    ("model\n  schema 1.1\ntype doc\n  relations\n    define a: b and c or d\n", "mismatched input", 4),
    ("model\n  schema 1.1\ntype doc\n  relations\n    define v: [user]\n    define v: [user]\n",
     "'v' is already defined in 'doc'", 5),
])
def test_malformed_dsl_is_a_syntax_error_with_position(dsl: str, fragment: str, line: int) -> None:
    with pytest.raises(DslSyntaxError) as info:
        parse_dsl(dsl)
    err = info.value.errors[0]
    assert fragment in err.msg
    assert err.span is not None and err.span.line == line
    assert "syntax error" in str(info.value)


def test_invalid_dsl_becomes_invalid_authorization_model_on_write() -> None:
    with pytest.raises(InvalidAuthorizationModel) as info:
        load_model("model\n  schema 1.1\ntype doc\n  relations\n    define v [user]\n")
    assert_error(info.value, InvalidAuthorizationModel, "invalid_authorization_model", 2056, "missing ':'")


@pytest.mark.parametrize(("dsl", "fragment"), [
    ("model\n  schema 1.1\ntype doc\n  relations\n    define a: b\n    define b: a\n",
     "`a` is an impossible relation for `doc` (potential loop)."),
    ("model\n  schema 1.1\ntype user\ntype doc\n  relations\n    define v: owner\n",
     "the relation `owner` does not exist."),
    ("model\n  schema 1.1\ntype doc\n  relations\n    define v: [usr]\n", "`usr` is not a valid type."),
    ("model\n  schema 1.1\ntype user\ntype doc\n  relations\n    define p: [doc] or v\n    define v: [user] or v from p\n",
     "`p` relation used inside from allows only direct relation."),
    ("model\n  schema 1.1\ntype user\ntype doc\n  relations\n    define v: [user with c]\n",
     "`c` is not a defined condition in the model."),
    ("model\n  schema 1.5\ntype user\n", "invalid schema 1.5"),
])
def test_semantically_invalid_models_are_refused(dsl: str, fragment: str) -> None:
    with pytest.raises(ModelValidationError) as info:
        validate_dsl(dsl)
    assert any(fragment == e.msg for e in info.value.errors), info.value
    with pytest.raises(InvalidAuthorizationModel) as info2:
        load_model(dsl)
    assert fragment in info2.value.message


def test_cyclic_model_error_names_both_relations() -> None:
    with pytest.raises(InvalidAuthorizationModel) as info:
        compile_model(parse_dsl("model\n  schema 1.1\ntype doc\n  relations\n    define a: b\n    define b: a\n"))
    assert "`a` is an impossible relation" in info.value.message
    assert "`b` is an impossible relation" in info.value.message


def test_malformed_json_model_is_a_validation_error() -> None:
    with pytest.raises(ValidationError) as info:
        model_from_json({"schema_version": "1.1", "type_definitions": [{"type": "doc", "relations": {"v": {}}}]})
    assert_error(info.value, ValidationError, "validation_error", 2000, "empty rewrite")
    with pytest.raises(ValidationError):
        model_from_json({"schema_version": "1.1", "type_definitions": "doc"})


def test_too_many_types_is_exceeded_entity_limit() -> None:
    dsl = "model\n  schema 1.1\n" + "".join(f"type t{i}\n" for i in range(101))
    with pytest.raises(ExceededEntityLimit) as info:
        load_model(dsl)
    assert_error(info.value, ExceededEntityLimit, "exceeded_entity_limit", 2053, "limit of 100")


def test_condition_that_does_not_compile_is_refused() -> None:
    dsl = ("model\n  schema 1.1\ntype user\ntype doc\n  relations\n    define v: [user with c]\n"
           "condition c(x: int) {\n  x <\n}\n")
    with pytest.raises(InvalidAuthorizationModel) as info:
        load_model(dsl)
    assert "failed to compile expression on condition 'c'" in info.value.message


# -- tuples that don't fit the model ---------------------------------------------------------------


@pytest.mark.parametrize(("tk", "reason"), [
    (key("user:*", "owner", "folder:1"),
     "the typed wildcard 'user:*' is not an allowed type restriction for 'folder#owner'"),
    (key("group:eng#member", "owner", "folder:1"), "'group#member' is not an allowed type restriction for 'folder#owner'"),
    (key("folder:2", "owner", "folder:1"), "type 'folder' is not an allowed type restriction for 'folder#owner'"),
    (key("user:anne", "editor", "document:1"), "condition is missing"),
    (key("user:anne", "owner", "folder:1", condition=RelationshipCondition.of("non_expired")),
     "invalid condition for type restriction"),
    (key("user:anne", "editor", "document:1", condition=RelationshipCondition.of("nope")), "undefined condition 'nope'"),
    (key("user:anne", "editor", "document:1", condition=RelationshipCondition.of("non_expired", {"bogus": 1})),
     "found invalid context parameter: bogus"),
    (key("group:eng#member", "parent", "document:1"), "unexpected user 'group:eng#member' with tupleset relation"),
    (key("user:anne", "writer", "document:1"), "relation 'document#writer' not found"),
    (key("robot:r2", "owner", "folder:1"), "type 'robot' not found"),
    (key("user:anne", "owner", "cabinet:1"), "type 'cabinet' not found"),
    (key("user:anne", "owner", "folder:*"), "the 'object' field cannot contain a typed wildcard"),
    (key("a:b:c", "owner", "folder:1"), "the 'user' field is malformed"),
    (key("group:eng#nope", "owner", "folder:1"), "relation 'group#nope' not found"),
])
def test_tuple_that_does_not_fit_the_model(model, tk: TupleKey, reason: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate_tuple_for_write(model, tk)
    assert_error(info.value, ValidationError, "validation_error", 2000, f"Invalid tuple '{tk}'. Reason: {reason}")
    with pytest.raises(InvalidTuple) as info2:
        check(model, MemoryTupleStore(), user="user:anne", relation="viewer", object="folder:1", contextual_tuples=[tk])
    assert_error(info2.value, InvalidTuple, "invalid_tuple", 2027, reason)


def test_write_request_rules() -> None:
    store = MemoryTupleStore()
    t = key("user:anne", "owner", "folder:1")
    with pytest.raises(InvalidWriteInput):
        check_write_request([], [])
    with pytest.raises(CannotAllowDuplicateTuplesInOneRequest) as info:
        check_write_request([t], [t])
    assert info.value.numeric_code == 2004
    with pytest.raises(ExceededEntityLimit):
        check_write_request([key(f"user:{i}", "owner", "folder:1") for i in range(101)], [])
    store.write([t])
    with pytest.raises(WriteFailedDueToInvalidInput) as info2:
        store.write([t])
    assert_error(info2.value, WriteFailedDueToInvalidInput, "write_failed_due_to_invalid_input", 2017,
                 "cannot write a tuple which already exists")
    store.write([t], on_duplicate="ignore")
    with pytest.raises(WriteFailedDueToInvalidInput) as info3:
        store.write(deletes=[key("user:bob", "owner", "folder:1")])
    assert "cannot delete a tuple which does not exist" in info3.value.message
    store.write(deletes=[key("user:bob", "owner", "folder:1")], on_missing="ignore")


# -- unknown type / relation in requests -----------------------------------------------------------


def test_check_request_validation(model) -> None:
    store = MemoryTupleStore()
    cases = [
        (dict(user="user:anne", relation="writer", object="document:1"), "relation 'document#writer' not found"),
        (dict(user="user:anne", relation="viewer", object="cabinet:1"), "type 'cabinet' not found"),
        (dict(user="robot:r2", relation="viewer", object="document:1"), "type 'robot' not found"),
        (dict(user="group:eng#boss", relation="viewer", object="document:1"), "relation 'group#boss' not found"),
        (dict(user="a:b:c", relation="viewer", object="document:1"), "invalid 'user' field format"),
        (dict(user="user:anne", relation="viewer", object="document"), "invalid 'object' field format"),
        (dict(user="user:anne", relation="viewer", object="document:*"), "invalid 'object' field format"),
    ]
    for kwargs, fragment in cases:
        with pytest.raises(ValidationError) as info:
            check(model, store, **kwargs)
        assert_error(info.value, ValidationError, "validation_error", 2000, fragment)


def test_list_objects_and_list_users_request_validation(model) -> None:
    store = MemoryTupleStore()
    with pytest.raises(TypeNotFound) as info:
        list_objects(model, store, type="cabinet", relation="viewer", user="user:anne")
    assert_error(info.value, TypeNotFound, "type_not_found", 2021, "type 'cabinet' not found")
    with pytest.raises(RelationNotFound) as info2:
        list_objects(model, store, type="document", relation="writer", user="user:anne")
    assert_error(info2.value, RelationNotFound, "relation_not_found", 2022, "relation 'document#writer' not found")
    with pytest.raises(ValidationError):
        list_objects(model, store, type="document", relation="viewer", user="robot:r2")
    with pytest.raises(TypeNotFound):
        list_users(model, store, object="document:1", relation="viewer", user_filters=["robot"])
    with pytest.raises(RelationNotFound):
        list_users(model, store, object="document:1", relation="viewer", user_filters=["group#boss"])
    with pytest.raises(TypeNotFound):
        list_users(model, store, object="cabinet:1", relation="viewer", user_filters=["user"])
    with pytest.raises(ValidationError) as info3:
        list_users(model, store, object="document:1", relation="viewer", user_filters=["user", "group#member"])
    assert "exactly one user filter" in info3.value.message


# -- conditions --------------------------------------------------------------------------------------


def test_missing_condition_context_is_a_validation_error(model) -> None:
    store = MemoryTupleStore([key("user:anne", "editor", "document:1",
                                  condition=RelationshipCondition.of("non_expired", {"grant_time": "2024-01-01T00:00:00Z",
                                                                                     "grant_duration": "1h"}))])
    with pytest.raises(ConditionEvaluationError) as info:
        check(model, store, user="user:anne", relation="viewer", object="document:1")
    assert_error(info.value, ValidationError, "validation_error", 2000,
                 "failed to evaluate relationship condition 'non_expired': tuple 'document:1#editor@user:anne' is "
                 "missing context parameters ['current_time']")
    ok = check(model, store, user="user:anne", relation="viewer", object="document:1",
               context={"current_time": "2024-01-01T00:30:00Z"})
    late = check(model, store, user="user:anne", relation="viewer", object="document:1",
                 context={"current_time": "2024-01-01T02:00:00Z"})
    assert ok.allowed and not late.allowed
    with pytest.raises(ConditionEvaluationError) as info2:
        check(model, store, user="user:anne", relation="viewer", object="document:1",
              context={"current_time": "yesterday"})
    assert "failed to convert context parameter 'current_time'" in info2.value.message
    with pytest.raises(ConditionEvaluationError):
        list_objects(model, store, type="document", relation="viewer", user="user:anne")
    with pytest.raises(ConditionEvaluationError):
        list_users(model, store, object="document:1", relation="viewer", user_filters=["user"])


def test_condition_error_does_not_hide_another_granting_branch(model) -> None:
    store = MemoryTupleStore([
        key("user:anne", "editor", "document:1", condition=RelationshipCondition.of("non_expired")),
        key("folder:a", "parent", "document:1"),
        key("user:anne", "owner", "folder:a"),
    ])
    assert check(model, store, user="user:anne", relation="viewer", object="document:1").allowed


# -- resolution depth --------------------------------------------------------------------------------


def _chain_model(n: int) -> str:
    lines = ["model", "  schema 1.1", "type user", "type resource", "  relations", "    define a1: [user]"]
    lines += [f"    define a{i}: [resource#a{i - 1}]" for i in range(2, n + 1)]
    return "\n".join(lines) + "\n"


def _chain_tuples(n: int) -> list[TupleKey]:
    out = [key("user:maria", "a1", "resource:1")]
    out += [key(f"resource:1#a{i - 1}", f"a{i}", "resource:1") for i in range(2, n + 1)]
    return out


def test_too_deep_resolution_is_authorization_model_resolution_too_complex() -> None:
    model = load_model(_chain_model(27))
    store = MemoryTupleStore(_chain_tuples(27))
    with pytest.raises(AuthorizationModelResolutionTooComplex) as info:
        check(model, store, user="user:maria", relation="a27", object="resource:1")
    assert_error(info.value, AuthorizationModelResolutionTooComplex, "authorization_model_resolution_too_complex",
                 2002, "too many rewrite rules")
    with pytest.raises(AuthorizationModelResolutionTooComplex):
        list_users(model, store, object="resource:1", relation="a27", user_filters=["user"])
    shallow = load_model(_chain_model(20))
    assert check(shallow, MemoryTupleStore(_chain_tuples(20)), user="user:maria", relation="a20",
                 object="resource:1").allowed
    assert check(model, store, user="user:maria", relation="a27", object="resource:1", max_depth=30).allowed


def test_cycles_in_data_are_false_not_errors() -> None:
    model = load_model("model\n  schema 1.1\ntype user\ntype group\n  relations\n    define member: [user, group#member]\n")
    store = MemoryTupleStore([key("group:a#member", "member", "group:b"), key("group:b#member", "member", "group:a")])
    result = check(model, store, user="user:anne", relation="member", object="group:a")
    assert not result.allowed and result.cycle_detected
    assert result.explanation.cycle_detected


# -- batch check -------------------------------------------------------------------------------------


def test_batch_check_limits_and_per_item_errors(model) -> None:
    store = MemoryTupleStore([key("user:anne", "owner", "folder:1")])
    items = [
        BatchCheckItem(tuple_key=key("user:anne", "viewer", "folder:1"), correlation_id="ok"),
        BatchCheckItem(tuple_key=key("user:anne", "writer", "folder:1"), correlation_id="bad"),
    ]
    out = batch_check(model, store, items)
    assert out["ok"].allowed and out["ok"].error is None
    assert out["bad"].error is not None and out["bad"].error.code == "validation_error"
    assert out["bad"].to_json() == {"error": {"input_error": "validation_error",
                                              "message": "relation 'folder#writer' not found"}}
    body = {"checks": [{"tuple_key": {"user": "user:anne", "relation": "viewer", "object": "folder:1"},
                        "correlation_id": "a"},
                       {"tuple_key": {"user": "user:bob", "relation": "viewer", "object": "folder:1"},
                        "contextual_tuples": {"tuple_keys": [{"user": "user:bob", "relation": "owner",
                                                              "object": "folder:1"}]},
                        "correlation_id": "b"}]}
    parsed = [BatchCheckItem.from_json(c) for c in body["checks"]]
    assert batch_check_to_json(batch_check(model, store, parsed)) == {
        "result": {"a": {"allowed": True}, "b": {"allowed": True}}}
    with pytest.raises(ValidationError):
        BatchCheckItem.from_json({"tuple_key": {"user": 1}, "correlation_id": "x"})
    with pytest.raises(ValidationError, match="duplicate correlation_id"):
        batch_check(model, store, [items[0], items[0]])
    with pytest.raises(ValidationError, match="maximum allowed is 50"):
        batch_check(model, store, [BatchCheckItem(tuple_key=items[0].tuple_key, correlation_id=str(i))
                                   for i in range(51)])


def test_error_classes_round_trip_through_json() -> None:
    for code, cls in ERRORS_BY_CODE.items():
        exc = cls("boom")
        back = FgaError.from_json(exc.to_json(), status=exc.status)
        assert type(back) is cls and back.message == "boom" and back.code == code
