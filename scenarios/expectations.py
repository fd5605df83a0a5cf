"""``[[expectations]]`` in a world file: what a finished run must show, checked by ``trustbench check``.

Each expectation is a small claim about the run's *evidence* (the audit log and ``run.json``), never
about the world file itself, so that a change of behaviour — a tuple removed, a threshold raised —
makes it fail. The kinds (``KINDS``; fields in ``FIELDS``):

``access``        an FGA decision: ``user`` (person id) or ``subject``; ``resource`` (URI) or ``object``;
                  ``relation`` (default ``viewer``); ``decision`` = allow | deny
``scope``         ``scope`` is ``decision`` = refused | granted (optionally only for ``agent``)
``approval``      a CIBA request for ``amount`` ``currency`` (optional ``type``, ``agent``) has
                  ``outcome`` = requested | approved | denied | expired | not_requested
``containment``   an incident (optionally of ``agent``) is contained ``within`` seconds, having read at
                  most ``max_records``; ``measured_from`` = detection (default: the usual time to
                  contain) | first_read (the first record read in the window that raised the alert)
``phase``         ``phase`` ran with ``outcome`` = pass | fail
``fact``          ``phase``'s recorded ``fact`` ``equals`` a value, or is ``at_least`` / ``at_most`` a number
``event``         audit entries named ``event`` (glob; optional ``actor``, ``agent``, ``decision``,
                  ``reason_contains``) number ``at_least`` (default 1) and ``at_most``
``no_secrets``    no secret the run minted is in any file of its run directory
``audit_intact``  the audit hash chain and ``run.json`` verify

Every expectation may carry ``description`` (shown instead of the generated sentence).
``parse_expectations`` validates them with the world reader: an unknown kind or field, a wrong
type, an unknown person, agent or phase is a ``WorldError`` with the file and line.
(This module does not import ``scenarios.world``, which imports it; the checks against a finished
run are in ``scenarios.expectation_checks``.)
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from protocols.fga.rag import object_for_uri, uri_for_object

KINDS = ("access", "scope", "approval", "containment", "phase", "fact", "event", "no_secrets", "audit_intact")
APPROVAL_OUTCOMES = ("requested", "approved", "denied", "expired", "not_requested")
CONTAINMENT_ORIGINS = ("detection", "first_read")
COMMON = ("kind", "description")
FIELDS: dict[str, tuple[str, ...]] = {
    "access": ("user", "subject", "resource", "object", "relation", "decision"),
    "scope": ("scope", "decision", "agent"),
    "approval": ("amount", "currency", "type", "agent", "outcome"),
    "containment": ("within", "agent", "max_records", "measured_from"),
    "phase": ("phase", "outcome"),
    "fact": ("phase", "fact", "equals", "at_least", "at_most"),
    "event": ("event", "actor", "agent", "decision", "reason_contains", "at_least", "at_most"),
    "no_secrets": (),
    "audit_intact": (),
}


@attrs.frozen(kw_only=True)
class Expectation:
    """One validated ``[[expectations]]`` entry: its kind, its fields (normalised) and where it is."""

    kind: str
    where: str
    """``expectations[3]``: its path in the world file."""
    line: int
    text: str
    """The sentence shown by ``trustbench check`` (``description`` or generated from the fields)."""
    fields: Mapping[str, Any] = attrs.field(factory=dict)

    def get(self, name: str, default: Any = None) -> Any:
        return self.fields.get(name, default)


def money(value: Decimal) -> str:
    whole, _, cents = f"{value:.2f}".partition(".")
    return f"{int(whole):,}".replace(",", " ") + f".{cents}"


def _sentence(kind: str, f: Mapping[str, Any]) -> str:
    if kind == "access":
        verb = "allows" if f["decision"] == "allow" else "denies"
        return f"FGA {verb} {f['subject']} {f['relation']} on {f['resource']}"
    if kind == "scope":
        who = f" to {f['agent']}" if f.get("agent") else ""
        return f"{f['scope']} is {f['decision']}{who}"
    if kind == "approval":
        what = f"a {f['type'].replace('_', ' ')}" if f.get("type") else "an action"
        amount = f"{what} of {money(f['amount'])} {f['currency']}"
        return {"requested": f"{amount} needs approval (a CIBA request)",
                "approved": f"{amount} needs approval and is approved",
                "denied": f"{amount} needs approval and is refused",
                "expired": f"{amount} needs approval and the request expires unanswered",
                "not_requested": f"{amount} needs no approval"}[f["outcome"]]
    if kind == "containment":
        who = f["agent"] or "an incident"
        records = f", at most {f['max_records']} records read" if f.get("max_records") is not None else ""
        origin = "detection" if f["measured_from"] == "detection" else "the first record read"
        return f"{who} contained within {f['within']} s of {origin}{records}"
    if kind == "phase":
        return f"phase {f['phase']} {'passes' if f['outcome'] == 'pass' else 'fails'}"
    if kind == "fact":
        bounds = [f"= {f['equals']}" if f.get("equals") is not None else "",
                  f">= {f['at_least']}" if f.get("at_least") is not None else "",
                  f"<= {f['at_most']}" if f.get("at_most") is not None else ""]
        return f"phase {f['phase']} fact '{f['fact']}' {' and '.join(b for b in bounds if b)}"
    if kind == "event":
        filters = ", ".join(f"{k} {f[k]}" for k in ("actor", "agent", "decision", "reason_contains") if f.get(k))
        name = f"{f['event']}{f' ({filters})' if filters else ''}"
        if f.get("at_most") == 0:
            return f"{name} never recorded"
        upper = f" and at most {f['at_most']}" if f.get("at_most") is not None else ""
        return f"{name} recorded at least {f['at_least']} time(s){upper}"
    if kind == "no_secrets":
        return "no secret minted by the run is in any file of the run directory"
    return "the audit log verifies (hash chain, run.json)"


class _Fields:
    """Typed access to one expectation's table, failing through the world reader (file and line)."""

    def __init__(self, read: Any, data: Mapping[str, Any], where: str) -> None:
        self.read, self.data, self.where = read, data, where

    def fail(self, key: str, problem: str) -> Exception:
        return self.read.fail(f"{self.where}.{key}" if key else self.where, problem)

    def text(self, key: str, *, default: str | None = None) -> str | None:
        value = self.data.get(key, default)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise self.fail(key, "expected a non-empty string")
        return value

    def required(self, key: str) -> str:
        value = self.text(key)
        if value is None:
            raise self.fail(key, "missing")
        return value

    def choice(self, key: str, options: tuple[str, ...], *, default: str | None = None) -> str:
        value = self.text(key, default=default)
        if value not in options:
            raise self.fail(key, f"must be one of {', '.join(options)}, got {value!r}")
        return value

    def number(self, key: str, *, minimum: float = 0, integer: bool = False) -> float | int | None:
        value = self.data.get(key)
        if value is None:
            return None
        kinds = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or value < minimum:
            expected = "an integer" if integer else "a number"
            raise self.fail(key, f"expected {expected} >= {minimum:g}, got {value!r}")
        return value


