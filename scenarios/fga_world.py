"""The ``[fga]`` section of a world file: the authorization model and relationship tuples of a scenario.

```toml
[fga]
store = "acme-corp"                    # optional store name (default "trustbench")
model = \"\"\"
model
  schema 1.1
type user
...
\"\"\"
tuples = [
  { user = "user:sarah", relation = "member", object = "team:sales-emea" },
  { user = "user:sarah", relation = "viewer", object = "resource:docs/x",
    condition = { name = "in_hours", context = { start = 8 } } },
]
```

The model is OpenFGA DSL (schema 1.1), validated as WriteAuthorizationModel would
(``protocols.fga.load_model``); each tuple must fit it (``validate_tuple_for_write``), no tuple may
appear twice. Resource URIs map to objects with ``protocols.fga.rag.object_for_uri``
(``crm://contacts/acme-corp`` → ``resource:crm/contacts/acme-corp``). Problems raise
:class:`FgaSectionError` naming the field, which ``scenarios.world`` turns into a one-line
``WorldError``.
"""

from __future__ import annotations

import re
from typing import Any

import attrs

from protocols.fga.api_requests import STORE_NAME_RE
from protocols.fga.errors import FgaError
from protocols.fga.language import load_model, validate_dsl
from protocols.fga.language_errors import LanguageErrors
from protocols.fga.tuples import RelationshipCondition, TupleKey
from protocols.fga.typesystem import CompiledModel
from protocols.fga.validation import validate_tuple_for_write

DEFAULT_STORE_NAME = "trustbench"


class FgaSectionError(ValueError):
    """``where`` (e.g. ``.tuples[3]``) and a one-line ``problem``; for a model error, ``model_line``
    is the 0-based line of the DSL text the language reports it at (``None`` when it names none)."""

    def __init__(self, where: str, problem: str, *, model_line: int | None = None) -> None:
        super().__init__(f"fga{where}: {problem}")
        self.where = where
        self.problem = problem
        self.model_line = model_line


@attrs.frozen(kw_only=True)
class FgaSettings:
    store_name: str
    model: str
    tuples: tuple[TupleKey, ...]
    compiled: CompiledModel = attrs.field(eq=False, repr=False)


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _tuple(raw: Any, where: str) -> TupleKey:
    if not isinstance(raw, dict):
        raise FgaSectionError(where, "expected a table { user = ..., relation = ..., object = ... }")
    unknown = sorted(set(raw) - {"user", "relation", "object", "condition"})
    if unknown:
        raise FgaSectionError(where, f"unknown key {unknown[0]!r}")
    for field in ("user", "relation", "object"):
        if not isinstance(raw.get(field), str) or not raw[field]:
            raise FgaSectionError(f"{where}.{field}", "expected a non-empty string")
    condition = None
    if "condition" in raw:
        cond = raw["condition"]
        if not isinstance(cond, dict) or not isinstance(cond.get("name"), str) or not isinstance(
                cond.get("context", {}), dict):
            raise FgaSectionError(f"{where}.condition", "expected { name = \"...\", context = { ... } }")
        condition = RelationshipCondition.of(cond["name"], cond.get("context"))
    return TupleKey(user=raw["user"], relation=raw["relation"], object=raw["object"], condition=condition)


def _model_error(model: str, error: FgaError) -> FgaSectionError:
    """The first language error with its position in the DSL text (syntax and semantic errors both
    carry one in ``validate_dsl``), else the API error as WriteAuthorizationModel reports it."""
    try:
        if not model.lstrip().startswith("{"):  # a JSON model has no DSL lines to point at
            validate_dsl(model)
    except LanguageErrors as language:
        located = next((e for e in language.errors if e.span is not None), None)
        if located is not None:
            return FgaSectionError(".model", f"{error.code}: {_one_line(located.msg)}", model_line=located.span.line)
    return FgaSectionError(".model", f"{error.code}: {_one_line(error.message)}")


def parse_fga(section: Any) -> FgaSettings | None:
    """The ``[fga]`` table, validated; ``None`` when the world has none."""
    if section is None:
        return None
    if not isinstance(section, dict):
        raise FgaSectionError("", "expected a table")
    unknown = sorted(set(section) - {"store", "model", "tuples"})
    if unknown:
        raise FgaSectionError(f".{unknown[0]}", "unknown key (use store, model, tuples)")
    store_name = section.get("store", DEFAULT_STORE_NAME)
    if not isinstance(store_name, str) or not STORE_NAME_RE.match(store_name):
        raise FgaSectionError(".store", "3 to 64 letters, digits, spaces or . - / ^ _ & @")
    model = section.get("model")
    if not isinstance(model, str) or not model.strip():
        raise FgaSectionError(".model", "expected the model as OpenFGA DSL text")
    try:
        compiled = load_model(model)
    except FgaError as error:
        raise _model_error(model, error) from None
    raw_tuples = section.get("tuples", [])
    if not isinstance(raw_tuples, list):
        raise FgaSectionError(".tuples", "expected an array of tables")
    tuples: list[TupleKey] = []
    seen: dict[tuple[str, str, str], int] = {}
    for i, raw in enumerate(raw_tuples):
        where = f".tuples[{i}]"
        key = _tuple(raw, where)
        try:
            validate_tuple_for_write(compiled, key)
        except FgaError as error:
            raise FgaSectionError(where, _one_line(error.message)) from None
        if key.key in seen:
            raise FgaSectionError(where, f"duplicate of tuples[{seen[key.key]}] ({key})")
        seen[key.key] = i
        tuples.append(key)
    return FgaSettings(store_name=store_name, model=model, tuples=tuple(tuples), compiled=compiled)
