"""Parser for the OpenFGA modelling language (DSL), schema 1.1 and modular 1.2 files.

Follows the grammar ``OpenFGAParser.g4`` of github.com/openfga/language (reference ``openfga.md``
§2): a ``model`` / ``schema`` header or a ``module`` header, then ``type`` (or ``extend type``)
definitions with their ``define`` lines, then ``condition`` definitions, whose bodies are raw CEL
text up to the matching ``}``. Tokens come from :mod:`protocols.fga.dsl_lexer`, relation expressions
from :mod:`protocols.fga.dsl_relations`. The listener rules of the reference parser are applied
too: duplicate relations in a type, duplicate conditions or condition parameters, ``extend``
outside a module, a type extended twice in one module.
"""

from __future__ import annotations

import re

import attrs

from protocols.fga.dsl_lexer import ParseFailure, SourceMap, escape
from protocols.fga.dsl_relations import RelationParser
from protocols.fga.language_errors import DslSyntaxError, Span
from protocols.fga.model import AuthorizationModel, Condition, ParamType, Relation, RelationReference, TypeDefinition

_VERSION = re.compile(r"[0-9]+\.[0-9]+")
_BASIC_PARAM_TYPES = ("bool", "string", "int", "uint", "double", "duration", "timestamp", "ipaddress")


@attrs.frozen
class ParsedDsl:
    """The result of parsing one DSL file."""

    model: AuthorizationModel
    source: SourceMap
    module: str = ""                       # module name for modular files ("" for a model)
    extended_types: frozenset[str] = frozenset()
    extension_indexes: frozenset[int] = frozenset()  # type indexes written as ``extend type``


