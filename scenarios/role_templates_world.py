"""``[[role_templates]]``: the organization's own agent types, beside or instead of the built-in ones.

```toml
[[role_templates]]
name = "campaign-assistant"       # an agent's `agent_type` names it; a built-in's name replaces that one
description = "Campaign audiences and e-mail, no team chat"
grants = { crm = ["crm.read"], token-vault = ["gmail.send"], privileged-vault = ["*"] }  # system = scopes
jit = { customer-db = ["select:purchases"] }     # what it may get just in time (optional)
max_jit_seconds = 7200                           # for at most this long (default 3600)

[[agents]]
id = "marketing-agent-prod-001"
agent_type = "campaign-assistant"  # registered with this type (metadata.agent_type); checked below
```

A template mirrors ``protocols.governance.RoleTemplate``: ``grants`` and ``jit`` are tables of the
platform's systems (as governance's connectors name them: ``crm``, ``token-vault``, ``pricing-as``,
``privileged-vault``, a database by name, ``fga``, the IdP) to scopes, ``"*"`` in ``grants`` for any
scope of that system. Governance flags every entitlement of a certification campaign outside the
agent's template and refuses a JIT elevation the template does not offer
(``protocols.role_templates`` lists the built-in ones). A world that extends another merges its
templates into the base's by ``name`` (``scenarios.world_schema``). Errors are one-line
``WorldError``s with the file and line, an agent naming an unknown template included.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from protocols.governance import RoleTemplate
from protocols.role_templates import ROLE_TEMPLATES

SECTION = "role_templates"
DEFAULT_MAX_JIT_SECONDS = 3600
ANY_SCOPE = "*"


def _pairs(read: Any, raw: Mapping[str, Any], key: str, where: str, *, required: bool) -> frozenset[tuple[str, str]]:
    """``key = { system = [scope, ...], ... }`` as ``(system, scope)`` pairs."""
    value = raw.get(key)
    if value is None and not required:
        return frozenset()
    if not isinstance(value, dict) or (required and not value):
        raise read.fail(f"{where}.{key}", "missing" if value is None else
                        "expected a table of systems to lists of scopes: { crm = [\"crm.read\"] }")
    pairs = set()
    for system, scopes in value.items():
        if not isinstance(scopes, list) or not scopes or not all(isinstance(s, str) and s.strip() for s in scopes):
            raise read.fail(f"{where}.{key}.{system}", "expected a non-empty list of scope strings")
        if key == "jit" and ANY_SCOPE in scopes:
            raise read.fail(f"{where}.{key}.{system}", "'*' cannot be granted just in time: name the scope")
        pairs.update((system, scope) for scope in scopes)
    return frozenset(pairs)


def parse_role_templates(data: Mapping[str, Any], *, read: Any) -> dict[str, RoleTemplate]:
    """The built-in templates with the world's merged over them by name (a world's replaces a built-in's)."""
    templates = dict(ROLE_TEMPLATES)
    declared: set[str] = set()
    for i, raw in enumerate(read.tables(data, SECTION)):
        where = f"{SECTION}[{i}]"
        name = read.string(raw, "name", where)
        if name in declared:
            raise read.fail(f"{where}.name", f"a second role template named {name!r}")
        declared.add(name)
        max_jit = (read.positive_int(raw, "max_jit_seconds", where) if "max_jit_seconds" in raw
                   else DEFAULT_MAX_JIT_SECONDS)
        templates[name] = RoleTemplate(name=name, description=read.string(raw, "description", where),
                                       grants=_pairs(read, raw, "grants", where, required=True),
                                       jit=_pairs(read, raw, "jit", where, required=False), max_jit_seconds=max_jit)
    return templates


def agent_type(read: Any, raw: Mapping[str, Any], where: str, *, templates: Mapping[str, RoleTemplate]) -> str:
    """An agent's optional ``agent_type``: the name of a role template ("" when not given)."""
    if "agent_type" not in raw:
        return ""
    name = read.string(raw, "agent_type", where)
    if name not in templates:
        known = ", ".join(sorted(templates))
        raise read.fail(f"{where}.agent_type", f"unknown role template {name!r} (known: {known})")
    return name
