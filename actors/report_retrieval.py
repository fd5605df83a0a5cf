"""The financial report retrieval service: a vector search that FGA filters before anything leaves it
(SPEC.md "Other scenarios": the financial RAG agent; capability 5).

A protected resource (RFC 9728 metadata, RFC 6750 bearer tokens from the enterprise IdP, audience =
this service alone — the agent obtains the token by RFC 8693 delegation, so the token's subject is
the *user* and ``act`` names the agent). ``POST /search`` with ``{"query": ..., "k": ...}``:

1. **pre-filter** (``actors.rag_filter.prefilter``): ListObjects(user, ``viewer``, ``report``) over
   every report in the index; each report allowed or denied is audited (``rag.report_allowed`` /
   ``rag.report_denied``, with the reason);
2. the KNN search runs *inside* the permitted reports only (``sqlite-vec`` metadata filter);
3. **post-filter** (``actors.rag_filter.postfilter``): BatchCheck on the report of every retrieved
   chunk (the FGA service audits each check with the engine's explanation); a chunk whose check was
   denied or failed is dropped (``rag.chunk_dropped``);
4. the answer carries only the kept chunks, and counts — never the names — of what was withheld.

The FGA user is the token's subject as the directory names it (``user:alice``), never the agent.
FGA unreachable → ``503`` and nothing retrieved (fails closed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from actors.fga_client import FgaClient
from actors.rag_filter import Candidate, postfilter, prefilter
from actors.runtime.actor import HttpActor
from actors.runtime.network import Unreachable
from actors.storage.vector_store import VectorStore
from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.jose.jwks import InvalidJwkSet, JwkSet
from protocols.mcp_authorization import Authorized, McpProtection, authenticate, challenge, fga_user, token_key_id
from protocols.oauth.errors import InvalidRequest, MethodNotAllowed, NotFound, OAuthError, TemporarilyUnavailable
from protocols.oidc.discovery import DiscoveryRejected, ProviderMetadata, discovery_url
from protocols.oidc.userinfo import MissingBearerToken
from protocols.protected_resource import metadata_path
from protocols.retrieval import embed

SEARCH_PATH = "/search"
SCOPE = "reports:read"
RELATION = "viewer"
OBJECT_TYPE = "report"
MAX_K = 20


def report_object(report_id: str) -> str:
    return f"{OBJECT_TYPE}:{report_id}"


def parse_search(request: HttpRequest) -> tuple[str, int]:
    """``{"query": non-empty string, "k": 1..20}``; anything else is ``invalid_request``."""
    try:
        body = request.json()
    except MalformedBody as error:
        raise InvalidRequest(str(error)) from None
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object")
    query, k = body.get("query"), body.get("k", 4)
    if not isinstance(query, str) or not query.strip():
        raise InvalidRequest("query must be a non-empty string")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise InvalidRequest(f"k must be an integer from 1 to {MAX_K}")
    return query, k


@attrs.define(eq=False)
class ReportRetrievalActor(HttpActor):
    protection: McpProtection | None = None
    store: VectorStore | None = attrs.field(default=None, repr=False)
    directory: Mapping[str, str] = attrs.field(factory=dict)
    fga: FgaClient | None = None
    _keys: JwkSet | None = attrs.field(default=None, init=False, repr=False)

    @property
    def resource(self) -> str:
        assert self.protection is not None
        return self.protection.resource

    async def handle(self, request: HttpRequest) -> HttpResponse:
        assert self.protection is not None
        if request.path == metadata_path(self.resource):
            if request.method.upper() != "GET":
                raise MethodNotAllowed("the metadata document is read with GET")
            return self.protection.metadata.to_response()
        if request.path != SEARCH_PATH:
            raise NotFound(f"no endpoint at {request.path}")
        if request.method.upper() != "POST":
            raise MethodNotAllowed("search with POST")
        try:
            authorized = authenticate(request, protection=self.protection, keys=await self._keys_for(request),
                                      now=self.runtime.clock.now())
        except MissingBearerToken:
            await self.audit("rag.request_denied", decision="deny", reason="no access token")
            return challenge(None, protection=self.protection)
        except OAuthError as error:
            if isinstance(error, TemporarilyUnavailable):
                raise
            await self.audit("rag.request_denied", decision="deny", reason=f"{error.error}: {error.description}")
            return challenge(error, protection=self.protection)
        try:
            query, k = parse_search(request)
        except InvalidRequest as error:
            await self.audit("rag.request_denied", agent=authorized.agent, subject=authorized.subject, decision="deny",
                             reason=f"{error.error}: {error.description}")
            raise
        try:
            return await self._search(authorized, query=query, k=k)
        except Unreachable:
            await self.audit("rag.retrieval_refused", agent=authorized.agent, subject=authorized.subject,
                             decision="deny", reason="the FGA service is unreachable: nothing retrieved (fails closed)")
            raise TemporarilyUnavailable("authorization is unavailable; nothing was retrieved") from None

    async def _search(self, authorized: Authorized, *, query: str, k: int) -> HttpResponse:
        assert self.store is not None and self.fga is not None
        user = fga_user(authorized.subject, directory=self.directory)
        client = attrs.evolve(self.fga, agent=authorized.agent)
        who = {"agent": authorized.agent, "subject": authorized.subject}
        reports = [Candidate(id=r, object=report_object(r)) for r in self.store.reports()]
        pre = await prefilter(client, user=user, relation=RELATION, candidates=reports)
        for candidate in pre.kept:
            await self.audit("rag.report_allowed", **who, decision="allow", object=candidate.object, user=user,
                             reason=f"pre-filter (ListObjects): {user} is {RELATION} of {candidate.object}")
        for dropped in pre.dropped:
            await self.audit("rag.report_denied", **who, decision="deny", object=dropped.candidate.object, user=user,
                             reason=f"pre-filter: {dropped.reason}")
        hits = self.store.search(embed(query), k=k, reports=set(pre.kept_ids))
        post = await postfilter(client, user=user, relation=RELATION,
                                candidates=[Candidate(id=h.chunk.id, object=report_object(h.chunk.report))
                                            for h in hits])
        for dropped in post.dropped:
            await self.audit("rag.chunk_dropped", **who, decision="deny", object=dropped.candidate.object,
                             chunk=dropped.candidate.id, user=user, reason=f"post-filter: {dropped.reason}")
        kept = set(post.kept_ids)
        chunks = [{"id": h.chunk.id, "report": h.chunk.report, "title": h.chunk.title, "text": h.chunk.text,
                   "distance": h.distance} for h in hits if h.chunk.id in kept]
        await self.audit("rag.retrieved", **who, decision="allow" if chunks else "deny", user=user,
                         reason=(f"{len(chunks)} chunk(s) from {len(pre.kept)} permitted report(s); "
                                 f"{len(pre.dropped)} report(s) withheld before the search, "
                                 f"{len(post.dropped)} chunk(s) dropped after it"),
                         chunks=[c["id"] for c in chunks], k=k)
        body: dict[str, Any] = {"user": user, "chunks": chunks,
                                "withheld": {"reports": len(pre.dropped), "chunks": len(post.dropped)}}
        return HttpResponse.json_body(body, headers={"cache-control": "no-store"})

    async def _keys_for(self, request: HttpRequest) -> JwkSet:
        """The IdP's keys, read through discovery; read again when a token names an unknown ``kid``."""
        assert self.protection is not None
        header = request.header("authorization") or ""
        kid = token_key_id(header.partition(" ")[2].strip()) if header.lower().startswith("bearer ") else None
        if self._keys is None or (kid is not None and self._keys.lookup(kid) is None):
            try:
                network = self.runtime.network
                document = await network.send(HttpRequest.get(discovery_url(self.protection.issuer)))
                metadata = ProviderMetadata.from_json(document.json(), expected_issuer=self.protection.issuer)
                self._keys = JwkSet.from_json((await network.send(HttpRequest.get(metadata.jwks_uri))).json())
            except (Unreachable, MalformedBody, DiscoveryRejected, InvalidJwkSet) as error:
                self.log.warning("jwks.unavailable", issuer=self.protection.issuer, error_type=type(error).__name__)
        if self._keys is None:
            raise TemporarilyUnavailable("the authorization server's keys cannot be read")
        return self._keys