class _Parser(RelationParser):
    """The top-level rules: the header, type definitions and their ``define`` lines, conditions."""

    def __init__(self, text: str, file: str) -> None:
        super().__init__(text, file)
        self.extension_indexes: set[int] = set()
        self._last_define_name = (0, 0)

    def parse(self) -> ParsedDsl:
        self.ws()
        self.newline()
        module_name = ""
        schema = ""
        if self.keyword("module"):
            if not self.ws():
                raise self.mismatched("WHITESPACE")
            module_name, a, b = self.identifier()
            self.src.header = self.span(a, b)
            self.ws()
        elif self.keyword("model"):
            if self.newline() is None:
                raise self.mismatched("NEWLINE")
            if not self.keyword("schema"):
                raise self.mismatched("'schema'")
            self.require_ws()
            m = _VERSION.match(self.s, self.i)
            if not m or (m.end() < self.n and self.s[m.end()] not in " \t\r\n#"):
                raise self.mismatched("SCHEMA_VERSION")
            schema = m.group(0)
            self.src.schema = self.span(m.start(), m.end())
            self.i = m.end()
            self.ws()
        else:
            raise self.fail(f"extraneous input '{escape(self.token_text())}' expecting "
                            "{WHITESPACE, '#', 'module', 'model', NEWLINE}")

        types: list[TypeDefinition] = []
        conditions: list[Condition] = []
        extended: dict[str, int] = {}
        while True:
            nl = self.newline()
            if self.at_eof():
                break
            if nl is None:
                raise self.mismatched("NEWLINE")
            word = self.peek_word()
            if word in ("type", "extend") and not conditions:
                types.append(self.type_def(len(types), module_name, extended))
            elif word == "condition":
                conditions.append(self.condition(conditions))
            else:
                tok = self.token_text()
                raise self.fail(f"no viable alternative at input '{escape(self.s[nl:self.i] + tok)}'",
                                self.i, self.i + len(tok))
        if self.listener_errors:
            raise ParseFailure(self.listener_errors[0])
        model = AuthorizationModel(schema_version=schema, type_definitions=tuple(types),
                                   conditions=tuple(conditions))
        return ParsedDsl(model=model, source=self.src, module=module_name,
                         extended_types=frozenset(extended), extension_indexes=frozenset(self.extension_indexes))

    def type_def(self, index: int, module_name: str, extended: dict[str, int]) -> TypeDefinition:
        is_extend = False
        ext_start = self.i
        if self.keyword("extend"):
            is_extend = True
            self.require_ws()
        self.expect_keyword("type")
        self.require_ws()
        name, a, b = self.identifier()
        self.src.types.append(self.span(a, b))
        if is_extend:
            self.extension_indexes.add(index)
            if not module_name:
                self.listener_error("extend can only be used in a modular model", ext_start, b)
            elif name in extended:
                self.listener_error(f"'{name}' is already extended in file.", a, b)
            else:
                extended[name] = index
        self.ws()
        relations: list[Relation] = []
        save = self.i
        nl = self.newline()
        if nl is not None and self.keyword("relations"):
            self.ws()
            seen: set[str] = set()
            while True:
                save = self.i
                nl = self.newline()
                if nl is not None and self.peek_word() == "define":
                    rel = self.define(index, name)
                    if rel.name in seen:
                        self.listener_error(f"'{rel.name}' is already defined in '{name}'",
                                            self._last_define_name[0], self._last_define_name[1])
                    seen.add(rel.name)
                    relations.append(rel)
                    continue
                if not relations:
                    if nl is None:
                        raise self.mismatched("NEWLINE")
                    tok = self.token_text()
                    raise self.fail(f"no viable alternative at input '{escape(self.s[nl:self.i] + tok)}'",
                                    self.i, self.i + len(tok))
                self.i = save
                break
        else:
            if nl is not None and not self.at_eof() and self.peek_word() not in ("type", "extend", "condition"):
                tok = self.token_text()
                raise self.fail(f"no viable alternative at input '{escape(self.s[nl:self.i] + tok)}'",
                                self.i, self.i + len(tok))
            self.i = save
        return TypeDefinition(name=name, relations=tuple(relations), module=module_name)

    def define(self, type_index: int, type_name: str) -> Relation:
        self.expect_keyword("define")
        self.require_ws()
        name, a, b = self.identifier()
        self._last_define_name = (a, b)
        if (type_index, name) not in self.src.relations:
            self.src.relations[(type_index, name)] = self.span(a, b)
        self.ws()
        if self.i >= self.n or self.s[self.i] != ":":
            raise self.fail(f"missing ':' at '{escape(self.token_text())}'")
        self.i += 1
        self.ws()
        restrictions: list[tuple[RelationReference, Span, Span | None]] = []
        rewrite = self.relation_def(restrictions, allow_direct=True)
        self.ws()
        if not self.at_eof() and self.s[self.i] not in "\r\n":
            raise self.fail(f"mismatched input '{escape(self.token_text())}' expecting {{<EOF>, NEWLINE}}")
        refs = []
        for k, (ref, span, cspan) in enumerate(restrictions):
            refs.append(ref)
            self.src.restrictions[(type_index, name, k)] = span
            if cspan is not None:
                self.src.restriction_conditions[(type_index, name, k)] = cspan
        return Relation(name=name, rewrite=rewrite, directly_related_user_types=tuple(refs))

    def condition(self, existing: list[Condition]) -> Condition:
        self.expect_keyword("condition")
        self.require_ws()
        name, a, b = self.identifier()
        if any(c.name == name for c in existing):
            self.listener_error(f"condition '{name}' is already defined in the model", a, b)
        else:
            self.src.conditions[name] = self.span(a, b)
        self.ws()
        if self.i >= self.n or self.s[self.i] != "(":
            raise self.mismatched("'('")
        self.i += 1
        params: list[tuple[str, ParamType]] = []
        while True:
            self._skip_blank()
            pname, pa, pb = self.identifier("{WHITESPACE, IDENTIFIER, NEWLINE}")
            self.ws()
            if self.i >= self.n or self.s[self.i] != ":":
                raise self.mismatched("':'")
            self.i += 1
            self.ws()
            ptype = self.param_type()
            if any(p == pname for p, _ in params):
                self.listener_error(f"parameter '{pname}' is already defined in the condition '{name}'", pa, pb)
            else:
                params.append((pname, ptype))
            self._skip_blank()
            if self.i < self.n and self.s[self.i] == ",":
                self.i += 1
                continue
            if self.i < self.n and self.s[self.i] == ")":
                self.i += 1
                break
            raise self.mismatched("{',', ')'}")
        self.ws()
        if self.i >= self.n or self.s[self.i] != "{":
            raise self.mismatched("'{'")
        body_start = self.i + 1
        end = self._matching_brace(body_start)
        expression = self.s[body_start:end].strip()
        self.i = end + 1
        self.ws()
        if not self.at_eof() and self.s[self.i] not in "\r\n":
            raise self.mismatched("{<EOF>, NEWLINE}")
        return Condition(name=name, expression=expression, parameters=tuple(params))

    def param_type(self) -> ParamType:
        word = self.peek_word()
        if word in ("map", "list"):
            self.i += len(word)
            if self.i >= self.n or self.s[self.i] != "<":
                raise self.mismatched("'<'")
            self.i += 1
            inner = self.peek_word()
            if inner not in _BASIC_PARAM_TYPES:
                raise self.mismatched("CONDITION_PARAM_TYPE")
            self.i += len(inner)
            if self.i >= self.n or self.s[self.i] != ">":
                raise self.mismatched("'>'")
            self.i += 1
            return ParamType(word, (ParamType(inner),))
        if word not in _BASIC_PARAM_TYPES:
            raise self.mismatched("CONDITION_PARAM_TYPE")
        self.i += len(word)
        return ParamType(word)

    def _matching_brace(self, k: int) -> int:
        depth = 0
        s, n = self.s, self.n
        while k < n:
            c = s[k]
            if c in "\"'":
                quote = c
                k += 1
                while k < n and s[k] != quote:
                    k += 2 if s[k] == "\\" else 1
            elif c == "{":
                depth += 1
            elif c == "}":
                if depth == 0:
                    return k
                depth -= 1
            k += 1
        raise self.fail("missing '}' at '<EOF>'", n - 1 if n else 0, n)


def parse_dsl_with_source(text: str, *, file: str = "") -> ParsedDsl:
    """Parse DSL text into a model and its source map; raises :class:`DslSyntaxError`."""
    parser = _Parser(text, file)
    try:
        result = parser.parse()
    except ParseFailure as failure:
        errors = [failure.error]
        for e in parser.listener_errors:
            if e not in errors:
                errors.append(e)
        raise DslSyntaxError(errors) from None
    return result


def parse_dsl(text: str) -> AuthorizationModel:
    """Parse DSL text (a ``model``) into an :class:`AuthorizationModel` (no semantic validation)."""
    return parse_dsl_with_source(text).model
