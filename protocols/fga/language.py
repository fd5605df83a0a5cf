"""Entry points of the modelling language: validate DSL or JSON models, load a model from either.

``validate_dsl`` / ``validate_json`` mirror github.com/openfga/language ``validateDSL`` /
``validateJSON``: a syntax error raises :class:`DslSyntaxError`, semantic problems raise
:class:`ModelValidationError` carrying every error with its position. ``load_model`` accepts DSL
text, a JSON string or a JSON object and returns a compiled, server-validated model.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from protocols.fga.dsl_parser import parse_dsl_with_source
from protocols.fga.errors import InvalidAuthorizationModel, ValidationError
from protocols.fga.json_form import model_from_json
from protocols.fga.language_errors import DslSyntaxError, ModelValidationError
from protocols.fga.language_validation import validate_model
from protocols.fga.model import AuthorizationModel
from protocols.fga.typesystem import CompiledModel
from protocols.fga.validation import compile_model


def validate_dsl(text: str) -> AuthorizationModel:
    """Parse and semantically validate DSL text; returns the model or raises the language errors."""
    parsed = parse_dsl_with_source(text)
    errors = validate_model(parsed.model, source=parsed.source)
    if errors:
        raise ModelValidationError(errors)
    return parsed.model


def validate_json(data: Mapping[str, Any] | str) -> AuthorizationModel:
    """Validate a JSON model (object or text) with the language rules, including the JSON-only ones."""
    if isinstance(data, str):
        data = json.loads(data)
    model = model_from_json(data)
    errors = validate_model(model, json_checks=True)
    if errors:
        raise ModelValidationError(errors)
    return model


def load_model(source: str | Mapping[str, Any], *, model_id: str = "") -> CompiledModel:
    """A compiled model from DSL text, JSON text or a JSON object.

    Raises ``InvalidAuthorizationModel`` (2056) for a syntax error or a semantic problem, with the
    language errors in the message, as WriteAuthorizationModel would.
    """
    if isinstance(source, str) and not source.lstrip().startswith("{"):
        try:
            model = parse_dsl_with_source(source).model
        except DslSyntaxError as exc:
            raise InvalidAuthorizationModel("; ".join(str(e) for e in exc.errors)) from None
    else:
        try:
            data = json.loads(source) if isinstance(source, str) else source
        except ValueError as exc:
            raise ValidationError(f"invalid JSON model: {exc}") from None
        model = model_from_json(data)
    if model_id:
        model = model.with_id(model_id)
    return compile_model(model)
