"""The ``[mcp]`` section of a world file: the MCP servers of a scenario (SPEC.md capability 7).

```toml
[mcp]
catalogue = "sales-agent.mcp.toml"     # beside the world file
```

The catalogue file holds ``[[servers]]`` — ``name``, ``title``, ``kind`` (``crm``, ``docs``,
``calendar``, ``pricing``: which tools it offers), ``scope`` (what a token for it needs),
``instructions``, ``templates`` (``{ uri_template, name, title }``), optionally ``vault``
(``{ integration, scope }``: what its ``crm`` sources are read through) and ``[[servers.resources]]``
(``uri``, ``name``, ``title``, optional ``description``/``mime_type``, and either ``content`` or
``source`` — ``crm`` or ``workspace-calendar``, see ``actors.mcp_catalogue``). Every resource URI
must map to an FGA object (``protocols.fga.rag.object_for_uri``) and appear once across servers.
Problems raise :class:`McpSectionError`, which ``scenarios.world`` turns into a one-line ``WorldError``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from actors.mcp_catalogue import (
    SERVER_KINDS, SOURCE_CALENDAR, SOURCE_CRM, SOURCES, McpServerSpec, ResourceSpec, TemplateSpec, VaultBinding,
)
from protocols.fga.rag import object_for_uri
from scenarios.toml_lines import index_toml, toml_error_line


class McpSectionError(ValueError):
    """``where`` (e.g. ``.servers[1].resources[0].uri``) and a one-line ``problem``."""

    def __init__(self, where: str, problem: str, *, catalogue: str = "", line: int | None = None) -> None:
        super().__init__(f"mcp{where}: {problem}")
        self.where = where
        self.problem = problem
        self.catalogue = catalogue
        """The catalogue file the problem is in (its ``line``), or "" for the world file's ``[mcp]``."""
        self.line = line


@attrs.frozen(kw_only=True)
class McpSettings:
    catalogue: str
    servers: tuple[McpServerSpec, ...]

    def server(self, name: str) -> McpServerSpec:
        return next(s for s in self.servers if s.name == name)


