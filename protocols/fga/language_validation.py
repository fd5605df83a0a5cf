"""Semantic validation of OpenFGA models, as the modelling-language validator reports it.

Implements the checks of github.com/openfga/language ``validateDSL`` / ``validateJSON``
(``pkg/js/validator/validate-dsl.ts``), in the same phases and order, so that the fixtures in
``dsl-semantic-validation-cases.yaml`` and ``json-validation-cases.yaml`` match error for error:

1. names: reserved ``self``/``this`` type and relation names, naming rules
   ``^[^:#@\\*\\s]{1,254}$`` (types) and ``^[^:#@\\*\\s]{1,50}$`` (relations);
2. schema version: required, and ``1.1`` (or ``1.2`` for modular models);
3. references (breadth-first over each rewrite): unknown types, relations and conditions in
   type restrictions, unknown computed relations, ``x from y`` whose tupleset ``y`` is missing, is
   not a pure direct relation or admits usersets/wildcards, or whose ``x`` exists on none of
   ``y``'s types;
4. only if 3 found nothing: duplicate types, type restrictions and partial definitions;
5. only if still clean: entrypoints — every relation must be satisfiable by some tuple other than
   through itself (``no entrypoint`` / ``potential loop``);
6. unused conditions.

Error positions come from the parser's :class:`SourceMap` (0-based line and columns).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from protocols.fga.dsl_lexer import SourceMap
from protocols.fga.language_errors import ErrorType, LanguageError, Span
from protocols.fga.model import (
    AuthorizationModel, ComputedUserset, Difference, Intersection, Relation, Rewrite, This,
    TupleToUserset, TypeDefinition, Union,
)

TYPE_RULE = r"^[^:#@\*\s]{1,254}$"
RELATION_RULE = r"^[^:#@\*\s]{1,50}$"
_TYPE_RE = re.compile(TYPE_RULE)
_RELATION_RE = re.compile(RELATION_RULE)
_RESERVED = ("self", "this")


class _Collector:
    def __init__(self, model: AuthorizationModel, source: SourceMap | None) -> None:
        self.model = model
        self.source = source
        self.errors: list[LanguageError] = []
        self.first_type_index: dict[str, int] = {}
        for k, t in enumerate(model.type_definitions):
            self.first_type_index.setdefault(t.name, k)

    def add(self, msg: str, error_type: ErrorType, symbol: str, span: Span | None) -> None:
        self.errors.append(LanguageError(msg=msg, span=span, symbol=symbol, error_type=error_type.value,
                                         file=span.file if span is not None else ""))

    # -- span lookups ----------------------------------------------------------------------------
    def type_span(self, name: str) -> Span | None:
        if self.source is None:
            return None
        k = self.first_type_index.get(name)
        return self.source.types[k] if k is not None and k < len(self.source.types) else None

    def relation_span(self, type_index: int, relation: str) -> Span | None:
        return None if self.source is None else self.source.relations.get((type_index, relation))

    def node_span(self, node: Rewrite) -> Span | None:
        return None if self.source is None else self.source.nodes.get(id(node))

    def tupleset_span(self, node: Rewrite) -> Span | None:
        return None if self.source is None else self.source.tuplesets.get(id(node))

    def restriction_span(self, type_index: int, relation: str, k: int) -> Span | None:
        return None if self.source is None else self.source.restrictions.get((type_index, relation, k))

    def restriction_condition_span(self, type_index: int, relation: str, k: int) -> Span | None:
        if self.source is None:
            return None
        return self.source.restriction_conditions.get((type_index, relation, k))

    def condition_span(self, name: str) -> Span | None:
        return None if self.source is None else self.source.conditions.get(name)


def _bfs_leaves(rewrite: Rewrite) -> Iterable[Rewrite]:
    queue = [rewrite]
    while queue:
        node = queue.pop(0)
        if isinstance(node, (Union, Intersection)):
            queue.extend(node.children)
        elif isinstance(node, Difference):
            queue.extend((node.base, node.subtract))
        else:
            yield node


def _partial_name(node: Rewrite) -> str:
    if isinstance(node, ComputedUserset):
        return node.relation
    if isinstance(node, TupleToUserset):
        return f"{node.computed_relation} from {node.tupleset}"
    return ""


def _restriction_string(ref) -> str:
    return str(ref)


# -- phase 1: names ---------------------------------------------------------------------------------


def _check_names(c: _Collector) -> None:
    for k, t in enumerate(c.model.type_definitions):
        if t.name in _RESERVED:
            c.add("a type cannot be named 'self' or 'this'.", ErrorType.RESERVED_TYPE_KEYWORDS, t.name,
                  c.type_span(t.name))
        if not _TYPE_RE.match(t.name):
            c.add(f"type '{t.name}' does not match naming rule: '{TYPE_RULE}'.", ErrorType.INVALID_NAME,
                  t.name, c.type_span(t.name))
        for r in t.relations:
            if r.name in _RESERVED:
                c.add("a relation cannot be named 'self' or 'this'.", ErrorType.RESERVED_RELATION_KEYWORDS,
                      r.name, c.relation_span(k, r.name))
            elif not _RELATION_RE.match(r.name):
                c.add(f"relation '{r.name}' of type '{t.name}' does not match naming rule: '{RELATION_RULE}'.",
                      ErrorType.INVALID_NAME, r.name, c.relation_span(k, r.name))


# -- phase 3: references ----------------------------------------------------------------------------


def _check_leaf(c: _Collector, types: dict[str, TypeDefinition], k: int, t: TypeDefinition,
                rel: Relation, leaf: Rewrite) -> None:
    model = c.model
    if isinstance(leaf, This):
        refs = rel.directly_related_user_types
        if not refs:
            c.add(f"assignable relation '{rel.name}' must have types", ErrorType.ASSIGNABLE_RELATIONS_MUST_HAVE_TYPE,
                  rel.name, c.relation_span(k, rel.name))
        for j, ref in enumerate(refs):
            span = c.restriction_span(k, rel.name, j)
            if ref.type not in types:
                tspan = None if span is None else Span(span.line, span.start, span.start + len(ref.type), span.file)
                c.add(f"`{ref.type}` is not a valid type.", ErrorType.INVALID_TYPE, ref.type, tspan)
            if ref.condition and model.condition(ref.condition) is None:
                c.add(f"`{ref.condition}` is not a defined condition in the model.",
                      ErrorType.CONDITION_NOT_DEFINED, ref.condition,
                      c.restriction_condition_span(k, rel.name, j))
            if ref.relation and not ref.wildcard:
                target = types.get(ref.type)
                if target is None or target.relation(ref.relation) is None:
                    c.add(f"`{ref.relation}` is not a valid relation for `{ref.type}`.",
                          ErrorType.INVALID_RELATION_TYPE, ref.key, span)
    elif isinstance(leaf, ComputedUserset):
        if t.relation(leaf.relation) is None:
            c.add(f"the relation `{leaf.relation}` does not exist.", ErrorType.MISSING_DEFINITION,
                  leaf.relation, c.node_span(leaf))
    elif isinstance(leaf, TupleToUserset):
        symbol = f"{leaf.computed_relation} from {leaf.tupleset}"
        tupleset = t.relation(leaf.tupleset)
        if tupleset is None:
            c.add(f"`{leaf.tupleset}` is not a valid relation for `{t.name}`.", ErrorType.INVALID_RELATION_TYPE,
                  symbol, c.node_span(leaf))
            return
        if not isinstance(tupleset.rewrite, This):
            c.add(f"`{leaf.tupleset}` relation used inside from allows only direct relation.",
                  ErrorType.TUPLESET_NOT_DIRECT, leaf.tupleset, c.tupleset_span(leaf))
            return
        refs = tupleset.directly_related_user_types
        missing: list[str] = []
        for ref in refs:
            if ref.wildcard or ref.relation:
                c.add(f"`{leaf.tupleset}` relation used inside from allows only direct relation.",
                      ErrorType.TUPLESET_NOT_DIRECT, leaf.tupleset, c.tupleset_span(leaf))
            else:
                target = types.get(ref.type)
                if target is None or target.relation(leaf.computed_relation) is None:
                    missing.append(ref.type)
        if missing and len(missing) == len(refs):
            for type_name in missing:
                c.add(f"the `{leaf.computed_relation}` relation definition on type `{t.name}` is not valid: "
                      f"`{leaf.computed_relation}` does not exist on `{leaf.tupleset}`, which is of type "
                      f"`{type_name}`.", ErrorType.INVALID_RELATION_ON_TUPLESET, symbol, c.node_span(leaf))


def _check_references(c: _Collector, types: dict[str, TypeDefinition]) -> None:
    for k, t in enumerate(c.model.type_definitions):
        for rel in t.relations:
            for leaf in _bfs_leaves(rel.rewrite):
                _check_leaf(c, types, k, t, rel, leaf)


# -- phase 4: duplicates ----------------------------------------------------------------------------


def _check_duplicates(c: _Collector) -> None:
    seen_types: set[str] = set()
    for k, t in enumerate(c.model.type_definitions):
        if t.name in seen_types:
            c.add(f"the type `{t.name}` is a duplicate.", ErrorType.DUPLICATED_ERROR, t.name, c.type_span(t.name))
        seen_types.add(t.name)
        for rel in t.relations:
            first_at: dict[str, int] = {}
            for j, ref in enumerate(rel.directly_related_user_types):
                key = _restriction_string(ref)
                if key in first_at:
                    c.add(f"the type restriction `{key}` is a duplicate in the relation `{rel.name}`.",
                          ErrorType.DUPLICATED_ERROR, key, c.restriction_span(k, rel.name, first_at[key]))
                else:
                    first_at[key] = j
            rw = rel.rewrite
            groups: list[tuple[Rewrite, ...]] = []
            if isinstance(rw, (Union, Intersection)):
                groups.append(rw.children)
            for children in groups:
                first_node: dict[str, Rewrite] = {}
                for child in children:
                    name = _partial_name(child)
                    if name and name in first_node:
                        c.add(f"the partial relation definition `{name}` is a duplicate in the relation `{rel.name}`.",
                              ErrorType.DUPLICATED_ERROR, name, c.node_span(first_node[name]))
                    elif name:
                        first_node[name] = child
            if isinstance(rw, Difference):
                base, sub = _partial_name(rw.base), _partial_name(rw.subtract)
                if base and base == sub:
                    c.add(f"the partial relation definition `{base}` is a duplicate in the relation `{rel.name}`.",
                          ErrorType.DUPLICATED_ERROR, base, c.node_span(rw.base))


# -- phase 5: entrypoints ---------------------------------------------------------------------------


def _entry_point_or_loop(types: dict[str, TypeDefinition], type_name: str, relation: str,
                         rewrite: Rewrite, visited: frozenset[tuple[str, str]]) -> tuple[bool, bool]:
    """Whether ``type_name#relation`` (currently at ``rewrite``) can be satisfied by some tuple,
    and whether a loop back to a relation on the path was met. ``visited`` is the path so far."""
    t = types.get(type_name)
    if t is None or t.relation(relation) is None:
        return False, False
    visited = visited | {(type_name, relation)}
    if isinstance(rewrite, This):
        for ref in t.relation(relation).directly_related_user_types:
            if not ref.relation or ref.wildcard:
                return True, False
            target_type = types.get(ref.type)
            target = target_type.relation(ref.relation) if target_type is not None else None
            if target is None:
                return False, False
            if (ref.type, ref.relation) in visited:
                continue
            entry, _ = _entry_point_or_loop(types, ref.type, ref.relation, target.rewrite, visited)
            if entry:
                return True, False
        return False, False
    if isinstance(rewrite, ComputedUserset):
        target = t.relation(rewrite.relation)
        if target is None:
            return False, False
        if (type_name, rewrite.relation) in visited:
            return False, True
        return _entry_point_or_loop(types, type_name, rewrite.relation, target.rewrite, visited)
    if isinstance(rewrite, TupleToUserset):
        tupleset = t.relation(rewrite.tupleset)
        if tupleset is None:
            return False, False
        for ref in tupleset.directly_related_user_types:
            parent = types.get(ref.type)
            target = parent.relation(rewrite.computed_relation) if parent is not None else None
            if target is None or (ref.type, rewrite.computed_relation) in visited:
                continue
            entry, _ = _entry_point_or_loop(types, ref.type, rewrite.computed_relation, target.rewrite, visited)
            if entry:
                return True, False
        return False, False
    if isinstance(rewrite, Union):
        loop = False
        for child in rewrite.children:
            entry, child_loop = _entry_point_or_loop(types, type_name, relation, child, visited)
            if entry:
                return True, False
            loop = loop or child_loop
        return False, loop
    if isinstance(rewrite, Intersection):
        for child in rewrite.children:
            entry, child_loop = _entry_point_or_loop(types, type_name, relation, child, visited)
            if not entry:
                return False, child_loop
        return True, False
    if isinstance(rewrite, Difference):
        for part in (rewrite.base, rewrite.subtract):
            entry, loop = _entry_point_or_loop(types, type_name, relation, part, visited)
            if not entry:
                return False, loop
        return True, False
    return False, False


def _check_entrypoints(c: _Collector, types: dict[str, TypeDefinition]) -> None:
    for k, t in enumerate(c.model.type_definitions):
        for rel in t.relations:
            entry, loop = _entry_point_or_loop(types, t.name, rel.name, rel.rewrite, frozenset())
            if not entry:
                why = "potential loop" if loop else "no entrypoint"
                c.add(f"`{rel.name}` is an impossible relation for `{t.name}` ({why}).",
                      ErrorType.RELATION_NO_ENTRY_POINT, rel.name, c.relation_span(k, rel.name))


def _check_unused_conditions(c: _Collector) -> None:
    used = {ref.condition for t in c.model.type_definitions for r in t.relations
            for ref in r.directly_related_user_types if ref.condition}
    for cond in c.model.conditions:
        if cond.map_key not in used:
            c.add(f"`{cond.map_key}` condition is not used in the model.", ErrorType.CONDITION_NOT_USED,
                  cond.map_key, c.condition_span(cond.map_key))


def _check_json_only(c: _Collector) -> None:
    for cond in c.model.conditions:
        if cond.key and cond.key != cond.name:
            c.add(f"condition key is `{cond.key}` but nested name property is {cond.name}",
                  ErrorType.DIFFERENT_NESTED_CONDITION_NAME, cond.name, None)
    files: dict[str, list[str]] = {}

    def note(file: str, module: str) -> None:
        if file and module and module not in files.setdefault(file, []):
            files[file].append(module)

    for t in c.model.type_definitions:
        note(t.source_file, t.module)
        for r in t.relations:
            note(r.source_file, r.module)
    for cond in c.model.conditions:
        note(cond.source_file, cond.module)
    for file, modules in files.items():
        if len(modules) > 1:
            c.add(f"file {file} would contain multiple module definitions ({', '.join(modules)}) when "
                  "transforming to DSL. Only one module can be defined per file.",
                  ErrorType.MULTIPLE_MODULES_IN_FILE, file, None)


def validate_model(model: AuthorizationModel, *, source: SourceMap | None = None,
                   json_checks: bool = False, check_unused_conditions: bool = True) -> list[LanguageError]:
    """All semantic errors of ``model`` in the validator's order (empty list when valid)."""
    c = _Collector(model, source)
    _check_names(c)
    if not model.schema_version:
        span = None
        if source is not None:
            span = Span(0, 0, 0, source.file)
        c.add("schema version required", ErrorType.SCHEMA_VERSION_REQUIRED, "", span)
        return c.errors
    if model.schema_version not in ("1.1", "1.2"):
        c.add(f"invalid schema {model.schema_version}", ErrorType.INVALID_SCHEMA, model.schema_version,
              source.schema if source is not None else None)
        return c.errors
    if c.errors:
        return c.errors
    types = {t.name: t for t in model.type_definitions}  # later duplicates win, as in the reference
    _check_references(c, types)
    if not c.errors:
        _check_duplicates(c)
    if not c.errors:
        _check_entrypoints(c, types)
    if check_unused_conditions:
        _check_unused_conditions(c)
    if json_checks:
        _check_json_only(c)
    return c.errors
