"""Rendering an OpenFGA model as DSL text (the JSON → DSL direction of the transformer).

Output format of github.com/openfga/language ``transformJSONToDSL``: a ``model`` / ``schema``
header, a blank line before each type, ``relations`` with one ``define`` per line (4-space
indent), conditions sorted by name with parameters sorted by name, each followed by a blank line.
In a union or intersection the direct assignment ``[...]`` is moved to the front; a model whose
direct assignment cannot be written first (``x but not [user]``, two ``[...]`` in one relation)
is refused with the reference message. Modular models (types carrying ``module`` metadata) are
ordered by module, file and name and may carry ``# module: m, file: f`` comments.
"""

from __future__ import annotations

from protocols.fga.language_errors import JsonToDslError
from protocols.fga.model import (
    AuthorizationModel, ComputedUserset, Condition, Difference, Intersection, Relation, RelationReference,
    Rewrite, This, TupleToUserset, TypeDefinition, Union,
)


def _restrictions(refs: tuple[RelationReference, ...]) -> str:
    return "[" + ", ".join(str(r) for r in refs) + "]"


def _direct_first(children: tuple[Rewrite, ...]) -> tuple[Rewrite, ...]:
    for k, child in enumerate(children):
        if isinstance(child, This):
            return (child,) + children[:k] + children[k + 1:]
    return children


def _first_position(rewrite: Rewrite) -> bool:
    """Whether the (single) direct assignment of ``rewrite`` is in a position the DSL can write."""
    if isinstance(rewrite, This):
        return True
    if isinstance(rewrite, Difference):
        return _first_position(rewrite.base)
    if isinstance(rewrite, (Union, Intersection)) and rewrite.children:
        first = _direct_first(rewrite.children)[0]
        return _first_position(first)
    return False


class _Renderer:
    def __init__(self, relation: Relation) -> None:
        self.relation = relation
        self.direct_count = 0

    def sub(self, rw: Rewrite) -> str:
        if isinstance(rw, This):
            self.direct_count += 1
            return _restrictions(self.relation.directly_related_user_types)
        if isinstance(rw, ComputedUserset):
            return rw.relation
        if isinstance(rw, TupleToUserset):
            return f"{rw.computed_relation} from {rw.tupleset}"
        return f"({self.top(rw)})"

    def top(self, rw: Rewrite) -> str:
        if isinstance(rw, Union):
            return " or ".join(self.sub(c) for c in _direct_first(rw.children))
        if isinstance(rw, Intersection):
            return " and ".join(self.sub(c) for c in _direct_first(rw.children))
        if isinstance(rw, Difference):
            return f"{self.sub(rw.base)} but not {self.sub(rw.subtract)}"
        return self.sub(rw)


def relation_to_dsl(type_name: str, relation: Relation) -> str:
    """The text after ``define name: `` for one relation."""
    r = _Renderer(relation)
    text = r.top(relation.rewrite)
    if r.direct_count == 0 or (r.direct_count == 1 and _first_position(relation.rewrite)):
        return text
    raise JsonToDslError(f"the '{relation.name}' relation definition under the '{type_name}' type is not "
                         "supported by the OpenFGA DSL syntax yet")


def _source_key(module: str, file: str, name: str) -> tuple[str, str, str]:
    return (module, file, name)


def _is_modular(model: AuthorizationModel) -> bool:
    return any(t.module for t in model.type_definitions) or any(c.module for c in model.conditions)


def _type_to_dsl(t: TypeDefinition, *, modular: bool, source_info: bool) -> str:
    head = f"\ntype {t.name}"
    if source_info and t.module:
        head += f" # module: {t.module}, file: {t.source_file}"
    if not t.relations:
        return head
    relations = list(t.relations)
    if modular:
        relations.sort(key=lambda r: _source_key(r.module, r.source_file, r.name))
    lines = [head, "\n  relations"]
    for rel in relations:
        line = f"\n    define {rel.name}: {relation_to_dsl(t.name, rel)}"
        if source_info and rel.module:
            line += f" # extended by: module: {rel.module}, file: {rel.source_file}"
        lines.append(line)
    return "".join(lines)


def _condition_to_dsl(c: Condition, *, source_info: bool) -> str:
    if c.key and c.key != c.name:
        raise JsonToDslError(f"the condition key `{c.key}` does not match the condition name `{c.name}`")
    params = ", ".join(f"{name}: {ptype}" for name, ptype in sorted(c.parameters))
    tail = f" # module: {c.module}, file: {c.source_file}" if source_info and c.module else ""
    return f"\ncondition {c.map_key}({params}) {{\n  {c.expression}\n}}{tail}\n"


def model_to_dsl(model: AuthorizationModel, *, include_source_information: bool = False) -> str:
    """DSL text for ``model``; raises :class:`JsonToDslError` when the DSL cannot express it."""
    modular = _is_modular(model)
    types = list(model.type_definitions)
    conditions = list(model.conditions)
    if modular:
        types.sort(key=lambda t: _source_key(t.module, t.source_file, t.name))
        conditions.sort(key=lambda c: _source_key(c.module, c.source_file, c.map_key))
    else:
        conditions.sort(key=lambda c: c.map_key)
    out = f"model\n  schema {model.schema_version or '1.1'}\n"
    if types:
        out += "\n".join(_type_to_dsl(t, modular=modular, source_info=include_source_information)
                         for t in types) + "\n"
    out += "".join(_condition_to_dsl(c, source_info=include_source_information) for c in conditions)
    return out