def _access(f: _Fields, people: set[str]) -> dict[str, Any]:
    user, subject = f.text("user"), f.text("subject")
    if (user is None) == (subject is None):
        raise f.fail("user", "give either user (a person id) or subject (e.g. user:sarah)")
    if user is not None and user not in people:
        raise f.fail("user", f"unknown person {user!r}")
    resource, obj = f.text("resource"), f.text("object")
    if (resource is None) == (obj is None):
        raise f.fail("resource", "give either resource (a URI such as crm://contacts/acme-corp) or object")
    if resource is not None:
        try:
            obj = object_for_uri(resource)
        except ValueError as error:
            raise f.fail("resource", str(error)) from None
    elif ":" not in obj:
        raise f.fail("object", f"expected type:id, got {obj!r}")
    shown = resource or (uri_for_object(obj) if obj.startswith("resource:") else obj)
    return {"subject": subject or f"user:{user}", "object": obj, "resource": shown,
            "relation": f.text("relation", default="viewer"), "decision": f.choice("decision", ("allow", "deny"))}


def _amount(f: _Fields) -> Decimal:
    raw = f.data.get("amount")
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise f.fail("amount", "missing" if raw is None else "expected an amount such as \"450000.00\"")
    try:
        value = Decimal(str(raw).replace(" ", "").replace("_", ""))
    except InvalidOperation:
        raise f.fail("amount", f"not a number: {raw!r}") from None
    if not value.is_finite() or value < 0:
        raise f.fail("amount", "must be a non-negative amount")
    return value


