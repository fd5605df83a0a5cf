"""OpenFGA-compatible fine-grained authorization: the modelling language and the check engine.

Sans-IO: parse / validate / transform models (``parse_dsl``, ``model_from_json``,
``model_to_json``, ``model_to_dsl``, ``validate_dsl``), compile them (``compile_model``), and
answer ``check`` / ``batch_check`` / ``list_objects`` / ``list_users`` over any
:class:`TupleReader` (``MemoryTupleStore`` here, ``actors.storage.fga_tuples.SqliteTupleStore``
for persistence). Errors are :class:`FgaError` subclasses carrying OpenFGA's codes.
"""

from protocols.fga.check import BatchCheckItem, BatchCheckOutcome, CheckResult, batch_check, batch_check_to_json, check
from protocols.fga.dsl_lexer import SourceMap
from protocols.fga.dsl_parser import ParsedDsl, parse_dsl, parse_dsl_with_source
from protocols.fga.dsl_writer import model_to_dsl
from protocols.fga.errors import *  # noqa: F401,F403  (one class per OpenFGA error kind)
from protocols.fga.errors import FgaError
from protocols.fga.explain import Explanation, Step
from protocols.fga.json_form import model_from_json, model_to_json, normalize_model_json
from protocols.fga.language import load_model, validate_dsl, validate_json
from protocols.fga.language_validation import validate_model
from protocols.fga.language_errors import (
    DslSyntaxError, JsonToDslError, LanguageError, ModelValidationError, ModFileError, ModuleTransformationError,
)
from protocols.fga.list_objects import ListObjectsResult, list_objects
from protocols.fga.list_users import ListUsersResult, UserFilter, list_users
from protocols.fga.model import AuthorizationModel
from protocols.fga.modules import combine_modules, parse_mod_file
from protocols.fga.resolver import CheckResolver
from protocols.fga.tuples import (
    ContextualTupleReader, MemoryTupleStore, RelationshipCondition, TupleKey, TupleReader, TupleRecord, TupleStore,
)
from protocols.fga.typesystem import CompiledModel
from protocols.fga.validation import compile_model, validate_tuple_for_write
