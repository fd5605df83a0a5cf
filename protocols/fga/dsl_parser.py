"""Parser for the OpenFGA modelling language (DSL), schema 1.1 and modular 1.2 files.

Follows the grammar ``OpenFGAParser.g4`` / ``OpenFGALexer.g4`` of github.com/openfga/language:
newlines swallow the indentation and blank/comment lines that follow them, so indentation is
free; ``#`` starts a comment at the start of a line or after whitespace; operators cannot be
mixed at one level (``a or b``, ``a and b``, or one ``a but not b`` — anything else needs
parentheses); a direct assignment ``[...]`` may only be the first operand of a level;
``condition`` bodies are raw CEL text up to the matching ``}``. The listener rules of the
reference parser are applied too: duplicate relations in a type, duplicate conditions or
condition parameters, ``extend`` outside a module, a type extended twice in one module.

The parser records the source position of every name and operand in a :class:`SourceMap`, which
semantic validation uses to place its errors (0-based lines and columns).
"""

from __future__ import annotations

import bisect
import re

import attrs

from protocols.fga.language_errors import DslSyntaxError, LanguageError, Span
from protocols.fga.model import (
    AuthorizationModel, ComputedUserset, Condition, Difference, Intersection, ParamType, Relation,
    RelationReference, Rewrite, This, TupleToUserset, TypeDefinition, Union,
)

_SEGMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_VERSION = re.compile(r"[0-9]+\.[0-9]+")
_BASIC_PARAM_TYPES = ("bool", "string", "int", "uint", "double", "duration", "timestamp", "ipaddress")
_NOT_IDENTIFIERS = frozenset({"or", "and", "from", "with", "define", "relations", "condition"})


@attrs.define
class SourceMap:
    """Where each part of a parsed model came from (for error positions)."""

    file: str = ""
    lines: list[str] = attrs.Factory(list)
    schema: Span | None = None
    header: Span | None = None
    types: list[Span] = attrs.Factory(list)                     # by type index: the type name
    relations: dict[tuple[int, str], Span] = attrs.Factory(dict)  # (type index, relation): its name
    nodes: dict[int, Span] = attrs.Factory(dict)                # id(rewrite leaf) -> operand span
    tuplesets: dict[int, Span] = attrs.Factory(dict)            # id(TupleToUserset) -> tupleset name
    restrictions: dict[tuple[int, str, int], Span] = attrs.Factory(dict)
    restriction_conditions: dict[tuple[int, str, int], Span] = attrs.Factory(dict)
    conditions: dict[str, Span] = attrs.Factory(dict)


@attrs.frozen
class ParsedDsl:
    """The result of parsing one DSL file."""

    model: AuthorizationModel
    source: SourceMap
    module: str = ""                       # module name for modular files ("" for a model)
    extended_types: frozenset[str] = frozenset()
    extension_indexes: frozenset[int] = frozenset()  # type indexes written as ``extend type``


class _Fail(Exception):
    def __init__(self, error: LanguageError) -> None:
        self.error = error