def _fields(kind: str, f: _Fields, *, people: set[str], agents: set[str], phases: set[int]) -> dict[str, Any]:
    def agent() -> str | None:
        name = f.text("agent")
        if name is not None and name not in agents:
            raise f.fail("agent", f"unknown agent {name!r}")
        return name

    def phase() -> int:
        number = f.number("phase", minimum=1, integer=True)
        if number is None:
            raise f.fail("phase", "missing")
        if number not in phases:
            raise f.fail("phase", f"the world has no phase {number} (it has {', '.join(map(str, sorted(phases)))})")
        return int(number)

    if kind == "access":
        return _access(f, people)
    if kind == "scope":
        return {"scope": f.required("scope"), "decision": f.choice("decision", ("refused", "granted")), "agent": agent()}
    if kind == "approval":
        return {"amount": _amount(f), "currency": f.text("currency", default="EUR"), "type": f.text("type"),
                "agent": agent(), "outcome": f.choice("outcome", APPROVAL_OUTCOMES)}
    if kind == "containment":
        within = f.number("within", minimum=0)
        if within is None:
            raise f.fail("within", "missing (seconds to containment)")
        return {"within": within, "agent": agent(), "max_records": f.number("max_records", integer=True),
                "measured_from": f.choice("measured_from", CONTAINMENT_ORIGINS, default="detection")}
    if kind == "phase":
        return {"phase": phase(), "outcome": f.choice("outcome", ("pass", "fail"), default="pass")}
    if kind == "fact":
        equals = f.data.get("equals")
        if equals is not None and not isinstance(equals, (str, int, float, bool)):
            raise f.fail("equals", "expected a string, number or boolean")
        found = {"phase": phase(), "fact": f.required("fact"), "equals": equals,
                 "at_least": f.number("at_least", minimum=float("-inf")),
                 "at_most": f.number("at_most", minimum=float("-inf"))}
        if all(found[k] is None for k in ("equals", "at_least", "at_most")):
            raise f.fail("", "a fact expectation needs equals, at_least or at_most")
        return found
    if kind == "event":
        found = {"event": f.required("event"), "actor": f.text("actor"), "agent": agent(),
                 "decision": f.text("decision"), "reason_contains": f.text("reason_contains"),
                 "at_least": f.number("at_least", integer=True), "at_most": f.number("at_most", integer=True)}
        if found["at_least"] is None:
            found["at_least"] = 0 if found["at_most"] is not None else 1
        if found["at_most"] is not None and found["at_most"] < found["at_least"]:
            raise f.fail("at_most", "is below at_least")
        return found
    return {}


def parse_expectations(data: Mapping[str, Any], *, read: Any, person_ids: set[str], agent_ids: set[str],
                       phase_numbers: set[int]) -> tuple[Expectation, ...]:
    """The ``[[expectations]]`` array of a parsed world file (module docstring); ``()`` when absent."""
    found = []
    for i, raw in enumerate(read.tables(data, "expectations")):
        where = f"expectations[{i}]"
        f = _Fields(read, raw, where)
        kind = f.choice("kind", KINDS) if "kind" in raw else None
        if kind is None:
            raise f.fail("kind", f"missing (one of {', '.join(KINDS)})")
        unknown = sorted(set(raw) - set(COMMON) - set(FIELDS[kind]))
        if unknown:
            allowed = ", ".join(FIELDS[kind] + COMMON)
            raise f.fail(unknown[0], f"unknown field for the {kind} kind (use {allowed})")
        fields = _fields(kind, f, people=person_ids, agents=agent_ids, phases=phase_numbers)
        line = read.index.line_of(where) or 1
        found.append(Expectation(kind=kind, where=where, line=line, fields=fields,
                                 text=f.text("description") or _sentence(kind, fields)))
    return tuple(found)
