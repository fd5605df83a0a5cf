"""OpenFGA authorization model (schema 1.1 / modular 1.2) as frozen value types.

Mirrors the protobuf messages of ``openfga/v1/authzmodel.proto`` (github.com/openfga/api):
``AuthorizationModel`` → :class:`AuthorizationModel`, ``TypeDefinition`` → :class:`TypeDefinition`,
``Userset`` (``this`` / ``computedUserset`` / ``tupleToUserset`` / ``union`` / ``intersection`` /
``difference``) → the rewrite classes below, ``RelationReference`` → :class:`RelationReference`,
``Condition`` / ``ConditionParamTypeRef`` → :class:`Condition` / :class:`ParamType`.

Relation order, type order and duplicates are kept as written, because the modelling-language
validator reports duplicates and JSON→DSL rendering keeps the order of the JSON document.
"""

from __future__ import annotations

from typing import Union as _Union

import attrs

SCHEMA_1_1 = "1.1"
SCHEMA_1_2 = "1.2"
SUPPORTED_SCHEMA_VERSIONS = (SCHEMA_1_1, SCHEMA_1_2)

PARAM_TYPE_NAMES = ("any", "bool", "string", "int", "uint", "double", "duration", "timestamp",
                    "ipaddress", "map", "list")
"""Short names of ``ConditionParamTypeRef.TypeName`` (``TYPE_NAME_<UPPER>`` on the wire)."""


@attrs.frozen
class RelationReference:
    """One entry of ``directly_related_user_types``: ``type``, ``type:*``, ``type#relation``,
    each optionally ``with condition``."""

    type: str
    relation: str = ""
    wildcard: bool = False
    condition: str = ""

    @property
    def key(self) -> str:
        """The restriction without its condition: ``user``, ``user:*`` or ``group#member``."""
        if self.wildcard:
            return f"{self.type}:*"
        if self.relation:
            return f"{self.type}#{self.relation}"
        return self.type

    def __str__(self) -> str:
        return f"{self.key} with {self.condition}" if self.condition else self.key


# -- relation rewrites (the ``Userset`` oneof) -----------------------------------------------------


@attrs.frozen
class This:
    """Direct assignment ``[...]``: the relation's own tuples (type restrictions in metadata)."""


@attrs.frozen
class ComputedUserset:
    """``relation``: everyone who has ``relation`` on the same object."""

    relation: str


@attrs.frozen
class TupleToUserset:
    """``computed_relation from tupleset``: follow ``object#tupleset@parent`` tuples, then
    ``parent#computed_relation``."""

    tupleset: str
    computed_relation: str


@attrs.frozen
class Union:
    """``a or b or ...`` (one node for a whole chain)."""

    children: tuple[Rewrite, ...]


@attrs.frozen
class Intersection:
    """``a and b and ...``."""

    children: tuple[Rewrite, ...]


@attrs.frozen
class Difference:
    """``base but not subtract``."""

    base: Rewrite
    subtract: Rewrite


Rewrite = _Union[This, ComputedUserset, TupleToUserset, Union, Intersection, Difference]
"""A relation rewrite. Nodes compare by value; the DSL source map keys them by identity."""


def iter_leaves(rewrite: Rewrite):
    """Every leaf (``This``, ``ComputedUserset``, ``TupleToUserset``) of a rewrite, left to right."""
    if isinstance(rewrite, (Union, Intersection)):
        for child in rewrite.children:
            yield from iter_leaves(child)
    elif isinstance(rewrite, Difference):
        yield from iter_leaves(rewrite.base)
        yield from iter_leaves(rewrite.subtract)
    else:
        yield rewrite


def has_this(rewrite: Rewrite) -> bool:
    return any(isinstance(leaf, This) for leaf in iter_leaves(rewrite))


@attrs.frozen
class Relation:
    """One ``define name: ...`` of a type, with its direct type restrictions."""

    name: str
    rewrite: Rewrite
    directly_related_user_types: tuple[RelationReference, ...] = ()
    module: str = ""
    source_file: str = ""


@attrs.frozen
class TypeDefinition:
    """``type name`` and its relations, in the order written."""

    name: str
    relations: tuple[Relation, ...] = ()
    module: str = ""
    source_file: str = ""
    _index: dict[str, Relation] = attrs.field(init=False, eq=False, repr=False, hash=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_index", {r.name: r for r in self.relations})

    def relation(self, name: str) -> Relation | None:
        return self._index.get(name)

    @property
    def relation_names(self) -> tuple[str, ...]:
        return tuple(self._index)


@attrs.frozen
class ParamType:
    """A condition parameter type: ``int``, ``list<string>``, ``map<int>`` ..."""

    name: str
    generic: tuple[ParamType, ...] = ()

    def __str__(self) -> str:
        if self.generic:
            return f"{self.name}<{', '.join(str(g) for g in self.generic)}>"
        return self.name

    @property
    def wire_name(self) -> str:
        return f"TYPE_NAME_{self.name.upper()}"


@attrs.frozen
class Condition:
    """``condition name(p: T, ...) { <CEL> }``; ``key`` is the map key in the JSON form (normally
    equal to ``name``; JSON validation reports a mismatch)."""

    name: str
    expression: str
    parameters: tuple[tuple[str, ParamType], ...] = ()
    key: str = ""
    module: str = ""
    source_file: str = ""

    @property
    def map_key(self) -> str:
        return self.key or self.name

    def parameter(self, name: str) -> ParamType | None:
        for pname, ptype in self.parameters:
            if pname == name:
                return ptype
        return None


@attrs.frozen
class AuthorizationModel:
    """A whole model. ``id`` is empty until a store assigns one (a ULID)."""

    schema_version: str
    type_definitions: tuple[TypeDefinition, ...] = ()
    conditions: tuple[Condition, ...] = ()
    id: str = ""
    _types: dict[str, TypeDefinition] = attrs.field(init=False, eq=False, repr=False, hash=False)
    _conds: dict[str, Condition] = attrs.field(init=False, eq=False, repr=False, hash=False)

    def __attrs_post_init__(self) -> None:
        types: dict[str, TypeDefinition] = {}
        for t in self.type_definitions:
            types.setdefault(t.name, t)
        object.__setattr__(self, "_types", types)
        object.__setattr__(self, "_conds", {c.map_key: c for c in self.conditions})

    def type(self, name: str) -> TypeDefinition | None:
        return self._types.get(name)

    def condition(self, name: str) -> Condition | None:
        return self._conds.get(name)

    def relation(self, type_name: str, relation: str) -> Relation | None:
        t = self._types.get(type_name)
        return t.relation(relation) if t is not None else None

    @property
    def type_names(self) -> tuple[str, ...]:
        return tuple(self._types)

    @property
    def modules(self) -> tuple[str, ...]:
        """Sorted module names used by a modular model (``expected_modules.json``)."""
        names = {t.module for t in self.type_definitions if t.module}
        names |= {r.module for t in self.type_definitions for r in t.relations if r.module}
        names |= {c.module for c in self.conditions if c.module}
        return tuple(sorted(names))

    def with_id(self, model_id: str) -> AuthorizationModel:
        return attrs.evolve(self, id=model_id)
