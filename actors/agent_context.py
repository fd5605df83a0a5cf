"""What an agent knows for one task: the context it assembled from MCP servers (SPEC.md phase 3).

An :class:`AgentContext` holds only what reached the agent — resources it was allowed to read, tool
results — and, separately, the names (never the content) of what was refused, with the reason.
:meth:`AgentContext.text` is everything the agent could put in a prompt or output, so a test (or the
output filter) can prove that denied data is absent from it.
"""

from __future__ import annotations

import json
from typing import Any

import attrs


@attrs.frozen(kw_only=True)
class ContextItem:
    """One piece of data in the context: where it came from and what it says."""

    source: str
    server: str
    title: str
    content: Any


@attrs.frozen(kw_only=True)
class Refusal:
    """Something the agent asked for and did not get (no content, only the name and why)."""

    uri: str
    server: str
    status: int
    reason: str


@attrs.frozen(kw_only=True)
class ServerSummary:
    """What discovery found about one MCP server, and what it listed for this user."""

    name: str
    url: str
    authorization_server: str
    scope: tuple[str, ...]
    resources: tuple[str, ...]
    templates: tuple[str, ...]
    tools: tuple[str, ...]


@attrs.frozen(kw_only=True)
class AgentContext:
    """The context of one task for one user."""

    subject: str
    task: str
    servers: tuple[ServerSummary, ...] = ()
    items: tuple[ContextItem, ...] = ()
    refused: tuple[Refusal, ...] = ()

    def item(self, source: str) -> ContextItem | None:
        return next((i for i in self.items if i.source == source), None)

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(i.source for i in self.items)

    def text(self) -> str:
        """Every item's content as one text: what the agent could say or write from this context."""
        return "\n".join(f"{i.source}\n{json.dumps(i.content, sort_keys=True, ensure_ascii=False)}"
                         for i in self.items)
