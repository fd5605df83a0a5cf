"""What an MCP server holds: its resources, resource templates and scope (values built from the world).

A :class:`McpServerSpec` describes one server — name, the scope a token needs, its ``kind`` (which
tools it offers, see ``actors.mcp_tools``), the resources it lists (each with its content) and the
URI templates it answers (MCP ``resources/templates/list``). Content is JSON-able data, rendered as
sorted, indented JSON so a read returns the same bytes every run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

import attrs

from protocols.mcp_authorization import ResourceCatalogue

ServerKind = Literal["crm", "docs", "calendar", "pricing"]
SERVER_KINDS: tuple[str, ...] = ("crm", "docs", "calendar", "pricing")
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
class McpServerSpec:
    """One MCP server of the world."""

    name: str
    title: str
    kind: ServerKind
    scope: str
    instructions: str = ""
    resources: tuple[ResourceSpec, ...] = ()
    templates: tuple[TemplateSpec, ...] = ()

    def resource(self, uri: str) -> ResourceSpec | None:
        return next((r for r in self.resources if r.uri == uri), None)

    @property
    def by_uri(self) -> Mapping[str, ResourceSpec]:
        return {r.uri: r for r in self.resources}

    def catalogue(self) -> ResourceCatalogue:
        return ResourceCatalogue(uris=frozenset(r.uri for r in self.resources),
                                 templates=tuple(t.uri_template for t in self.templates))
