"""Relationship conditions: typed parameters and CEL evaluation.

OpenFGA (``pkg/condition``) compiles each model condition with CEL, declaring one variable per
parameter (``bool string int uint double duration timestamp ipaddress map<T> list<T>``, plus the
``ipaddress`` type with ``ipaddress(s)`` and ``.in_cidr(cidr)``). At check time the tuple's stored
context is layered over the request context (tuple values win), each parameter is converted to
its declared type, and a parameter missing from both is an evaluation error — reported as
``validation_error`` (2000) unless another branch decides the answer.

CEL itself is evaluated by the ``common-expression-language`` package (import ``cel``); this
module only declares parameters, converts values and adds the ``ipaddress`` extension.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress as _ip
import math
import re
from collections.abc import Mapping
from typing import Any

import cel

from protocols.fga.errors import ConditionEvaluationError, InvalidAuthorizationModel
from protocols.fga.model import Condition, ParamType

_DURATION_PART = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


class ParamConversionError(ValueError):
    """A context value cannot be converted to its parameter's declared type."""


def parse_duration(text: str) -> _dt.timedelta:
    """A Go / CEL duration string (``"1h30m"``, ``"10s"``, ``"-1.5h"``) as a ``timedelta``."""
    s = text.strip()
    sign = 1.0
    if s[:1] in "+-":
        sign = -1.0 if s[0] == "-" else 1.0
        s = s[1:]
    if s == "0":
        return _dt.timedelta(0)
    pos, total = 0, 0.0
    while pos < len(s):
        m = _DURATION_PART.match(s, pos)
        if not m:
            raise ParamConversionError(f"invalid duration '{text}'")
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    if pos == 0:
        raise ParamConversionError(f"invalid duration '{text}'")
    return _dt.timedelta(seconds=sign * total)


def parse_timestamp(text: str) -> _dt.datetime:
    """An RFC 3339 timestamp as an aware ``datetime`` (UTC when the offset is ``Z``)."""
    s = text.strip()
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", s)
    if not m:
        raise ParamConversionError(f"invalid timestamp '{text}'")
    frac = (m.group(3) or "")[:7].ljust(7, "0") if m.group(3) else ""
    tz = "+00:00" if m.group(4) in ("Z", "z") else m.group(4)
    try:
        return _dt.datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}{frac}{tz}")
    except ValueError as exc:
        raise ParamConversionError(f"invalid timestamp '{text}'") from exc


def _to_int(value: Any, *, unsigned: bool) -> int:
    if isinstance(value, bool):
        raise ParamConversionError(f"expected an integer, got {value!r}")
    if isinstance(value, int):
        out = value
    elif isinstance(value, float):
        if not math.isfinite(value) or value != math.trunc(value):
            raise ParamConversionError(f"expected an integer, got {value!r}")
        out = int(value)
    elif isinstance(value, str):
        try:
            out = int(value.strip(), 10)
        except ValueError:
            raise ParamConversionError(f"expected an integer, got {value!r}") from None
    else:
        raise ParamConversionError(f"expected an integer, got {value!r}")
    if unsigned and out < 0:
        raise ParamConversionError(f"expected an unsigned integer, got {value!r}")
    if not (-(2 ** 63) <= out < 2 ** 64):
        raise ParamConversionError(f"integer out of range: {value!r}")
    return out


