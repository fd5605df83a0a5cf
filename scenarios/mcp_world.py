"""The ``[mcp]`` section of a world file: the MCP servers of a scenario (SPEC.md capability 7).

```toml
[mcp]
catalogue = "sales-agent.mcp.toml"     # beside the world file
```

The catalogue file holds ``[[servers]]`` — ``name``, ``title``, ``kind`` (``crm``, ``docs``,
``calendar``, ``pricing``: which tools it offers), ``scope`` (what a token for it needs),
``instructions``, ``templates`` (``{ uri_template, name, title }``) and ``[[servers.resources]]``
(``uri``, ``name``, ``title``, optional ``description``/``mime_type``, ``content``). Every resource URI
must map to an FGA object (``protocols.fga.rag.object_for_uri``) and appear once across servers.
Problems raise :class:`McpSectionError`, which ``scenarios.world`` turns into a one-line ``WorldError``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import attrs

from actors.mcp_catalogue import SERVER_KINDS, McpServerSpec, ResourceSpec, TemplateSpec
from protocols.fga.rag import object_for_uri


class McpSectionError(ValueError):
    """``where`` (e.g. ``.servers[1].resources[0].uri``) and a one-line ``problem``."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"mcp{where}: {problem}")
        self.where = where
        self.problem = problem


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


def _server(data: dict[str, Any], where: str, seen_uris: set[str]) -> McpServerSpec:
    kind = _string(data, "kind", where)
    if kind not in SERVER_KINDS:
        raise McpSectionError(f"{where}.kind", f"must be one of {', '.join(SERVER_KINDS)}, got {kind!r}")
    scope = _string(data, "scope", where)
    if " " in scope or scope == "offline_access":
        raise McpSectionError(f"{where}.scope", "one scope token, not offline_access")
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
        if "content" not in r:
            raise McpSectionError(f"{at}.content", "missing")
        resources.append(ResourceSpec(uri=uri, name=_string(r, "name", at), title=_string(r, "title", at),
                                      description=_string(r, "description", at, default=""),
                                      mime_type=_string(r, "mime_type", at, default="application/json"),
                                      content=r["content"]))
    templates = tuple(
        TemplateSpec(uri_template=_string(t, "uri_template", f"{where}.templates[{i}]"),
                     name=_string(t, "name", f"{where}.templates[{i}]"),
                     title=_string(t, "title", f"{where}.templates[{i}]"))
        for i, t in enumerate(_tables(data, "templates", where)))
    return McpServerSpec(name=_string(data, "name", where), title=_string(data, "title", where), kind=kind,
                         scope=scope, instructions=_string(data, "instructions", where, default=""),
                         resources=tuple(resources), templates=templates)


def parse_mcp(section: Any, *, base_dir: Path) -> McpSettings | None:
    """The section's settings, the catalogue read from ``base_dir``; ``None`` when there is no section."""
    if section is None:
        return None
    if not isinstance(section, dict):
        raise McpSectionError("", "expected a table")
    catalogue = _string(section, "catalogue", "")
    path = base_dir / catalogue
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise McpSectionError(".catalogue", f"no such file {path}") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise McpSectionError(".catalogue", f"cannot read {path.name}: {error}") from None
    seen: set[str] = set()
    servers = tuple(_server(s, f".servers[{i}]", seen) for i, s in enumerate(_tables(data, "servers", "")))
    names = [s.name for s in servers]
    if len(set(names)) != len(names):
        raise McpSectionError(".servers", "two servers share a name")
    return McpSettings(catalogue=catalogue, servers=servers)
