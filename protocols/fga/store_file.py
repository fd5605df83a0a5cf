"""Store test files (``*.fga.yaml``) as used by ``fga model test``: validation and evaluation.

A store file holds a model (``model`` text or ``model_file`` path), tuples and tests, each test
with extra tuples and ``check`` / ``list_objects`` / ``list_users`` assertions
(github.com/openfga/cli ``store.fga.yaml``; schema in github.com/openfga/language
``pkg/js/validator/validate-store.ts``). :func:`validate_store_file` reports schema problems in the
ajv error shape the language fixtures use (``keyword``, ``instancePath``, ``schemaPath``,
``params``, ``message``); :func:`run_store_tests` evaluates every assertion with this engine and
returns the failures. Reading ``model_file`` is the caller's job (``load_file`` callback).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from protocols.fga.check import check
from protocols.fga.errors import FgaError
from protocols.fga.language import load_model
from protocols.fga.list_objects import list_objects
from protocols.fga.list_users import list_users
from protocols.fga.tuples import MemoryTupleStore, TupleKey

_TUPLE = {"user", "relation", "object", "condition"}
_ROOT = {"name", "model_file", "model", "tuple_file", "tuples", "tests"}
_TEST = {"name", "description", "tuple_file", "tuples", "check", "list_objects", "list_users"}
_CHECK = {"user", "users", "object", "objects", "assertions", "context"}
_LIST_OBJECTS = {"user", "relation", "type", "assertions", "context"}
_LIST_USERS = {"object", "user_filter", "context", "assertions"}


@attrs.frozen(kw_only=True)
class StoreFileError:
    """One schema error, shaped like an ajv ``ErrorObject``."""

    keyword: str
    instance_path: str
    schema_path: str
    message: str
    params: Mapping[str, Any] = attrs.field(factory=dict, eq=False)

    def to_json(self) -> dict[str, Any]:
        return {"keyword": self.keyword, "instancePath": self.instance_path, "schemaPath": self.schema_path,
                "params": dict(self.params), "message": self.message}


def _additional(obj: Mapping[str, Any], allowed: set[str], path: str, schema_path: str,
                errors: list[StoreFileError]) -> None:
    for key in obj:
        if key not in allowed:
            errors.append(StoreFileError(keyword="additionalProperties", instance_path=path,
                                         schema_path=f"{schema_path}/additionalProperties",
                                         params={"additionalProperty": key},
                                         message="must NOT have additional properties"))


def _tuples(items: Any, path: str, schema_path: str, errors: list[StoreFileError]) -> None:
    for k, t in enumerate(items if isinstance(items, list) else []):
        if isinstance(t, Mapping):
            _additional(t, _TUPLE, f"{path}/{k}", f"{schema_path}/items", errors)
            for req in ("user", "relation", "object"):
                if req not in t:
                    errors.append(StoreFileError(keyword="required", instance_path=f"{path}/{k}",
                                                 schema_path=f"{schema_path}/items/required",
                                                 params={"missingProperty": req},
                                                 message=f"must have required property '{req}'"))


def validate_store_file(data: Any) -> list[StoreFileError]:
    """Schema errors of a parsed store file (empty when valid)."""
    errors: list[StoreFileError] = []
    if not isinstance(data, Mapping):
        return [StoreFileError(keyword="type", instance_path="", schema_path="#/type", params={"type": "object"},
                               message="must be object")]
    if "tests" not in data:
        errors.append(StoreFileError(keyword="required", instance_path="", schema_path="#/required",
                                     params={"missingProperty": "tests"}, message="must have required property 'tests'"))
    _additional(data, _ROOT, "", "#", errors)
    _tuples(data.get("tuples"), "/tuples", "#/properties/tuples", errors)
    base = "#/properties/tests/items/properties"
    for i, test in enumerate(data.get("tests") or []):
        if not isinstance(test, Mapping):
            continue
        _additional(test, _TEST, f"/tests/{i}", "#/properties/tests/items", errors)
        _tuples(test.get("tuples"), f"/tests/{i}/tuples", f"{base}/tuples", errors)
        for field, allowed in (("check", _CHECK), ("list_objects", _LIST_OBJECTS), ("list_users", _LIST_USERS)):
            for j, item in enumerate(test.get(field) or []):
                if isinstance(item, Mapping):
                    _additional(item, allowed, f"/tests/{i}/{field}/{j}", f"{base}/{field}/items", errors)
    if "model" not in data and "model_file" not in data:
        errors.append(StoreFileError(keyword="valid_store", instance_path="", schema_path="#/valid_store",
                                     message="'model' or 'model_file' must be presenet keys."))
    return errors


def _keys(items: Any) -> list[TupleKey]:
    return [TupleKey.from_json(t) for t in items or []]


def run_store_tests(data: Mapping[str, Any], *, load_file: Callable[[str], str] | None = None) -> list[str]:
    """Evaluate every assertion of a valid store file; returns one message per failed assertion."""
    model_text = data.get("model")
    if model_text is None:
        if load_file is None:
            raise ValueError("the store file names a model_file but no load_file callback was given")
        model_text = load_file(data["model_file"])
    compiled = load_model(model_text)
    failures: list[str] = []
    base = _keys(data.get("tuples"))
    for test in data.get("tests") or []:
        store = MemoryTupleStore()
        keys = base + _keys(test.get("tuples"))
        for k in range(0, len(keys), 40):
            store.write(keys[k:k + 40], on_duplicate="ignore")
        name = test.get("name", "")
        for item in test.get("check") or []:
            users = item.get("users") or [item.get("user")]
            objects = item.get("objects") or [item.get("object")]
            for user in users:
                for obj in objects:
                    for relation, expected in (item.get("assertions") or {}).items():
                        try:
                            got: Any = check(compiled, store, user=user, relation=relation, object=obj,
                                             context=item.get("context"), explain=False).allowed
                        except FgaError as exc:
                            got = f"error {exc.numeric_code}"
                        if got != expected:
                            failures.append(f"{name}: check {obj}#{relation}@{user}: expected {expected}, got {got}")
        for item in test.get("list_objects") or []:
            for relation, expected in (item.get("assertions") or {}).items():
                try:
                    got = sorted(list_objects(compiled, store, type=item["type"], relation=relation, user=item["user"],
                                              context=item.get("context")).objects)
                except FgaError as exc:
                    got = f"error {exc.numeric_code}"
                if got != sorted(expected or []):
                    failures.append(f"{name}: list_objects {item['type']}#{relation}@{item['user']}: "
                                    f"expected {sorted(expected or [])}, got {got}")
        for item in test.get("list_users") or []:
            filters = [(f["type"] + ("#" + f["relation"] if f.get("relation") else "")) for f in item["user_filter"]]
            for relation, expected in (item.get("assertions") or {}).items():
                want = sorted((expected or {}).get("users") or [])
                try:
                    got = sorted(list_users(compiled, store, object=item["object"], relation=relation,
                                            user_filters=filters, context=item.get("context")).users)
                except FgaError as exc:
                    got = f"error {exc.numeric_code}"
                if got != want:
                    failures.append(f"{name}: list_users {item['object']}#{relation} {filters}: expected {want}, got {got}")
    return failures