def _to_double(value: Any) -> float:
    if isinstance(value, bool):
        raise ParamConversionError(f"expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        out = float(value)
    elif isinstance(value, str):
        try:
            out = float(value.strip())
        except ValueError:
            raise ParamConversionError(f"expected a number, got {value!r}") from None
    else:
        raise ParamConversionError(f"expected a number, got {value!r}")
    if not math.isfinite(out):
        raise ParamConversionError(f"number out of range: {value!r}")
    return out


def convert_param(value: Any, ptype: ParamType) -> Any:
    """Convert a JSON context value to the Python value handed to CEL for ``ptype``."""
    name = ptype.name
    if name == "any":
        return value
    if name == "bool":
        if isinstance(value, bool):
            return value
        raise ParamConversionError(f"expected a bool, got {value!r}")
    if name == "string":
        if isinstance(value, str):
            return value
        raise ParamConversionError(f"expected a string, got {value!r}")
    if name in ("int", "uint"):
        return _to_int(value, unsigned=name == "uint")
    if name == "double":
        return _to_double(value)
    if name == "duration":
        if isinstance(value, str):
            return parse_duration(value)
        raise ParamConversionError(f"expected a duration string, got {value!r}")
    if name == "timestamp":
        if isinstance(value, str):
            return parse_timestamp(value)
        raise ParamConversionError(f"expected a timestamp string, got {value!r}")
    if name == "ipaddress":
        if isinstance(value, str):
            try:
                return str(_ip.ip_address(value.strip()))
            except ValueError:
                raise ParamConversionError(f"invalid ipaddress '{value}'") from None
        raise ParamConversionError(f"expected an ipaddress string, got {value!r}")
    inner = ptype.generic[0] if ptype.generic else ParamType("any")
    if name == "list":
        if isinstance(value, (list, tuple)):
            return [convert_param(v, inner) for v in value]
        raise ParamConversionError(f"expected a list, got {value!r}")
    if name == "map":
        if isinstance(value, Mapping):
            return {str(k): convert_param(v, inner) for k, v in value.items()}
        raise ParamConversionError(f"expected a map, got {value!r}")
    raise ParamConversionError(f"unsupported parameter type {ptype}")


# -- the ipaddress extension ------------------------------------------------------------------------


def _cel_ipaddress(text: str) -> str:
    return str(_ip.ip_address(str(text).strip()))


def _cel_in_cidr(address: str, cidr: str) -> bool:
    try:
        return _ip.ip_address(str(address)) in _ip.ip_network(str(cidr), strict=False)
    except ValueError as exc:
        raise ValueError(f"in_cidr: {exc}") from None


_FUNCTIONS = {"ipaddress": _cel_ipaddress, "in_cidr": _cel_in_cidr}


class CompiledCondition:
    """One model condition, compiled once per model."""

    __slots__ = ("name", "expression", "params", "_program", "_needs_functions")

    def __init__(self, condition: Condition) -> None:
        self.name = condition.map_key
        self.expression = condition.expression
        self.params: dict[str, ParamType] = dict(condition.parameters)
        try:
            self._program = cel.compile(condition.expression)
        except (ValueError, RuntimeError) as exc:
            raise InvalidAuthorizationModel(
                f"failed to compile expression on condition '{self.name}': {exc}") from None
        self._needs_functions = "ipaddress(" in self.expression or "in_cidr(" in self.expression

    def evaluate(self, tuple_context: Mapping[str, Any] | None, request_context: Mapping[str, Any] | None,
                 *, tuple_text: str = "") -> bool:
        """Whether the condition holds; raises :class:`ConditionEvaluationError` when it cannot
        be evaluated (missing parameter, unconvertible value, non-bool result)."""
        variables: dict[str, Any] = {}
        missing: list[str] = []
        for pname, ptype in self.params.items():
            if tuple_context is not None and pname in tuple_context:
                raw = tuple_context[pname]
            elif request_context is not None and pname in request_context:
                raw = request_context[pname]
            else:
                missing.append(pname)
                continue
            try:
                variables[pname] = convert_param(raw, ptype)
            except ParamConversionError as exc:
                raise ConditionEvaluationError(
                    f"failed to evaluate relationship condition '{self.name}': failed to convert context "
                    f"parameter '{pname}': {exc}", condition=self.name) from None
        if missing:
            where = f"tuple '{tuple_text}' is " if tuple_text else ""
            raise ConditionEvaluationError(
                f"failed to evaluate relationship condition '{self.name}': {where}missing context parameters "
                f"{sorted(missing)}", condition=self.name)
        try:
            if self._needs_functions:
                result = self._program.execute(cel.Context(variables=variables, functions=_FUNCTIONS))
            else:
                result = self._program.execute(variables)
        except Exception as exc:  # the CEL runtime reports type and runtime errors as exceptions
            raise ConditionEvaluationError(
                f"failed to evaluate relationship condition '{self.name}': {exc}", condition=self.name) from None
        if not isinstance(result, bool):
            raise ConditionEvaluationError(
                f"failed to evaluate relationship condition '{self.name}': expected a bool result, got "
                f"{type(result).__name__}", condition=self.name)
        return result


def compile_conditions(conditions: tuple[Condition, ...]) -> dict[str, CompiledCondition]:
    return {c.map_key: CompiledCondition(c) for c in conditions}
