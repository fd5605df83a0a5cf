"""The OpenFGA modelling-language fixtures (``shared/conformance/openfga-language``), every case.

- ``dsl-syntax-validation-cases.yaml``: non-empty ``expected_errors`` ⇒ parsing fails, else it
  succeeds (upstream Go asserts only that; ANTLR messages differ across runtimes).
- ``dsl-semantic-validation-cases.yaml``: exactly the listed errors, in order — message, 0-based
  line and column range, ``errorType`` and (when given) ``symbol``.
- ``transformer/*``: DSL → JSON equals ``authorization-model.json`` (protojson-normalised) and
  JSON → DSL equals ``authorization-model.fga`` byte for byte.
- ``json-syntax-transformer-validation-cases.yaml``: JSON → DSL succeeds or fails with the message.
- ``json-validation-cases.yaml``: validating the JSON model gives exactly the listed errors.
- ``fga-mod-transformer-cases.yaml``: the parsed manifest with positions, or the listed errors.
- ``transformer-module/*``: combining the module files gives the JSON model, ``combined.fga``,
  ``combined-sourceinfo.fga`` and the module list, or exactly the listed errors in order.
- ``stores/*``: store files validate (ajv-shaped errors) and valid ones' assertions all pass.
- ``object-id-validation-cases.yaml``: the object-id rule.

Excluded cases (also skipped upstream with ``skip: true``): the semantic cases "cycle 3 should
fail" … "cycle 6 should fail". Their expectations contradict OpenFGA's entrypoint rule — e.g.
``define x: [user] or y`` has the direct entrypoint ``[user]`` — and none of the reference
validators (Go, JS, Java) reports those errors. The other ``skip: true`` cases ("union does not
require all child to have entry" ×3) are run and pass.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from protocols.fga import (
    DslSyntaxError, JsonToDslError, ModFileError, ModuleTransformationError, combine_modules, model_from_json,
    model_to_dsl, model_to_json, normalize_model_json, parse_dsl, parse_dsl_with_source, parse_mod_file,
)
from protocols.fga.language_validation import validate_model
from protocols.fga.store_file import run_store_tests, validate_store_file
from protocols.fga.tuples import is_valid_object_id
from tests.protocols.fga.conformance_data import LANGUAGE, load_yaml, require, yaml_or_empty

EXCLUDED_SEMANTIC = {
    "cycle 3 should fail": "skip: true upstream; `x: [user] or y` has an entrypoint, no reference validator reports it",
    "cycle 4 should fail": "skip: true upstream; `x: [user] but not y` has an entrypoint, no reference validator reports it",
    "cycle 5 should fail": "skip: true upstream; every relation has the direct entrypoint [user]",
    "cycle 6 should fail": "skip: true upstream; every relation has the direct entrypoint [user]",
}


def _yaml_cases(name: str, key: str = "name"):
    data = yaml_or_empty(LANGUAGE / name)
    if data is None:
        return [pytest.param(None, id="missing-data")]
    seen: dict[str, int] = {}
    out = []
    for case in data:
        label = str(case[key])
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            label = f"{label} ({seen[label]})"
        marks = ()
        if case.get("name") in EXCLUDED_SEMANTIC and name.startswith("dsl-semantic"):
            marks = (pytest.mark.skip(reason=EXCLUDED_SEMANTIC[case["name"]]),)
        out.append(pytest.param(case, id=label, marks=marks))
    return out


def _dirs(name: str):
    base = LANGUAGE / name
    if not base.exists():
        return [pytest.param(None, id="missing-data")]
    return [pytest.param(p, id=p.name) for p in sorted(base.iterdir()) if p.is_dir()]


# -- DSL syntax --------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _yaml_cases("dsl-syntax-validation-cases.yaml"))
def test_dsl_syntax(case) -> None:
    require(LANGUAGE / "dsl-syntax-validation-cases.yaml")
    expect_error = bool(case.get("expected_errors"))
    try:
        parse_dsl_with_source(case["dsl"])
    except DslSyntaxError as exc:
        assert expect_error, f"unexpected syntax error: {exc}"
        assert all(e.span is not None for e in exc.errors)
        return
    assert not expect_error, f"expected a syntax error like {case['expected_errors'][0]['msg']!r}, parsed fine"


# -- semantic validation -----------------------------------------------------------------------------


def _error_tuple(e) -> dict:
    out = {"msg": e.msg, "errorType": e.error_type}
    if e.span is not None:
        out["line"], out["column"] = (e.span.line, e.span.line), (e.span.start, e.span.end)
    return out


@pytest.mark.parametrize("case", _yaml_cases("dsl-semantic-validation-cases.yaml"))
def test_dsl_semantic_validation(case) -> None:
    require(LANGUAGE / "dsl-semantic-validation-cases.yaml")
    parsed = parse_dsl_with_source(case["dsl"])
    errors = validate_model(parsed.model, source=parsed.source)
    expected = case.get("expected_errors") or []
    got = [_error_tuple(e) for e in errors]
    want = [{"msg": x["msg"], "errorType": x["metadata"]["errorType"],
             "line": (x["line"]["start"], x["line"]["end"]),
             "column": (x["column"]["start"], x["column"]["end"])} for x in expected]
    assert got == want
    for e, x in zip(errors, expected):
        if "symbol" in x["metadata"]:
            assert e.symbol == x["metadata"]["symbol"], e


# -- transformer -------------------------------------------------------------------------------------


@pytest.mark.parametrize("case_dir", _dirs("transformer"))
def test_transform_dsl_to_json(case_dir: Path | None) -> None:
    require(LANGUAGE / "transformer")
    assert case_dir is not None
    if (case_dir / "test.skip").exists():
        pytest.skip("test.skip upstream")
    dsl = (case_dir / "authorization-model.fga").read_text()
    expected = json.loads((case_dir / "authorization-model.json").read_text())
    model = parse_dsl(dsl)
    assert normalize_model_json(model_to_json(model)) == normalize_model_json(expected)


@pytest.mark.parametrize("case_dir", _dirs("transformer"))
def test_transform_json_to_dsl(case_dir: Path | None) -> None:
    require(LANGUAGE / "transformer")
    assert case_dir is not None
    if (case_dir / "test.skip").exists():
        pytest.skip("test.skip upstream")
    expected = (case_dir / "authorization-model.fga").read_text()
    model = model_from_json(json.loads((case_dir / "authorization-model.json").read_text()))
    assert model_to_dsl(model) == expected


@pytest.mark.parametrize("case", _yaml_cases("json-syntax-transformer-validation-cases.yaml"))
def test_json_to_dsl_validation(case) -> None:
    require(LANGUAGE / "json-syntax-transformer-validation-cases.yaml")
    model = model_from_json(json.loads(case["json"]))
    if case.get("error_message"):
        with pytest.raises(JsonToDslError) as info:
            model_to_dsl(model)
        assert str(info.value) == case["error_message"]
    else:
        reparsed = parse_dsl(model_to_dsl(model))  # the rendering is valid DSL for the same relations
        assert [t.relation_names for t in reparsed.type_definitions] == [
            t.relation_names for t in model.type_definitions]


@pytest.mark.parametrize("case", _yaml_cases("json-validation-cases.yaml"))
def test_json_validation(case) -> None:
    require(LANGUAGE / "json-validation-cases.yaml")
    errors = validate_model(model_from_json(json.loads(case["json"])), json_checks=True)
    got = [{"msg": e.msg, "metadata": {"symbol": e.symbol, "errorType": e.error_type}} for e in errors]
    assert got == (case.get("expected_errors") or [])


# -- modules -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _yaml_cases("fga-mod-transformer-cases.yaml"))
def test_fga_mod_file(case) -> None:
    require(LANGUAGE / "fga-mod-transformer-cases.yaml")
    if case.get("expected_errors"):
        with pytest.raises(ModFileError) as info:
            parse_mod_file(case["modFile"])
        got = [{"msg": e.msg, "line": e.line, "column": e.column} for e in info.value.errors]
        assert got == case["expected_errors"]
    else:
        assert parse_mod_file(case["modFile"]).to_json() == json.loads(case["json"])


@pytest.mark.parametrize("case_dir", _dirs("transformer-module"))
def test_module_transformation(case_dir: Path | None) -> None:
    require(LANGUAGE / "transformer-module")
    assert case_dir is not None
    module_dir = case_dir / "module"
    expected_modules = case_dir / "expected_modules.json"
    if not module_dir.exists():
        model = model_from_json(json.loads((case_dir / "authorization-model.json").read_text()))
        assert list(model.modules) == json.loads(expected_modules.read_text())
        return
    files = [(p.name, p.read_text()) for p in sorted(module_dir.glob("*.fga"))]
    errors_file = case_dir / "expected_errors.json"
    if errors_file.exists():
        with pytest.raises(ModuleTransformationError) as info:
            combine_modules(files)
        expected = json.loads(errors_file.read_text())
        got = []
        for e, x in zip(info.value.errors, expected):
            item = {"msg": e.msg, "file": e.file, "line": e.line, "column": e.column}
            if "metadata" in x:
                item["metadata"] = {"errorType": e.error_type}
            if "type" in x:
                item["type"] = e.kind
            got.append(item)
        assert len(info.value.errors) == len(expected)
        assert got == expected
        return
    model = combine_modules(files)
    expected_json = json.loads((case_dir / "authorization-model.json").read_text())
    assert normalize_model_json(model_to_json(model)) == normalize_model_json(expected_json)
    assert model_to_dsl(model) == (case_dir / "combined.fga").read_text()
    assert model_to_dsl(model, include_source_information=True) == (case_dir / "combined-sourceinfo.fga").read_text()
    assert list(model.modules) == json.loads(expected_modules.read_text())


# -- store files and object ids ---------------------------------------------------------------------


@pytest.mark.parametrize("case_dir", _dirs("stores"))
def test_store_file(case_dir: Path | None) -> None:
    require(LANGUAGE / "stores")
    assert case_dir is not None
    data = load_yaml(case_dir / "store.fga.yaml")
    errors = [e.to_json() for e in validate_store_file(data)]
    expected_file = case_dir / "expected_errors.json"
    if expected_file.exists():
        keys = ("keyword", "instancePath", "schemaPath", "params", "message")
        expected = [{k: x.get(k, {}) for k in keys} for x in json.loads(expected_file.read_text())]
        assert errors == expected
        return
    assert errors == []
    failures = run_store_tests(data, load_file=lambda rel: (case_dir / rel).read_text())
    assert failures == []


@pytest.mark.parametrize("case", _yaml_cases("object-id-validation-cases.yaml"))
def test_object_id_validation(case) -> None:
    require(LANGUAGE / "object-id-validation-cases.yaml")
    assert is_valid_object_id(case["object_id"]) is case["valid"]
