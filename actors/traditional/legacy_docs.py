"""A traditional document store with an MCP-style resource endpoint (the whitepaper's "application-level
checks, inconsistent" and "custom authentication logic in each MCP server").

Every document has an owner and a list of people it is shared with. ``GET /docs/{doc_id}`` with an
API key applies the application's own check — the user named in ``X-On-Behalf-Of`` must be the
owner or in the share list; no header means a service call and everything is readable. An agent that
names whoever the prompt mentions (a confused deputy) reads anyone's documents.
``GET /mcp/resources?uri=...`` takes a bearer token checked by the hand-rolled code of
``legacy_login`` (``alg: none`` accepted, no audience, no expiry) and applies the same check to the
token's subject.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from actors.traditional.legacy_app import Caller, LegacyApp, Reply
from actors.traditional.legacy_login import hand_rolled_bearer_check
from protocols.http import HttpRequest, MalformedBody


@attrs.frozen(kw_only=True)
class Document:
    uri: str
    title: str
    owner: str
    """The owner's e-mail address."""
    shared_with: tuple[str, ...] = ()
    public: bool = False
    body: str = ""


@attrs.define(eq=False)
class LegacyDocsActor(LegacyApp):
    documents: dict[str, Document] = attrs.field(factory=dict)
    shared_secret: str = attrs.field(default="", repr=False)
    accept_unsigned: bool = True

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.legacy_route("GET", "/docs", self._list)
        self.legacy_route("GET", "/docs/{doc_id}", self._read)
        self.legacy_route("GET", "/mcp/resources", self._mcp_read)
        self.extra_auth.append(hand_rolled_bearer_check(secret=self.shared_secret,
                                                        accept_unsigned=self.accept_unsigned))

    def add(self, document: Document) -> None:
        self.documents[document.uri.split("://", 1)[-1].replace("/", "-")] = document

    @staticmethod
    def _allowed(caller: Caller, document: Document) -> bool:
        user = caller.on_behalf_of
        return user is None or document.public or user == document.owner or user in document.shared_with

    def _body(self, doc_id: str, document: Document) -> dict:
        return {"id": doc_id, "uri": document.uri, "title": document.title, "owner": document.owner,
                "body": document.body}

    async def _list(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> Reply:
        visible = [{"id": k, "uri": d.uri, "title": d.title} for k, d in sorted(self.documents.items())
                   if self._allowed(caller, d)]
        return Reply(body={"documents": visible})

    async def _read(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> Reply:
        document = self.documents.get(params["doc_id"])
        if document is None:
            return Reply(body={"error": "not_found"}, status=404)
        if not self._allowed(caller, document):
            return Reply(body={"error": "forbidden"}, status=403, note=f"uri={document.uri}")
        return Reply(body=self._body(params["doc_id"], document), records=1, note=f"uri={document.uri}")

    async def _mcp_read(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> Reply:
        uri = request.query_params().get("uri", "")
        if not uri:
            raise MalformedBody("uri is required")
        found = next(((k, d) for k, d in sorted(self.documents.items()) if d.uri == uri), None)
        if found is None:
            return Reply(body={"error": "not_found"}, status=404)
        if not self._allowed(caller, found[1]):
            return Reply(body={"error": "forbidden"}, status=403, note=f"uri={uri}")
        return Reply(body={"contents": [self._body(*found)]}, records=1, note=f"uri={uri}")