def _string(data: dict[str, Any], key: str, where: str, *, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or (default is None and not value.strip()):
        raise McpSectionError(f"{where}.{key}", "missing" if value is None else "expected a non-empty string")
    return value


def _tables(data: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise McpSectionError(f"{where}.{key}", "expected an array of tables")
    return value


def _vault(data: dict[str, Any], where: str) -> VaultBinding | None:
    value = data.get("vault")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise McpSectionError(f"{where}.vault", "expected a table { integration, scope }")
    scope = value.get("scope")
    if not isinstance(scope, list) or not scope or not all(isinstance(s, str) and s.strip() for s in scope):
        raise McpSectionError(f"{where}.vault.scope", "expected a non-empty array of scopes")
    return VaultBinding(integration=_string(value, "integration", f"{where}.vault"), scope=tuple(scope))


def _data(r: dict[str, Any], at: str, vault: VaultBinding | None) -> dict[str, Any]:
    """``content`` xor ``source`` of one resource."""
    if ("content" in r) == ("source" in r):
        raise McpSectionError(f"{at}.content", "give either content or source")
    if "content" in r:
        return {"content": r["content"]}
    source = _string(r, "source", at)
    if source not in SOURCES:
        raise McpSectionError(f"{at}.source", f"must be one of {', '.join(SOURCES)}, got {source!r}")
    if source == SOURCE_CRM and vault is None:
        raise McpSectionError(f"{at}.source", "a crm source needs the server's vault binding")
    return {"source": source}


def _server(data: dict[str, Any], where: str, seen_uris: set[str]) -> McpServerSpec:
    kind = _string(data, "kind", where)
    if kind not in SERVER_KINDS:
        raise McpSectionError(f"{where}.kind", f"must be one of {', '.join(SERVER_KINDS)}, got {kind!r}")
    scope = _string(data, "scope", where)
    if " " in scope or scope == "offline_access":
        raise McpSectionError(f"{where}.scope", "one scope token, not offline_access")
    vault = _vault(data, where)
    resources = []
    for i, r in enumerate(_tables(data, "resources", where)):
        at = f"{where}.resources[{i}]"
        uri = _string(r, "uri", at)
        try:
            object_for_uri(uri)
        except ValueError as error:
            raise McpSectionError(f"{at}.uri", str(error)) from None
        if uri in seen_uris:
            raise McpSectionError(f"{at}.uri", f"{uri} is served twice")
        seen_uris.add(uri)
        resources.append(ResourceSpec(uri=uri, name=_string(r, "name", at), title=_string(r, "title", at),
                                      description=_string(r, "description", at, default=""),
                                      mime_type=_string(r, "mime_type", at, default="application/json"),
                                      **_data(r, at, vault)))
    templates = tuple(
        TemplateSpec(uri_template=_string(t, "uri_template", f"{where}.templates[{i}]"),
                     name=_string(t, "name", f"{where}.templates[{i}]"),
                     title=_string(t, "title", f"{where}.templates[{i}]"))
        for i, t in enumerate(_tables(data, "templates", where)))
    return McpServerSpec(name=_string(data, "name", where), title=_string(data, "title", where), kind=kind,
                         scope=scope, instructions=_string(data, "instructions", where, default=""),
                         resources=tuple(resources), templates=templates, vault=vault)


def in_team(team: str, name: str) -> bool:
    """``team`` is the team ``name`` names (``sales`` or ``sales-team``: ``sales``, ``sales-emea``…)."""
    name = name.removesuffix("-team")
    return bool(team) and (team == name or team.startswith(name + "-"))


def _check_references(servers: tuple[McpServerSpec, ...], world: Mapping[str, Any]) -> None:
    """A vault binding names an integration of the world; a ``workspace-calendar`` source is a
    person's calendar (``calendar://users/<person id>``) or a team's (``calendar://availability/<team>``,
    see :func:`in_team`)."""
    integrations = {i.get("name") for i in world.get("integrations", []) if isinstance(i, dict)}
    people = [p for p in world.get("people", []) if isinstance(p, dict)]
    ids, teams = {p.get("id") for p in people}, {str(p.get("team", "")) for p in people}
    for i, server in enumerate(servers):
        if server.vault is not None and server.vault.integration not in integrations:
            raise McpSectionError(f".servers[{i}].vault", f"no integration {server.vault.integration!r} in the world")
        for j, resource in enumerate(server.resources):
            if resource.source != SOURCE_CALENDAR:
                continue
            kind, _, name = resource.uri.removeprefix("calendar://").partition("/")
            known = (kind == "users" and name in ids) or (
                kind == "availability" and any(in_team(t, name) for t in teams))
            if not known:
                raise McpSectionError(f".servers[{i}].resources[{j}].uri",
                                      "a workspace-calendar source is calendar://users/<person id> or "
                                      "calendar://availability/<team> of the world's people")


def parse_mcp(section: Any, *, base_dir: Path, world: Mapping[str, Any] | None = None) -> McpSettings | None:
    """The section's settings, the catalogue read from ``base_dir``; ``None`` when there is no section.
    ``world`` (the whole world file's data) lets the catalogue's references be checked."""
    if section is None:
        return None
    if not isinstance(section, dict):
        raise McpSectionError("", "expected a table")
    catalogue = _string(section, "catalogue", "")
    path = base_dir / catalogue
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise McpSectionError(".catalogue", f"no such file {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise McpSectionError(".catalogue", f"cannot read {path.name}: {type(error).__name__}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise McpSectionError("", f"invalid TOML: {error}", catalogue=str(path),
                              line=toml_error_line(error, text)) from None
    try:
        seen: set[str] = set()
        servers = tuple(_server(s, f".servers[{i}]", seen) for i, s in enumerate(_tables(data, "servers", "")))
        names = [s.name for s in servers]
        if len(set(names)) != len(names):
            raise McpSectionError(".servers", "two servers share a name")
        if world is not None:
            _check_references(servers, world)
    except McpSectionError as error:
        raise McpSectionError(error.where, error.problem, catalogue=str(path),
                              line=index_toml(text).line_of(error.where.lstrip(".")) or 1) from None
    return McpSettings(catalogue=catalogue, servers=servers)
