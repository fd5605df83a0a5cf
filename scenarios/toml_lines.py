"""Where each key of a TOML document is: a map from dotted key paths to line numbers.

``tomllib`` parses a world file into plain dicts and forgets every position, so a world-file error
could only name the field (``people[1].manager``). ``key_lines`` walks the *source* once more and
records the 1-based line of every table header, array-of-tables element, key and array element,
under the same path the parsers use in their messages (``people[1].manager``, ``fga.tuples[3]``,
``pricing.prices[0].sku``, ``agents[0].integrations.salesforce``). ``line_of`` answers the line of
the longest recorded prefix of a path, so a missing key points at its table.

The walk assumes the text is valid TOML (``tomllib`` has accepted it first) and does not evaluate
values: it only needs to know where strings, arrays and inline tables begin and end. No third-party
TOML library is needed (``tomlkit`` keeps the text but exposes no line numbers either).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping

import attrs

Path = tuple[str | int, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_PATH_PART = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")


class _Walker:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line_starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
        self.lines: dict[Path, int] = {}
        self.strings: dict[Path, int] = {}
        self.array_lengths: dict[Path, int] = {}

    # -- positions ---------------------------------------------------------------------------
    def line(self, pos: int | None = None) -> int:
        return bisect.bisect_right(self.line_starts, self.pos if pos is None else pos)

    def record(self, path: Path, pos: int) -> None:
        self.lines.setdefault(path, self.line(pos))

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos:self.pos + n]

    def skip_blank(self, *, newlines: bool) -> None:
        """Skip spaces, tabs, comments and (if ``newlines``) line breaks."""
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in " \t\r" or (newlines and char == "\n"):
                self.pos += 1
            elif char == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            else:
                return

    # -- keys ---------------------------------------------------------------------------------
    def key(self) -> list[str]:
        parts = []
        while True:
            self.skip_blank(newlines=False)
            char = self.peek()
            if char in "\"'":
                parts.append(self.string_value())
            else:
                match = _BARE_KEY.match(self.text, self.pos)
                if match is None:
                    raise ValueError(f"unexpected {char!r} at line {self.line()}")
                parts.append(match.group())
                self.pos = match.end()
            self.skip_blank(newlines=False)
            if self.peek() != ".":
                return parts
            self.pos += 1

    # -- values -------------------------------------------------------------------------------
    def string_value(self) -> str:
        text, start = self.text, self.pos
        for quote in ('"""', "'''"):
            if text.startswith(quote, start):
                end = start + 3
                while True:
                    end = text.index(quote, end)
                    if quote == '"""' and _escaped(text, end):
                        end += 1
                        continue
                    while text.startswith(quote[0], end + 3):  # up to two quotes may close the string
                        end += 1
                    self.pos = end + 3
                    return text[start + 3:end]
        quote = text[start]
        end = start + 1
        while text[end] != quote or (quote == '"' and _escaped(text, end)):
            end += 1
        self.pos = end + 1
        raw = text[start + 1:end]
        return raw.encode().decode("unicode_escape") if quote == '"' and "\\" in raw else raw

    def value(self, path: Path) -> None:
        char = self.peek()
        if char in "\"'":
            start = self.pos + (3 if self.peek(3) in ('"""', "'''") else 1)
            if self.peek(3) in ('"""', "'''") and self.text.startswith(("\n", "\r\n"), start):
                start = self.text.index("\n", start) + 1  # TOML trims the newline after the quotes
            self.strings[path] = self.line(start)
            self.string_value()
        elif char == "[":
            self.array(path)
        elif char == "{":
            self.inline_table(path)
        else:
            match = re.compile(r"[^,\]}\n#]*").match(self.text, self.pos)
            self.pos = match.end() if match else self.pos

    def array(self, path: Path) -> None:
        self.pos += 1
        index = 0
        while True:
            self.skip_blank(newlines=True)
            if self.peek() == "]":
                self.pos += 1
                return
            self.record(path + (index,), self.pos)
            self.value(path + (index,))
            index += 1
            self.skip_blank(newlines=True)
            if self.peek() == ",":
                self.pos += 1

    def inline_table(self, path: Path) -> None:
        self.pos += 1
        while True:
            self.skip_blank(newlines=True)
            if self.peek() == "}":
                self.pos += 1
                return
            self.key_value(path)
            self.skip_blank(newlines=True)
            if self.peek() == ",":
                self.pos += 1

    def key_value(self, table: Path) -> None:
        start = self.pos
        parts = self.key()
        for depth in range(1, len(parts) + 1):
            self.record(table + tuple(parts[:depth]), start)
        self.skip_blank(newlines=False)
        self.pos += 1  # "="
        self.skip_blank(newlines=False)
        self.value(table + tuple(parts))

    # -- tables -------------------------------------------------------------------------------
    def header(self) -> Path:
        start = self.pos
        many = self.text.startswith("[[", self.pos)
        self.pos += 2 if many else 1
        parts = self.key()
        self.skip_blank(newlines=False)
        self.pos += 2 if many else 1
        path: Path = ()
        for depth, part in enumerate(parts):
            path += (part,)
            last = depth == len(parts) - 1
            if last and many:
                index = self.array_lengths.get(path, 0)
                self.array_lengths[path] = index + 1
                self.record(path, start)
                path += (index,)
            elif path in self.array_lengths:  # a sub-table of the latest element
                path += (self.array_lengths[path] - 1,)
            self.record(path, start)
        return path

    def walk(self) -> dict[Path, int]:
        table: Path = ()
        while True:
            self.skip_blank(newlines=True)
            if self.pos >= len(self.text):
                return self.lines
            if self.peek() == "[":
                table = self.header()
            else:
                self.key_value(table)


