"""The lexical layer of the OpenFGA modelling language (DSL) parser: tokens, positions, errors.

Follows ``OpenFGALexer.g4`` of github.com/openfga/language (reference ``openfga.md`` §2): newlines
swallow the indentation and blank/comment lines that follow them, so indentation is free; ``#``
starts a comment at the start of a line or after whitespace; identifiers are ``/``- or
``.``-joined segments and may not be a keyword. Syntax errors keep ANTLR's wording
(``mismatched input '…' expecting …``).

The parser records the source position of every name and operand in a :class:`SourceMap`, which
semantic validation uses to place its errors (0-based lines and columns).
"""

from __future__ import annotations

import bisect
import re

import attrs

from protocols.fga.language_errors import LanguageError, Span

_SEGMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
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


class ParseFailure(Exception):
    """A syntax error that ends the parse."""

    def __init__(self, error: LanguageError) -> None:
        self.error = error


def escape(text: str) -> str:
    """``text`` with CR, LF and tab escaped, as error messages quote input."""
    return text.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")


class DslLexer:
    """The text, the cursor ``i`` and the source map of one DSL file, with the lexical rules."""

    def __init__(self, text: str, file: str) -> None:
        self.s = text
        self.n = len(text)
        self.i = 0
        self.file = file
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.listener_errors: list[LanguageError] = []
        self.src = SourceMap(file=file, lines=text.split("\n"))

    # -- positions and errors ------------------------------------------------------------------
    def span(self, a: int, b: int) -> Span:
        line = bisect.bisect_right(self.line_starts, a) - 1
        start = a - self.line_starts[line]
        return Span(line, start, start + (b - a), self.file)

    def fail(self, msg: str, a: int | None = None, b: int | None = None) -> ParseFailure:
        a = self.i if a is None else a
        b = a + 1 if b is None else b
        return ParseFailure(LanguageError(msg=msg, span=self.span(a, max(a, min(b, self.n))),
                                          file=self.file, kind="syntax"))

    def listener_error(self, msg: str, a: int, b: int) -> None:
        self.listener_errors.append(LanguageError(msg=msg, span=self.span(a, b), file=self.file,
                                                  kind="syntax"))

    def token_text(self) -> str:
        if self.i >= self.n:
            return "<EOF>"
        m = re.compile(r"[A-Za-z0-9_\-/.]+|\s+|.").match(self.s, self.i)
        return m.group(0) if m else self.s[self.i]

    def mismatched(self, expecting: str) -> ParseFailure:
        tok = self.token_text()
        return self.fail(f"mismatched input '{escape(tok)}' expecting {expecting}", self.i,
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

    def _skip_blank(self) -> None:
        while self.i < self.n and (self.s[self.i] in " \t\r\n" or self._is_comment_start(self.i)):
            if self.s[self.i] == "#":
                while self.i < self.n and self.s[self.i] != "\n":
                    self.i += 1
            else:
                self.i += 1