def _escape(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")


class _Parser:
    def __init__(self, text: str, file: str) -> None:
        self.s = text
        self.n = len(text)
        self.i = 0
        self.file = file
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.listener_errors: list[LanguageError] = []
        self.src = SourceMap(file=file, lines=text.split("\n"))
        self.extension_indexes: set[int] = set()
        self._last_define_name = (0, 0)

    # -- positions and errors ------------------------------------------------------------------
    def span(self, a: int, b: int) -> Span:
        line = bisect.bisect_right(self.line_starts, a) - 1
        start = a - self.line_starts[line]
        return Span(line, start, start + (b - a), self.file)

    def fail(self, msg: str, a: int | None = None, b: int | None = None) -> _Fail:
        a = self.i if a is None else a
        b = a + 1 if b is None else b
        return _Fail(LanguageError(msg=msg, span=self.span(a, max(a, min(b, self.n))),
                                   file=self.file, kind="syntax"))

    def listener_error(self, msg: str, a: int, b: int) -> None:
        self.listener_errors.append(LanguageError(msg=msg, span=self.span(a, b), file=self.file,
                                                  kind="syntax"))

    def token_text(self) -> str:
        if self.i >= self.n:
            return "<EOF>"
        m = re.compile(r"[A-Za-z0-9_\-/.]+|\s+|.").match(self.s, self.i)
        return m.group(0) if m else self.s[self.i]

    def mismatched(self, expecting: str) -> _Fail:
        tok = self.token_text()
        return self.fail(f"mismatched input '{_escape(tok)}' expecting {expecting}", self.i,
                         self.i + max(1, len(tok)))

    # -- lexical helpers -----------------------------------------------------------------------
    def _is_comment_start(self, k: int) -> bool:
        return self.s[k] == "#" and (k == 0 or self.s[k - 1] in " \t\r\n")

    def ws(self) -> bool:
        """WHITESPACE (spaces/tabs) and a trailing comment; True if something was consumed."""
        start = self.i
        s, n = self.s, self.n
        while self.i < n and s[self.i] in " \t":
            self.i += 1
        if self.i < n and self._is_comment_start(self.i):
            while self.i < n and s[self.i] != "\n":
                self.i += 1
        return self.i > start

    def newline(self) -> int | None:
        """NEWLINE plus the whitespace, blank lines and comment lines after it; returns its start."""
        save = self.i
        self.ws()
        s, n = self.s, self.n
        if self.i < n and s[self.i] == "\r" and self.i + 1 < n and s[self.i + 1] == "\n":
            self.i += 1
        if self.i >= n or s[self.i] != "\n":
            self.i = save
            return None
        start = self.i
        while self.i < n:
            c = s[self.i]
            if c in " \t\r\n":
                self.i += 1
            elif self._is_comment_start(self.i):
                while self.i < n and s[self.i] != "\n":
                    self.i += 1
            else:
                break
        return start

    def at_eof(self) -> bool:
        return self.i >= self.n

    def peek_word(self) -> str:
        m = _SEGMENT.match(self.s, self.i)
        return m.group(0) if m else ""

    def keyword(self, word: str) -> bool:
        """Consume ``word`` if it is next as a whole word."""
        end = self.i + len(word)
        if self.s.startswith(word, self.i) and not (end < self.n and re.match(r"[A-Za-z0-9_\-/.]", self.s[end])):
            self.i = end
            return True
        return False

    def expect_keyword(self, word: str) -> None:
        if not self.keyword(word):
            raise self.mismatched(f"'{word}'")

    def require_ws(self) -> None:
        if not self.ws():
            raise self.mismatched("WHITESPACE")

    def identifier(self, what: str = "IDENTIFIER") -> tuple[str, int, int]:
        start = self.i
        m = _SEGMENT.match(self.s, self.i)
        if not m:
            raise self.mismatched(what)
        end = m.end()
        while end < self.n and self.s[end] in "/.":
            nxt = _SEGMENT.match(self.s, end + 1)
            if not nxt:
                break
            end = nxt.end()
        name = self.s[start:end]
        if name in _NOT_IDENTIFIERS:
            raise self.fail(f"extraneous input '{name}' expecting {what}", start, end)
        self.i = end
        return name, start, end

    # -- grammar -------------------------------------------------------------------------------
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
            raise self.fail(f"extraneous input '{_escape(self.token_text())}' expecting "
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
                raise self.fail(f"no viable alternative at input '{_escape(self.s[nl:self.i] + tok)}'",
                                self.i, self.i + len(tok))
        if self.listener_errors:
            raise _Fail(self.listener_errors[0])
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
                    raise self.fail(f"no viable alternative at input '{_escape(self.s[nl:self.i] + tok)}'",
                                    self.i, self.i + len(tok))
                self.i = save
                break
        else:
            if nl is not None and not self.at_eof() and self.peek_word() not in ("type", "extend", "condition"):
                tok = self.token_text()
                raise self.fail(f"no viable alternative at input '{_escape(self.s[nl:self.i] + tok)}'",
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
            raise self.fail(f"missing ':' at '{_escape(self.token_text())}'")
        self.i += 1
        self.ws()
        restrictions: list[tuple[RelationReference, Span, Span | None]] = []
        rewrite = self.relation_def(restrictions, allow_direct=True)
        self.ws()
        if not self.at_eof() and self.s[self.i] not in "\r\n":
            raise self.fail(f"mismatched input '{_escape(self.token_text())}' expecting {{<EOF>, NEWLINE}}")
        refs = []
        for k, (ref, span, cspan) in enumerate(restrictions):
            refs.append(ref)
            self.src.restrictions[(type_index, name, k)] = span
            if cspan is not None:
                self.src.restriction_conditions[(type_index, name, k)] = cspan
        return Relation(name=name, rewrite=rewrite, directly_related_user_types=tuple(refs))

    def _operator_ahead(self) -> str:
        """If whitespace + an operator + whitespace follow, the operator (not consumed)."""
        save = self.i
        try:
            if not self.ws():
                return ""
            for op in ("or", "and", "but not"):
                if op == "but not":
                    m = re.compile(r"but[ \t]+not").match(self.s, self.i)
                    if m and m.end() < self.n and self.s[m.end()] in " \t":
                        return op
                elif self.keyword(op):
                    if self.i < self.n and self.s[self.i] in " \t":
                        return op
                    return ""
            return ""
        finally:
            self.i = save

    def _consume_operator(self, op: str) -> None:
        self.ws()
        if op == "but not":
            m = re.compile(r"but[ \t]+not").match(self.s, self.i)
            assert m is not None
            self.i = m.end()
        else:
            self.keyword(op)
        self.ws()

    def relation_def(self, restrictions: list, *, allow_direct: bool) -> Rewrite:
        first = self.grouping(restrictions, allow_direct=allow_direct)
        op = self._operator_ahead()
        if not op:
            return first
        children = [first]
        if op == "but not":
            self._consume_operator(op)
            sub = self.grouping(restrictions, allow_direct=False)
            return Difference(base=first, subtract=sub)
        while self._operator_ahead() == op:
            self._consume_operator(op)
            children.append(self.grouping(restrictions, allow_direct=False))
        return Union(tuple(children)) if op == "or" else Intersection(tuple(children))

    def grouping(self, restrictions: list, *, allow_direct: bool) -> Rewrite:
        if self.i < self.n and self.s[self.i] == "[":
            if not allow_direct or restrictions:
                raise self.fail("extraneous input '[' expecting {'(', IDENTIFIER, 'module', 'model', "
                                "'schema', 'extend', 'type', 'relation'}")
            return self.direct(restrictions)
        if self.i < self.n and self.s[self.i] == "(":
            self.i += 1
            self.ws()
            inner = self.relation_def(restrictions, allow_direct=True)
            self.ws()
            if self.i >= self.n or self.s[self.i] != ")":
                raise self.fail(f"extraneous input '{_escape(self.token_text())}' expecting {{')', WHITESPACE}}")
            self.i += 1
            return inner
        name, a, b = self.identifier("{'[', '(', IDENTIFIER}")
        save = self.i
        if self.ws() and self.keyword("from"):
            if not self.ws():
                raise self.mismatched("WHITESPACE")
            tupleset, ta, tb = self.identifier()
            node: Rewrite = TupleToUserset(tupleset=tupleset, computed_relation=name)
            self.src.nodes[id(node)] = self.span(a, tb)
            self.src.tuplesets[id(node)] = self.span(ta, tb)
            return node
        self.i = save
        node = ComputedUserset(relation=name)
        self.src.nodes[id(node)] = self.span(a, b)
        return node

    def _skip_blank(self) -> None:
        while self.i < self.n and (self.s[self.i] in " \t\r\n" or self._is_comment_start(self.i)):
            if self.s[self.i] == "#":
                while self.i < self.n and self.s[self.i] != "\n":
                    self.i += 1
            else:
                self.i += 1

    def direct(self, restrictions: list) -> Rewrite:
        open_at = self.i
        self.i += 1
        self._skip_blank()
        while True:
            if self.i < self.n and self.s[self.i] in "],":
                raise self.fail(f"extraneous input '{self.s[self.i]}' expecting {{IDENTIFIER, 'module', "
                                "'model', 'schema', 'extend', 'type', 'relation'}")
            restrictions.append(self.restriction())
            self._skip_blank()
            if self.i < self.n and self.s[self.i] == ",":
                self.i += 1
                self._skip_blank()
                continue
            if self.i < self.n and self.s[self.i] == "]":
                self.i += 1
                break
            raise self.fail(f"mismatched input '{_escape(self.token_text())}' expecting {{',', WHITESPACE, ']'}}")
        node = This()
        self.src.nodes[id(node)] = self.span(open_at, self.i)
        return node

    def restriction(self) -> tuple[RelationReference, Span, Span | None]:
        type_name, a, b = self.identifier()
        relation, wildcard = "", False
        if self.i < self.n and self.s[self.i] == ":":
            if self.i + 1 < self.n and self.s[self.i + 1] == "*":
                wildcard = True
                self.i += 2
                b = self.i
            else:
                raise self.fail(f"mismatched input '{_escape(self.token_text())}' expecting {{',', WHITESPACE, ']'}}")
        elif self.i < self.n and self.s[self.i] == "#":
            self.i += 1
            relation, _, b = self.identifier()
        condition, cspan = "", None
        save = self.i
        if self.ws() and self.keyword("with"):
            self.require_ws()
            condition, ca, cb = self.identifier()
            cspan = self.span(ca, cb)
        else:
            self.i = save
        ref = RelationReference(type=type_name, relation=relation, wildcard=wildcard, condition=condition)
        return ref, self.span(a, b), cspan

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
    except _Fail as failure:
        errors = [failure.error]
        for e in parser.listener_errors:
            if e not in errors:
                errors.append(e)
        raise DslSyntaxError(errors) from None
    return result


def parse_dsl(text: str) -> AuthorizationModel:
    """Parse DSL text (a ``model``) into an :class:`AuthorizationModel` (no semantic validation)."""
    return parse_dsl_with_source(text).model
