"""A Slack-like workspace: channels and messages behind its own OAuth 2.0 authorization server
(user tokens with ``channels:read`` / ``chat:write``). It exists so the vault can hold a Slack
connection that some agents may use and others — the sales agent — may not."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from actors.saas.base import ApiReply, Caller, SaasProvider, json_object, text_field
from protocols.http import HttpRequest
from protocols.oauth.errors import AccessDenied, NotFound

API = "/api"
SCOPES = {"channels:read": "View basic information about public channels",
          "chat:write": "Send messages as you"}
APIS = {API: frozenset(SCOPES)}


@attrs.frozen(kw_only=True)
class SlackMessage:
    channel: str
    user: str
    text: str
    ts: int


@attrs.define(eq=False)
class SlackActor(SaasProvider):
    members: dict[str, str] = attrs.field(factory=dict)
    """subject → e-mail of the workspace's members."""
    channels: dict[str, str] = attrs.field(factory=dict)
    """channel id → name."""
    messages: list[SlackMessage] = attrs.field(factory=list)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.api_route("GET", f"{API}/conversations.list", self.list_channels, api=API, scopes=("channels:read",))
        self.api_route("POST", f"{API}/chat.postMessage", self.post_message, api=API, scopes=("chat:write",))

    async def list_channels(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        rows = [{"id": cid, "name": name} for cid, name in sorted(self.channels.items())]
        return ApiReply(body={"ok": True, "channels": rows}, records=len(rows))

    async def post_message(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        if caller.subject not in self.members:
            raise AccessDenied("not a member of this workspace")
        body = json_object(request)
        channel = text_field(body, "channel")
        if channel not in self.channels:
            raise NotFound("channel_not_found")
        message = SlackMessage(channel=channel, user=caller.subject, text=text_field(body, "text"),
                               ts=self.runtime.clock.now())
        self.messages.append(message)
        return ApiReply(body={"ok": True, "channel": channel, "ts": str(message.ts)}, records=1)
