"""OpenFGA error kinds as exception classes, one per ``ErrorCode``, each with its HTTP status.

The codes and names are the ``ErrorCode`` enum of ``openfga/v1/errors_ignore.proto``
(github.com/openfga/api); the HTTP mapping follows ``pkg/server/errors/encoded_errors.go``
of github.com/openfga/openfga: 2000–3499 → 400, 3500–3999 → 422, 4000–4999 → 500,
5000+ → 404. ``to_json()`` renders the ``{"code": ..., "message": ...}`` body the HTTP gateway
returns; ``from_json()`` lets a client raise the remote counterpart of an error it received.

Model-language errors (DSL syntax and semantic validation, with source positions) live in
``protocols.fga.language_errors``; they are converted to :class:`InvalidAuthorizationModel`
when a model is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from protocols.http import HttpResponse


class FgaError(Exception):
    """Base of every OpenFGA API error; subclasses fix ``code``, ``numeric_code`` and ``status``."""

    code: ClassVar[str] = "internal_error"
    numeric_code: ClassVar[int] = 4000
    status: ClassVar[int] = 500
    default_message: ClassVar[str] = "Internal Server Error"

    def __init__(self, message: str = "") -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}

    def to_response(self) -> HttpResponse:
        return HttpResponse.json_body(self.to_json(), status=self.status)

    @staticmethod
    def from_json(body: Mapping[str, Any], *, status: int = 400) -> FgaError:
        """The exception matching an error body ``{"code", "message"}`` received from a peer."""
        code = body.get("code") if isinstance(body, Mapping) else None
        message = body.get("message", "") if isinstance(body, Mapping) else ""
        cls = ERRORS_BY_CODE.get(str(code or ""))
        if cls is None:
            cls = ValidationError if 400 <= status < 500 else InternalError
        return cls(str(message))


# -- 2000–3499: input errors (HTTP 400) -----------------------------------------------------------


class _InputError(FgaError):
    status = 400


class ValidationError(_InputError):
    """2000: the request is malformed or refers to something the model does not define."""

    code, numeric_code, default_message = "validation_error", 2000, "Generic validation error"


class AuthorizationModelNotFound(_InputError):
    code, numeric_code = "authorization_model_not_found", 2001
    default_message = "Authorization Model not found"


class AuthorizationModelResolutionTooComplex(_InputError):
    """2002: resolution needed more than the resolve-node limit (25) of nested dispatches."""

    code, numeric_code = "authorization_model_resolution_too_complex", 2002
    default_message = ("Authorization Model resolution required too many rewrite rules to be "
                       "resolved. Try simplifying the Authorization Model.")


class InvalidWriteInput(_InputError):
    code, numeric_code = "invalid_write_input", 2003
    default_message = "Invalid input. Make sure you provide at least one write, or at least one delete"


class CannotAllowDuplicateTuplesInOneRequest(_InputError):
    code, numeric_code = "cannot_allow_duplicate_tuples_in_one_request", 2004
    default_message = "duplicate tuple in write request"


class CannotAllowDuplicateTypesInOneRequest(_InputError):
    code, numeric_code = "cannot_allow_duplicate_types_in_one_request", 2005


class InvalidContinuationToken(_InputError):
    code, numeric_code = "invalid_continuation_token", 2007
    default_message = "Invalid continuation token"


class InvalidTupleSet(_InputError):
    code, numeric_code = "invalid_tuple_set", 2008


class InvalidCheckInput(_InputError):
    code, numeric_code = "invalid_check_input", 2009


class InvalidObjectFormat(_InputError):
    code, numeric_code = "invalid_object_format", 2012


class WriteFailedDueToInvalidInput(_InputError):
    code, numeric_code = "write_failed_due_to_invalid_input", 2017


class LatestAuthorizationModelNotFound(_InputError):
    code, numeric_code = "latest_authorization_model_not_found", 2020
    default_message = "No authorization models found for store"


class TypeNotFound(_InputError):
    """2021: a request names an object type (or user-filter type) the model does not define."""

    code, numeric_code = "type_not_found", 2021


class RelationNotFound(_InputError):
    """2022: a request names a relation the object type does not define."""

    code, numeric_code = "relation_not_found", 2022


class InvalidUser(_InputError):
    code, numeric_code = "invalid_user", 2025


class InvalidTuple(_InputError):
    """2027: a contextual tuple does not fit the model (type, relation, restriction, condition)."""

    code, numeric_code = "invalid_tuple", 2027


class UnknownRelation(_InputError):
    code, numeric_code = "unknown_relation", 2028


class ExceededEntityLimit(_InputError):
    """2053: too many tuples / checks / type definitions in one request."""

    code, numeric_code = "exceeded_entity_limit", 2053


class InvalidContextualTuple(_InputError):
    code, numeric_code = "invalid_contextual_tuple", 2054


class DuplicateContextualTuple(_InputError):
    code, numeric_code = "duplicate_contextual_tuple", 2055


class InvalidAuthorizationModel(_InputError):
    """2056: WriteAuthorizationModel refused the model (``typesystem.NewAndValidate``)."""

    code, numeric_code = "invalid_authorization_model", 2056


class UnsupportedSchemaVersion(_InputError):
    code, numeric_code = "unsupported_schema_version", 2057


# -- 3500+: throttling, internal, not found ---------------------------------------------------------


class ThrottledTimeoutError(FgaError):
    code, numeric_code, status = "throttled_timeout_error", 3500, 422
    default_message = "timeout due to throttling on complex request"


class InternalError(FgaError):
    code, numeric_code, status = "internal_error", 4000, 500


class DeadlineExceeded(FgaError):
    code, numeric_code, status = "deadline_exceeded", 4004, 500
    default_message = "Request deadline exceeded"


class StoreIdNotFound(FgaError):
    code, numeric_code, status = "store_id_not_found", 5002, 404
    default_message = "Store ID not found"


ERRORS_BY_CODE: dict[str, type[FgaError]] = {
    cls.code: cls
    for cls in (
        ValidationError, AuthorizationModelNotFound, AuthorizationModelResolutionTooComplex,
        InvalidWriteInput, CannotAllowDuplicateTuplesInOneRequest, CannotAllowDuplicateTypesInOneRequest,
        InvalidContinuationToken, InvalidTupleSet, InvalidCheckInput, InvalidObjectFormat,
        WriteFailedDueToInvalidInput, LatestAuthorizationModelNotFound, TypeNotFound, RelationNotFound,
        InvalidUser, InvalidTuple, UnknownRelation, ExceededEntityLimit, InvalidContextualTuple,
        DuplicateContextualTuple, InvalidAuthorizationModel, UnsupportedSchemaVersion,
        ThrottledTimeoutError, InternalError, DeadlineExceeded, StoreIdNotFound,
    )
}
ERRORS_BY_NUMBER: dict[int, type[FgaError]] = {cls.numeric_code: cls for cls in ERRORS_BY_CODE.values()}


class ConditionEvaluationError(ValidationError):
    """A relationship condition could not be evaluated (missing parameter, bad value, non-bool).

    OpenFGA reports these as ``validation_error`` (2000) when no other branch decides the answer.
    """

    def __init__(self, message: str, *, condition: str = "") -> None:
        self.condition = condition
        super().__init__(message)


class ResolutionDepthExceeded(AuthorizationModelResolutionTooComplex):
    """Raised inside the engine when a dispatch reaches the resolve-node limit."""
