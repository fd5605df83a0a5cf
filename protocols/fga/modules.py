"""Modular models: ``fga.mod`` manifests and combining ``module`` files into one model.

Follows github.com/openfga/language (``transformer/modules/mod-to-json``,
``transformModuleFilesToModel``): an ``fga.mod`` is YAML with ``schema: '1.2'`` and ``contents:``
a list of relative ``.fga`` paths; each listed file starts with ``module <name>`` and holds types,
``extend type`` blocks (adding relations to a type defined in another file) and conditions. The
combined model has schema 1.2, every type and condition tagged with its module and file, and
extended relations tagged with theirs. Errors carry the file name and 0-based positions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import unquote

import attrs
import yaml

from protocols.fga.dsl_lexer import SourceMap
from protocols.fga.dsl_parser import ParsedDsl, parse_dsl_with_source
from protocols.fga.language_errors import (
    DslSyntaxError, LanguageError, ModFileError, ModuleTransformationError, Span,
)
from protocols.fga.language_validation import validate_model
from protocols.fga.model import AuthorizationModel, Condition, Relation, TypeDefinition

# -- fga.mod ----------------------------------------------------------------------------------------


@attrs.frozen
class ModValue:
    """A value of the manifest with its position (``line``/``column`` as in the reference JSON)."""

    value: object
    span_start: tuple[int, int]
    span_end: tuple[int, int]

    def to_json(self) -> dict:
        value = self.value
        if isinstance(value, (list, tuple)):
            value = [v.to_json() for v in value]
        return {"value": value, "line": {"start": self.span_start[0], "end": self.span_end[0]},
                "column": {"start": self.span_start[1], "end": self.span_end[1]}}


@attrs.frozen
class ModFile:
    schema: ModValue
    contents: ModValue

    def to_json(self) -> dict:
        return {"schema": self.schema.to_json(), "contents": self.contents.to_json()}

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(v.value for v in self.contents.value)  # type: ignore[union-attr]


def _node_value(node: yaml.Node) -> ModValue:
    return ModValue(node.value, (node.start_mark.line, node.start_mark.column),
                    (node.end_mark.line, node.end_mark.column))


def _err(msg: str, node: yaml.Node | None) -> LanguageError:
    if node is None:
        span = Span(0, 0, 0)
    else:
        span = Span(node.start_mark.line, node.start_mark.column, node.end_mark.column)
    return LanguageError(msg=msg, span=span, kind="mod-file")


def _is_safe_path(path: str) -> bool:
    decoded = unquote(path).replace("\\", "/")
    if decoded.startswith("/") or re.match(r"^[A-Za-z]:", decoded):
        return False
    return ".." not in decoded.split("/")


def parse_mod_file(text: str) -> ModFile:
    """Parse and check an ``fga.mod`` manifest; raises :class:`ModFileError`."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        span = Span(mark.line, mark.column, mark.column) if mark is not None else Span(0, 0, 0)
        raise ModFileError([LanguageError(msg=f"invalid yaml: {exc}", span=span, kind="mod-file")]) from None
    errors: list[LanguageError] = []
    fields: dict[str, yaml.Node] = {}
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            fields[str(key.value)] = value
    schema_node = fields.get("schema")
    contents_node = fields.get("contents")
    schema = None
    if schema_node is None:
        errors.append(_err("missing schema field", None))
    elif not (isinstance(schema_node, yaml.ScalarNode) and schema_node.tag == "tag:yaml.org,2002:str"):
        errors.append(_err(f"unexpected schema type, expected string got value {schema_node.value}", schema_node))
    elif schema_node.value != "1.2":
        errors.append(_err("unsupported schema version, fga.mod only supported in version `1.2`", schema_node))
    else:
        schema = _node_value(schema_node)
    items: list[ModValue] = []
    if contents_node is None:
        errors.append(_err("missing contents field", None))
    elif not isinstance(contents_node, yaml.SequenceNode):
        errors.append(_err(f"unexpected contents type, expected list of strings got value {contents_node.value}",
                           contents_node))
    else:
        for item in contents_node.value:
            if not (isinstance(item, yaml.ScalarNode) and item.tag == "tag:yaml.org,2002:str"):
                errors.append(_err(f"unexpected contents item type, expected string got value {item.value}", item))
            elif not item.value.endswith(".fga"):
                errors.append(_err(f"contents items should use fga file extension, got {item.value}", item))
            elif not _is_safe_path(item.value):
                errors.append(_err(f"invalid contents item {item.value}", item))
            else:
                items.append(_node_value(item))
    if errors:
        raise ModFileError(errors)
    assert schema is not None and contents_node is not None
    contents = ModValue(tuple(items), (contents_node.start_mark.line, contents_node.start_mark.column),
                        (contents_node.end_mark.line, contents_node.end_mark.column))
    return ModFile(schema=schema, contents=contents)


