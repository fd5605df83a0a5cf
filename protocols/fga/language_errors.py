"""Errors of the OpenFGA modelling language: syntax errors and semantic-validation errors.

Shapes follow github.com/openfga/language (``pkg/js/errors.ts``, ``pkg/go/validation``): each
error carries a message, a 0-based ``line``/``column`` range when the source is known, and for
semantic errors ``metadata.symbol`` and ``metadata.errorType`` (``missing-definition``,
``relation-no-entry-point``, ``tupleuserset-not-direct`` ...). The conformance fixtures in
``shared/conformance/openfga-language`` compare exactly these fields.
"""

from __future__ import annotations

import enum

import attrs


class ErrorType(str, enum.Enum):
    """``ValidationError`` of the language package (the ``errorType`` of a semantic error)."""

    ASSIGNABLE_RELATIONS_MUST_HAVE_TYPE = "assignable-relation-must-have-type"
    CONDITION_NOT_DEFINED = "condition-not-defined"
    CONDITION_NOT_USED = "condition-not-used"
    DIFFERENT_NESTED_CONDITION_NAME = "different-nested-condition-name"
    DUPLICATED_ERROR = "duplicated-error"
    INVALID_NAME = "invalid-name"
    INVALID_RELATION_ON_TUPLESET = "invalid-relation-on-tupleset"
    INVALID_RELATION_TYPE = "invalid-relation-type"
    INVALID_SCHEMA = "invalid-schema"
    INVALID_TYPE = "invalid-type"
    MISSING_DEFINITION = "missing-definition"
    MULTIPLE_MODULES_IN_FILE = "multiple-modules-in-file"
    RELATION_NO_ENTRY_POINT = "relation-no-entry-point"
    RESERVED_RELATION_KEYWORDS = "reserved-relation-keywords"
    RESERVED_TYPE_KEYWORDS = "reserved-type-keywords"
    SCHEMA_VERSION_REQUIRED = "schema-version-required"
    TUPLESET_NOT_DIRECT = "tupleuserset-not-direct"
    TYPE_RESTRICTION_WILDCARD_AND_RELATION = "type-wildcard-relation"


@attrs.frozen
class Span:
    """A 0-based source range on one line (``end`` exclusive), optionally in a named file."""

    line: int
    start: int
    end: int
    file: str = ""


@attrs.frozen(kw_only=True)
class LanguageError:
    """One syntax, semantic or module-transformation error."""

    msg: str
    span: Span | None = None
    symbol: str = ""
    error_type: str = ""
    file: str = ""
    kind: str = "validation"  # "syntax" | "validation" | "transformation" | "mod-file"

    @property
    def line(self) -> dict[str, int] | None:
        return None if self.span is None else {"start": self.span.line, "end": self.span.line}

    @property
    def column(self) -> dict[str, int] | None:
        return None if self.span is None else {"start": self.span.start, "end": self.span.end}

    def to_json(self) -> dict:
        out: dict = {"msg": self.msg}
        if self.file:
            out["file"] = self.file
        if self.span is not None:
            out["line"] = self.line
            out["column"] = self.column
        meta = {}
        if self.symbol:
            meta["symbol"] = self.symbol
        if self.error_type:
            meta["errorType"] = self.error_type
        if meta:
            out["metadata"] = meta
        return out

    def __str__(self) -> str:
        where = ""
        if self.span is not None:
            where = f" at line {self.span.line}, column {self.span.start}"
        prefix = f"{self.file}: " if self.file else ""
        return f"{prefix}{self.kind} error{where}: {self.msg}"


class LanguageErrors(Exception):
    """Base for exceptions that carry a list of :class:`LanguageError`."""

    label = "error"

    def __init__(self, errors: list[LanguageError] | tuple[LanguageError, ...]) -> None:
        self.errors = tuple(errors)
        n = len(self.errors)
        head = f"{n} {self.label}{'' if n == 1 else 's'} occurred"
        super().__init__(head + ":\n" + "\n".join(f"  * {e}" for e in self.errors))


class DslSyntaxError(LanguageErrors):
    """The DSL text does not follow the grammar (``OpenFGAParser.g4``) or its listener rules."""

    label = "syntax error"


class ModelValidationError(LanguageErrors):
    """The model parses but is semantically invalid (unknown relations, no entrypoint, ...)."""

    label = "validation error"


class ModuleTransformationError(LanguageErrors):
    """Combining module files (``fga.mod`` + ``*.fga``) into one model failed."""

    label = "transformation error"


class ModFileError(LanguageErrors):
    """An ``fga.mod`` manifest is malformed."""

    label = "mod file error"


class JsonToDslError(ValueError):
    """A JSON model cannot be rendered in the DSL (e.g. a direct assignment not in first place)."""
