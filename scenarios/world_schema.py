"""The sections and fields a world file may contain, so that a misspelt one is an error.

``SECTIONS`` maps each top-level section to its shape: a ``Table`` (known keys, each a leaf, a
nested ``Table`` or ``ArrayOf`` tables) or ``FREE`` (checked by the section's own parser, e.g.
``[fga]``, ``[[expectations]]``, or open by design, e.g. an agent's ``integrations``).
``unknown_field`` returns the dotted path of the first key that is in none of them (in file order).

A scenario that adds a world section registers it here (one line in ``SECTIONS``) beside its
``scenarios/*_world.py`` parser.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Union

import attrs


@attrs.frozen
class Table:
    """A table whose keys are known: a key maps to ``None`` (any value) or to a nested shape."""

    keys: Mapping[str, "Shape"]


@attrs.frozen
class ArrayOf:
    """An array of tables (``[[name]]`` or ``name = [{...}, ...]``), each of ``element`` shape.

    ``key`` is the field that identifies an element (``[[phases]]``: ``number``): a world that
    extends another merges its elements into the base's by it (``scenarios.world_extends``); an
    array without one replaces the base's wholesale."""

    element: Table
    key: str | None = None


@attrs.frozen
class _Free:
    """Anything: the section's own parser checks it."""


FREE = _Free()
Shape = Union[Table, ArrayOf, _Free, None]


def _table(*keys: str, **nested: "Shape") -> Table:
    return Table(keys={**{k: None for k in keys}, **nested})


SECTIONS: dict[str, Shape] = {
    "scenario": _table("name", "title", "epoch", "extends", "drop"),
    "organization": _table("name", "domain"),
    "idp": _table("name", "signing_alg", "id_token_lifetime", "access_token_lifetime", "session_lifetime",
                  "key_rotation_days"),
    "google": _table("name", "signing_alg"),
    "people": ArrayOf(_table("id", "name", "email", "login", "role", "territory", "team", "manager"), key="id"),
    "agents": ArrayOf(_table("id", "name", "owner", "purpose", "client_auth", "signing_alg", "scopes", "agent_type",
                             integrations=FREE), key="id"),
    "phases": ArrayOf(_table("number", "name", "at", "user", "agent"), key="number"),
    "mcp": _table("catalogue"),
    "fga": FREE,
    "pricing": _table("authorization_server", "api", "resource", "audience_aliases", "signing_alg",
                      "access_token_lifetime", "scopes", "trusted_idps", "introspection_cache",
                      prices=ArrayOf(_table("tier", "sku", "product", "unit", "list_price_eur"), key="sku")),
    "managed_connections": ArrayOf(_table("agent", "target", "client_id", "granted", "approval", "refused",
                                          "resources", "id_jag_lifetime")),
    "vault": _table("name", "refresh_margin", "keep_warm", "kek_rotation_days",
                    egress=_table("internal_domains", "internal_sources")),
    "providers": ArrayOf(_table("name", "kind", "title", "signing_alg", "access_token_lifetime",
                                "refresh_token_days", "refresh_token_idle_days", "consent"), key="name"),
    "integrations": ArrayOf(_table("name", "provider", "api", "scopes"), key="name"),
    "approval_rules": ArrayOf(_table("agent", "type", "above", "currency", "approver", "scopes", "delivery_mode",
                                     "executor", "token_lifetime", "request_expiry", "poll_interval")),
    "approvers": ArrayOf(_table("person", "channels", "decision", "delay", "reason",
                                answers=ArrayOf(_table("reference", "decision", "delay", "reason"))), key="person"),
    "proposed_actions": ArrayOf(_table("id", "phase", "agent", "user", "binding_message", detail=FREE), key="id"),
    "detection": _table("enabled", "start", "window", "elevated", "high", "baseline_days", "min_baseline_days",
                        "security_team"),
    "routine": _table("agent", "reads_per_day", "hours"),
    "attack": _table("records", "duration", "retry_every", "retry_rounds"),
    "credential_rotation": ArrayOf(_table("agent", "every_days", "overlap_hours", "lease_hours"), key="agent"),
    "role_templates": ArrayOf(_table("name", "description", "max_jit_seconds", grants=FREE, jit=FREE),
                              key="name"),  # scenarios.role_templates_world
    "expectations": FREE,
    "rag": FREE,        # scenarios.rag_world (financial-rag)
    "consent": FREE,    # scenarios.consent_world (b2c-consent)
}


def _unknown(value: Any, shape: Shape, where: str) -> tuple[str, str] | None:
    if isinstance(shape, Table) and isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else key
            if key not in shape.keys:
                return path, ", ".join(shape.keys)
            found = _unknown(item, shape.keys[key], path)
            if found:
                return found
    elif isinstance(shape, ArrayOf) and isinstance(value, list):
        for i, item in enumerate(value):
            found = _unknown(item, shape.element, f"{where}[{i}]")
            if found:
                return found
    return None  # leaves, FREE, and wrong types (the section's parser names those)


def unknown_field(data: Mapping[str, Any], *, sections: Mapping[str, Shape] = SECTIONS) -> tuple[str, str] | None:
    """``(path, known keys)`` of the first unknown section or field, or ``None``."""
    return _unknown(dict(data), Table(keys=sections), "")
