"""The shadow-AI discovery service (SPEC capability 9).

It knows nothing but what the SaaS providers record: for each source it obtains a token with its
own read-only audit credential (``crm.audit``, ``admin.reports``), reads the provider's
authentication and API-usage logs over the provider's API, asks the agent registry which accounts
belong to governed agents, and hands the rest to ``protocols.shadow_ai``. Each finding is audited
(``shadow_ai.discovered`` with risk and reasons) and served at ``GET /findings``; ``POST /scans``
runs a scan now (security operators only, bearer token issued by this service).
"""

from __future__ import annotations

from typing import Any

import attrs

from actors.operator_access import OperatorTokens
from actors.registry_client import RegistryClient
from actors.runtime.actor import HttpActor
from actors.service_client import ClientCredentialsClient
from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.oauth.errors import OAuthError, TemporarilyUnavailable
from protocols.scim import ScimError
from protocols.shadow_ai import Finding, KnownAgent, LogFormatError, find_shadow_agents, parse_logs

DEFAULT_WINDOW = 30 * 86400


@attrs.frozen(kw_only=True)
class LogSource:
    """A provider whose logs discovery reads: ``logs_url`` answers ``{"auth_events", "api_calls"}``."""

    system: str
    logs_url: str
    client: ClientCredentialsClient = attrs.field(eq=False)


@attrs.define(eq=False)
class DiscoveryActor(HttpActor):
    sources: list[LogSource] = attrs.field(factory=list)
    registry: RegistryClient | None = None
    window: int = DEFAULT_WINDOW
    findings: dict[str, Finding] = attrs.field(factory=dict)
    _operators: OperatorTokens = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self._operators = OperatorTokens(runtime=self.runtime, owner=self.name, prefix="dsc_")
        self.route("POST", "/scans", self.scan_endpoint)
        self.route("GET", "/findings", self.findings_endpoint)

    def issue_operator_token(self) -> str:
        return self._operators.issue()

    async def _authenticate(self, request: HttpRequest) -> None:
        """The operator token; a refusal is audited (``discovery.request_refused``) before it is raised."""
        try:
            self._operators.check(request, what="a discovery")
        except OAuthError as error:
            await self.audit("discovery.request_refused", decision="deny", reason=f"{error.error}: {error.description}",
                             method=request.method, path=request.path[:200])
            raise

    async def scan_endpoint(self, request: HttpRequest) -> HttpResponse:
        await self._authenticate(request)
        found = await self.scan()
        return HttpResponse.json_body({"findings": [f.to_json() for f in found]})

    async def findings_endpoint(self, request: HttpRequest) -> HttpResponse:
        await self._authenticate(request)
        return HttpResponse.json_body({"findings": [f.to_json() for f in self.findings.values()]})

    async def _known_accounts(self) -> dict[tuple[str, str], KnownAgent]:
        assert self.registry is not None
        try:
            agents = await self.registry.query()
        except ScimError as error:
            raise TemporarilyUnavailable(f"the agent registry refused the query: {error.detail}") from None
        known = {}
        for agent in agents:
            for account in agent.get("accounts", []):
                known[(account["system"], account["value"])] = KnownAgent(
                    agent_id=agent["id"], has_owner="owner" in agent, lifecycle=agent["lifecycleState"])
        return known

    async def _read_logs(self, source: LogSource, since: int) -> dict[str, Any]:
        response = await source.client.send(HttpRequest.get(f"{source.logs_url}?since={since}"))
        if response.status != 200:
            raise TemporarilyUnavailable(f"{source.system} log API answered HTTP {response.status}")
        try:
            body = response.json()
        except MalformedBody:
            raise TemporarilyUnavailable(f"{source.system} log API answered malformed JSON") from None
        return body if isinstance(body, dict) else {}

    async def scan(self) -> list[Finding]:
        """Read every source's logs over the look-back window and report non-human accounts the
        registry does not govern."""
        now = self.runtime.clock.now()
        auth, api, read_from = [], [], []
        for source in self.sources:
            try:
                body = await self._read_logs(source, now - self.window)
                source_auth, source_api = parse_logs(source.system, body)
            except (OAuthError, LogFormatError) as error:
                await self.audit("discovery.source_failed", decision="deny", reason=str(error), system=source.system)
                continue
            auth += source_auth
            api += source_api
            read_from.append(source.system)
        own_clients = [source.client.client_id for source in self.sources]
        found = find_shadow_agents(auth=auth, api=api, registry=await self._known_accounts(),
                                   ignore_clients=own_clients)
        for finding in found:
            self.findings[finding.key] = finding
            await self.audit("shadow_ai.discovered", agent=finding.registry_id or finding.key, decision="flag",
                             reason="; ".join(finding.reasons), risk=finding.risk.value, score=finding.score,
                             system=finding.system, account=finding.account,
                             signals=[s.code for s in finding.signals], api_calls=finding.api_calls)
        await self.audit("discovery.scan_completed", decision="allow",
                         reason=f"{len(found)} unregistered non-human account(s) found",
                         sources=read_from, auth_events=len(auth), api_calls=len(api))
        return found
