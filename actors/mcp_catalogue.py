"""What an MCP server holds: its resources, resource templates and scope (values built from the world).

A :class:`McpServerSpec` describes one server — name, the scope a token needs, its ``kind`` (which
tools it offers, see ``actors.mcp_tools``), the resources it lists and the URI templates it answers
(MCP ``resources/templates/list``). A resource's data is either its ``content`` (JSON-able data,
rendered as sorted, indented JSON so a read returns the same bytes every run) or a ``source``:

- ``crm`` — read live from the CRM's API at each request, with a token the token vault serves for
  the user of the MCP token (the server's ``vault`` binding names the integration and scope;
  ``actors.mcp_crm_source``);
- ``workspace-calendar`` — the person's (or the team's) free/busy as the Google Workspace calendar
  holds it when the run starts (``scenarios.mcp_cast`` fills it in from the same seed).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

import attrs

from protocols.mcp_authorization import ResourceCatalogue

ServerKind = Literal["crm", "docs", "calendar", "pricing"]
SERVER_KINDS: tuple[str, ...] = ("crm", "docs", "calendar", "pricing")
SOURCE_CRM, SOURCE_CALENDAR = "crm", "workspace-calendar"
SOURCES: tuple[str, ...] = (SOURCE_CRM, SOURCE_CALENDAR)
MCP_PATH = "/mcp"
"""Where every server's streamable-HTTP endpoint is; the resource identifier is ``base_url + MCP_PATH``."""


def render(content: Any) -> str:
    """Resource text: strings as they are, anything else as stable JSON."""
    if isinstance(content, str):
        return content
    return json.dumps(content, sort_keys=True, indent=2, ensure_ascii=False)


@attrs.frozen(kw_only=True)
class ResourceSpec:
    uri: str
    name: str
    title: str
    description: str = ""
    mime_type: str = "application/json"
    content: Any = attrs.field(default=None, eq=False, repr=False)
    source: str | None = None
    """``None``: ``content`` is the data; else where the data comes from (module docstring)."""

    @property
    def live(self) -> bool:
        """Read from elsewhere at each request (not servable from the catalogue)."""
        return self.source == SOURCE_CRM

    @property
    def text(self) -> str:
        return render(self.content)


@attrs.frozen(kw_only=True)
class TemplateSpec:
    uri_template: str
    name: str
    title: str
    description: str = ""
    mime_type: str = "application/json"


@attrs.frozen(kw_only=True)
class VaultBinding:
    """The token-vault integration a server reads its ``crm`` sources through, and the scope it asks."""

    integration: str
    scope: tuple[str, ...]


@attrs.frozen(kw_only=True)
class McpServerSpec:
    """One MCP server of the world."""

    name: str
    title: str
    kind: ServerKind
    scope: str
    instructions: str = ""
    resources: tuple[ResourceSpec, ...] = ()
    templates: tuple[TemplateSpec, ...] = ()
    vault: VaultBinding | None = None

    def resource(self, uri: str) -> ResourceSpec | None:
        return next((r for r in self.resources if r.uri == uri), None)

    @property
    def by_uri(self) -> Mapping[str, ResourceSpec]:
        return {r.uri: r for r in self.resources}

    def catalogue(self) -> ResourceCatalogue:
        return ResourceCatalogue(uris=frozenset(r.uri for r in self.resources),
                                 templates=tuple(t.uri_template for t in self.templates))