def _escaped(text: str, pos: int) -> bool:
    backslashes = 0
    while pos - 1 - backslashes >= 0 and text[pos - 1 - backslashes] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


@attrs.frozen(kw_only=True)
class TomlIndex:
    """Lines of a TOML document's keys (``lines``) and of the first character of its string values."""

    lines: Mapping[Path, int]
    strings: Mapping[Path, int]

    def line_of(self, where: str) -> int | None:
        """The line of ``where`` or of its longest recorded prefix; ``None`` if nothing matches."""
        return line_of(self.lines, where)

    def string_line(self, where: str, offset: int) -> int | None:
        """The line of the ``offset``-th (0-based) line inside the string value at ``where``."""
        start = self.strings.get(parse_path(where))
        return None if start is None else start + offset


def index_toml(text: str) -> TomlIndex:
    """Index ``text``, a document ``tomllib`` has accepted; an unexpected construct ends the walk
    early and the positions found so far are kept."""
    walker = _Walker(text)
    try:
        walker.walk()
    except (ValueError, IndexError):
        pass
    return TomlIndex(lines=walker.lines, strings=walker.strings)


def key_lines(text: str) -> dict[Path, int]:
    """Line (1-based) of every key path in ``text`` (see ``index_toml``)."""
    return dict(index_toml(text).lines)


def toml_error_line(error: ValueError, text: str) -> int:
    """The line ``tomllib`` reports a syntax error at (its message ends ``(at line L, column C)``
    or ``(at end of document)``)."""
    match = re.search(r"at line (\d+)", str(error))
    if match:
        return int(match.group(1))
    return max(1, text.count("\n") + (0 if text.endswith("\n") else 1))


def parse_path(where: str) -> Path:
    """``"people[1].manager"`` → ``("people", 1, "manager")``."""
    parts: list[str | int] = []
    for match in _PATH_PART.finditer(where):
        parts.append(match.group(1).strip() if match.group(1) is not None else int(match.group(2)))
    return tuple(parts)


def line_of(lines: dict[Path, int], where: str) -> int | None:
    """The line of ``where`` or of its longest recorded prefix; ``None`` if nothing matches."""
    path = parse_path(where)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return None