# -- module files -> model --------------------------------------------------------------------------


def _transformation_error(msg: str, span: Span | None, file: str) -> LanguageError:
    return LanguageError(msg=msg, span=span or Span(0, 0, 0, file), file=file, kind="transformation")


def combine_modules(files: Sequence[tuple[str, str]], *, schema_version: str = "1.2") -> AuthorizationModel:
    """Combine module files ``(name, text)`` into one model; raises :class:`ModuleTransformationError`.

    Files are processed in the order given (the reference test harness sorts them by name).
    """
    errors: list[LanguageError] = []
    types: list[TypeDefinition] = []
    type_spans: list[Span] = []
    combined_src = SourceMap()
    conditions: list[Condition] = []
    seen_types: set[str] = set()
    extensions: list[tuple[str, ParsedDsl, int]] = []
    parsed_files: list[tuple[str, ParsedDsl]] = []

    for name, text in files:
        try:
            parsed = parse_dsl_with_source(text, file=name)
        except DslSyntaxError as exc:
            errors.extend(attrs.evolve(e, file=name) for e in exc.errors)
            continue
        if not parsed.module:
            errors.append(_transformation_error("file is not a module", Span(0, 0, 0, name), name))
            continue
        parsed_files.append((name, parsed))
        src = parsed.source
        for k, t in enumerate(parsed.model.type_definitions):
            if k in parsed.extension_indexes:
                extensions.append((name, parsed, k))
                continue
            if t.name in seen_types:
                errors.append(_transformation_error(f"duplicate type definition {t.name}", src.types[k], name))
                continue
            seen_types.add(t.name)
            new_index = len(types)
            types.append(attrs.evolve(t, module=parsed.module, source_file=name))
            type_spans.append(src.types[k])
            _copy_type_sources(src, k, combined_src, new_index, t.relations)
        for cond in parsed.model.conditions:
            if any(c.name == cond.name for c in conditions):
                errors.append(_transformation_error(f"duplicate condition {cond.name}",
                                                    src.conditions.get(cond.name), name))
                continue
            conditions.append(attrs.evolve(cond, module=parsed.module, source_file=name))
            if cond.name in src.conditions:
                combined_src.conditions[cond.name] = src.conditions[cond.name]

    for name, parsed, k in extensions:
        src = parsed.source
        ext = parsed.model.type_definitions[k]
        index = next((i for i, t in enumerate(types) if t.name == ext.name), None)
        if index is None:
            errors.append(_transformation_error(f"extended type {ext.name} does not exist", src.types[k], name))
            continue
        original = types[index]
        added: list[Relation] = []
        for rel in ext.relations:
            if original.relation(rel.name) is not None or any(r.name == rel.name for r in added):
                errors.append(_transformation_error(f"relation {rel.name} already exists on type {ext.name}",
                                                    src.relations.get((k, rel.name)), name))
                continue
            added.append(attrs.evolve(rel, module=parsed.module, source_file=name))
        if added:
            types[index] = attrs.evolve(original, relations=original.relations + tuple(added))
            _copy_type_sources(src, k, combined_src, index, tuple(added))

    combined_src.types = type_spans
    model = AuthorizationModel(schema_version=schema_version, type_definitions=tuple(types),
                               conditions=tuple(conditions))
    errors.extend(validate_model(model, source=combined_src))
    if errors:
        raise ModuleTransformationError(errors)
    return model


def _copy_type_sources(src: SourceMap, k: int, dst: SourceMap, index: int, relations: tuple[Relation, ...]) -> None:
    for rel in relations:
        if (k, rel.name) in src.relations:
            dst.relations[(index, rel.name)] = src.relations[(k, rel.name)]
        for j in range(len(rel.directly_related_user_types)):
            if (k, rel.name, j) in src.restrictions:
                dst.restrictions[(index, rel.name, j)] = src.restrictions[(k, rel.name, j)]
            if (k, rel.name, j) in src.restriction_conditions:
                dst.restriction_conditions[(index, rel.name, j)] = src.restriction_conditions[(k, rel.name, j)]
    dst.nodes.update(src.nodes)
    dst.tuplesets.update(src.tuplesets)
