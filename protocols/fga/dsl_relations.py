"""Relation expressions of the OpenFGA modelling language (DSL): the right-hand side of ``define``.

Follows ``OpenFGAParser.g4`` of github.com/openfga/language (reference ``openfga.md`` §2):
operators cannot be mixed at one level (``a or b``, ``a and b``, or one ``a but not b`` — anything
else needs parentheses); a direct assignment ``[...]`` may only be the first operand of a level and
lists type restrictions ``type``, ``type:*`` or ``type#relation``, each optionally ``with`` a
condition; any other operand is a computed relation or ``relation from tupleset``. Every operand's
source position goes into the :class:`~protocols.fga.dsl_lexer.SourceMap`.
"""

from __future__ import annotations

import re

from protocols.fga.dsl_lexer import DslLexer, escape
from protocols.fga.language_errors import Span
from protocols.fga.model import (
    ComputedUserset, Difference, Intersection, RelationReference, Rewrite, This, TupleToUserset, Union,
)


class RelationParser(DslLexer):
    """The relation-expression rules, on top of the lexical ones."""

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
                raise self.fail(f"extraneous input '{escape(self.token_text())}' expecting {{')', WHITESPACE}}")
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
            raise self.fail(f"mismatched input '{escape(self.token_text())}' expecting {{',', WHITESPACE, ']'}}")
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
                raise self.fail(f"mismatched input '{escape(self.token_text())}' expecting {{',', WHITESPACE, ']'}}")
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
