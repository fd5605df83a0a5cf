"""The governance service (SPEC capability 10): entitlements collected from every system,
certification campaigns on a schedule, reminders, revocation at the deadline, deprovisioning.

- ``POST /agents/{id}/entitlements`` (operator): collect the agent's entitlements from every
  connector and write them to the registry as the agent's ``dependencies`` (derived from grants);
- ``POST /campaigns`` ``{"agent": id}`` (operator): open a certification campaign now;
- ``GET /campaigns/{id}`` and ``POST /campaigns/{id}/decisions`` ``{"entitlement", "decision":
  "certify"|"revoke", "comment"}``: the reviewer, authenticated by the signed review token
  (JWT, RFC 7519, ``typ`` ``review+jwt``, ``sub`` = reviewer, ``aud`` = this service, ``exp`` =
  the deadline) that only their review e-mail carries. Anyone else is refused;
- ``POST /agents/{id}/deprovision`` (operator): revoke every grant in every system, move the
  agent to ``decommissioned``; the registry record, its history and the audit log stay;

Removing a grant (a revocation in review, or deprovisioning) also ends the tokens the agent
already holds for it, in the system that honours them: the token vault revokes at each provider
the access tokens it served the agent (RFC 7009), an authorization server revokes what it issued
to the client, a SaaS provider what it issued to the integration. Each system's report is audited
here as ``governance.tokens_revoked`` (system, how many tokens, mechanism);
- ``POST /agents/{id}/elevations`` ``{"system", "scope", "reason", "minutes", "requested_by"}``
  (operator): JIT elevation — only what the agent's role template (``metadata.agent_type``,
  ``protocols.role_templates``) offers just in time, for at most its maximum, with a justification;
  granted in the system itself with an expiry that system enforces (``actors.governance_jit``).

A scheduler child task opens campaigns for every active agent on the configured cadence
(quarterly), sends reminders and closes campaigns at their deadline, revoking whatever the owner
did not certify. Notifications go by e-mail to the owner.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from actors.governance_connectors import AgentAccounts, Connector, ConnectorError
from actors.governance_jit import ElevationDesk
from actors.governance_signals import MECHANISM
from actors.operator_access import OperatorTokens, ScheduledActor
from actors.registry_client import RegistryClient
from protocols.governance import (
    QUARTER, Campaign, Decision, NotTheReviewer, RoleTemplate, close, complete, decide, open_campaign,
    reminder_due, review_message,
)
from protocols.http import HttpRequest, HttpResponse
from protocols.jose.errors import JwtRejected
from protocols.jose.jwks import JwkSet
from protocols.jose.jwt import sign_jwt, verify_jwt
from protocols.jose.keys import SigningKey
from protocols.jose.profiles import TokenProfile
from protocols.oauth.errors import InvalidRequest, InvalidToken, NotFound, OAuthError, TemporarilyUnavailable
from protocols.role_templates import ROLE_TEMPLATES, template_for
from protocols.scim import ScimError

REVIEW_TOKEN_TYP = "review+jwt"


@attrs.define(eq=False)
class GovernanceActor(ScheduledActor):
    connectors: list[Connector] = attrs.field(factory=list)
    registry: RegistryClient | None = None
    signing_key: SigningKey | None = attrs.field(default=None, repr=False)
    mail_url: str = ""
    mail_token: str = attrs.field(default="", repr=False)
    addresses: Mapping[str, str] = attrs.field(factory=dict)
    """Owner (person or team id) → the address review e-mails go to."""
    first_campaign_at: int | None = None
    campaign_every: int = QUARTER
    remind_after: int = 7 * 86400
    review_period: int = 14 * 86400
    campaigns: dict[str, Campaign] = attrs.field(factory=dict)
    templates: Mapping[str, RoleTemplate] = ROLE_TEMPLATES
    """The agent types (role templates) by name: the built-in ones, or a world's catalogue."""
    signals: Any = None
    """Where an SSF transmitter runs (``actors.governance_signals.CaepRevocationSignals``): how
    resource servers that validate self-contained tokens locally learn that they are revoked."""
    jit: ElevationDesk = attrs.field(init=False, repr=False)
    _operators: OperatorTokens = attrs.field(init=False, repr=False)
    _count: int = attrs.field(default=0, init=False)
    _signalled: int = attrs.field(default=0, init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self._operators = OperatorTokens(runtime=self.runtime, owner=self.name, prefix="gov_")
        self.jit = ElevationDesk(governance=self)
        self.route("POST", "/campaigns", self.open_endpoint)

    def template_of(self, agent: Mapping[str, Any]) -> RoleTemplate | None:
        """The role template of a registry record (``metadata.agent_type``), if it has a known one."""
        return template_for(agent.get("metadata", {}).get("agent_type"), templates=self.templates)

    def issue_operator_token(self) -> str:
        return self._operators.issue()

    # ------------------------------------------------------------------ scheduling (ScheduledActor)

    def next_due(self) -> float:
        times = [c.deadline for c in self.campaigns.values() if c.closed_at is None]
        times += [c.remind_at for c in self.campaigns.values() if c.closed_at is None and not c.reminded]
        if self.first_campaign_at is not None:
            times.append(self.first_campaign_at)
        times.append(self.jit.next_due())
        return min(times)

    async def process_due(self) -> None:
        now = self.runtime.clock.now()
        await self.jit.record_expiries(now=now)
        for campaign in list(self.campaigns.values()):
            if campaign.closed_at is None and now >= campaign.deadline:
                await self._close(campaign)
            elif reminder_due(campaign, now=now):
                self.campaigns[campaign.id] = attrs.evolve(campaign, reminded=True)
                await self._mail_review(self.campaigns[campaign.id], reminder=True)
        if self.first_campaign_at is None or now < self.first_campaign_at:
            return
        while self.first_campaign_at <= now:
            self.first_campaign_at += self.campaign_every
        assert self.registry is not None
        for agent in await self.registry.query('lifecycleState eq "active"'):
            try:
                await self._open(agent["id"], scheduled=True)
            except OAuthError as error:
                await self.audit("certification.campaign_skipped", agent=agent["id"], decision="deny",
                                 reason=error.description)

    # ------------------------------------------------------------------ authentication

    def _operator(self, request: HttpRequest) -> None:
        self._operators.check(request, what="a governance")

    def _review_token(self, campaign: Campaign) -> str:
        assert self.signing_key is not None
        token = sign_jwt(claims={"iss": self.base_url, "aud": self.base_url, "sub": campaign.reviewer,
                                 "campaign": campaign.id, "iat": self.runtime.clock.now(), "exp": campaign.deadline,
                                 "jti": self.runtime.entropy_for(self.name).child(f"review-{campaign.id}").token(12)},
                         key=self.signing_key, typ=REVIEW_TOKEN_TYP)
        self.runtime.secrets.add(token)
        return token

    def _reviewer(self, request: HttpRequest) -> tuple[str, str]:
        """(reviewer, campaign id) from the review token; ``InvalidToken`` if absent or invalid."""
        assert self.signing_key is not None
        scheme, _, token = (request.header("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise InvalidToken("the review token from the review e-mail is required")
        profile = TokenProfile(name="review token", typ=REVIEW_TOKEN_TYP, issuer=self.base_url,
                               audience=self.base_url, required_claims=frozenset({"sub", "campaign", "exp"}))
        try:
            claims = verify_jwt(token.strip(), keys=JwkSet.from_json({"keys": [self.signing_key.public_jwk()]}),
                                profile=profile, now=self.runtime.clock.now()).claims
        except JwtRejected as error:
            raise InvalidToken(f"review token rejected: {type(error).__name__}") from None
        return str(claims["sub"]), str(claims["campaign"])

    # ------------------------------------------------------------------ routing

    async def handle(self, request: HttpRequest) -> HttpResponse:
        """Route; a request refused for its credentials (no or a wrong operator or review token: 401,
        or a review token for another campaign when reading one: 403) is audited as
        ``governance.request_refused`` (a refused certification decision has its own entry)."""
        try:
            return await self._route(request)
        except (InvalidToken, NotTheReviewer) as error:
            if isinstance(error, InvalidToken) or request.method == "GET":
                await self.audit("governance.request_refused", decision="deny",
                                 reason=f"{error.error}: {error.description}", method=request.method,
                                 path=request.path[:200])
            raise

    async def _route(self, request: HttpRequest) -> HttpResponse:
        parts = [p for p in request.path.split("/") if p]
        if len(parts) == 3 and parts[0] == "agents" and request.method == "POST":
            self._operator(request)
            if parts[2] == "entitlements":
                rows = await self.collect(parts[1])
                return HttpResponse.json_body({"agent": parts[1], "entitlements": [e.to_json() for e in rows]})
            if parts[2] == "deprovision":
                return HttpResponse.json_body(await self.deprovision(parts[1]))
            if parts[2] == "elevations":
                return HttpResponse.json_body(await self.jit.request(parts[1], request.json()), status=201)
        if len(parts) == 2 and parts[0] == "campaigns" and request.method == "GET":
            return HttpResponse.json_body(self._campaign_for_reader(request, parts[1]).to_json())
        if len(parts) == 3 and parts[0] == "campaigns" and parts[2] == "decisions" and request.method == "POST":
            return await self.decision_endpoint(request, parts[1])
        return await super().handle(request)

    def _campaign(self, campaign_id: str) -> Campaign:
        campaign = self.campaigns.get(campaign_id)
        if campaign is None:
            raise NotFound(f"no campaign {campaign_id!r}")
        return campaign

    def _campaign_for_reader(self, request: HttpRequest, campaign_id: str) -> Campaign:
        try:
            self._operator(request)
        except InvalidToken:
            reviewer, token_campaign = self._reviewer(request)
            campaign = self._campaign(campaign_id)
            if token_campaign != campaign_id or reviewer != campaign.reviewer:
                raise NotTheReviewer(f"{reviewer} is not the reviewer of campaign {campaign_id}") from None
            return campaign
        return self._campaign(campaign_id)

    # ------------------------------------------------------------------ entitlements

    async def _agent(self, agent_id: str) -> dict[str, Any]:
        assert self.registry is not None
        try:
            return await self.registry.get(agent_id)
        except ScimError as error:
            raise NotFound(f"registry: {error.detail}") if error.status == 404 else \
                TemporarilyUnavailable(f"registry: {error.detail}") from None

    @staticmethod
    def _accounts(agent: Mapping[str, Any]) -> AgentAccounts:
        return AgentAccounts(id=agent["id"], accounts=tuple((a["system"], a["value"]) for a in agent["accounts"]))

    async def collect(self, agent_id: str) -> list[Any]:
        """Every entitlement the systems report for the agent; recorded as its registry dependencies."""
        agent = await self._agent(agent_id)
        accounts = self._accounts(agent)
        found = []
        for connector in self.connectors:
            try:
                found += await connector.entitlements(accounts)
            except ConnectorError as error:
                await self.audit("governance.collection_failed", agent=agent_id, decision="deny", reason=str(error))
        assert self.registry is not None
        if agent["lifecycleState"] != "decommissioned":
            await self.registry.replace(agent_id, dependencies=[
                {"system": e.system, "scopes": list(e.scopes), "grant": f"{e.kind}:{e.grant}"} for e in found])
        await self.audit("governance.entitlements_collected", agent=agent_id, decision="allow",
                         reason=f"{len(found)} entitlement(s) across {len({e.system for e in found})} system(s)",
                         entitlements=[e.id for e in found])
        return found

    def _connector(self, system: str) -> Connector:
        for connector in self.connectors:
            if connector.system == system:
                return connector
        raise InvalidRequest(f"no connector for system {system!r}")

    # ------------------------------------------------------------------ campaigns

    async def open_endpoint(self, request: HttpRequest) -> HttpResponse:
        self._operator(request)
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("agent"), str):
            raise InvalidRequest("agent is required")
        return HttpResponse.json_body((await self._open(body["agent"], scheduled=False)).to_json(), status=201)

    async def _open(self, agent_id: str, *, scheduled: bool) -> Campaign:
        agent = await self._agent(agent_id)
        if "owner" not in agent:
            raise InvalidRequest(f"agent {agent_id} has no owner to review it")
        entitlements = await self.collect(agent_id)
        self._count += 1
        campaign = open_campaign(campaign_id=f"cert-{self._count:04d}-{agent_id}", agent=agent_id,
                                 reviewer=agent["owner"]["value"], entitlements=entitlements,
                                 now=self.runtime.clock.now(), remind_after=self.remind_after,
                                 review_period=self.review_period)
        self.campaigns[campaign.id] = campaign
        self.changed()
        template = self.template_of(agent)
        await self.audit("certification.campaign_opened", agent=agent_id, subject=campaign.reviewer, decision="allow",
                         reason=("scheduled" if scheduled else "requested") + f" review of {len(campaign.items)} "
                                "entitlement(s)", campaign=campaign.id, deadline=campaign.deadline,
                         entitlements=[i.entitlement.id for i in campaign.items],
                         template=template.name if template else None,
                         outside_template=template.outside(i.entitlement for i in campaign.items) if template else None)
        await self._mail_review(campaign, reminder=False)
        return campaign

    async def _mail_review(self, campaign: Campaign, *, reminder: bool) -> None:
        agent = await self._agent(campaign.agent)
        subject, body = review_message(campaign=campaign, agent_name=agent["displayName"], purpose=agent["purpose"],
                                       review_url=self.url(f"/campaigns/{campaign.id}"), reminder=reminder)
        body += f"\nReview token: {self._review_token(campaign)}"
        to = self.addresses.get(campaign.reviewer)
        if to is None:
            await self.audit("certification.notification_failed", agent=campaign.agent, decision="deny",
                             reason=f"no address for reviewer {campaign.reviewer}", campaign=campaign.id)
            return
        response = await self.runtime.network.send(HttpRequest.json_post(
            url=self.mail_url + "/send", payload={"to": to, "subject": subject, "body": body},
            headers={"authorization": f"Bearer {self.mail_token}"}))
        await self.audit("certification.reminder_sent" if reminder else "certification.review_requested",
                         agent=campaign.agent, subject=campaign.reviewer,
                         decision="allow" if response.status == 202 else "deny",
                         reason=f"e-mail to {to}: {subject}", campaign=campaign.id,
                         pending=len(campaign.pending))

    async def decision_endpoint(self, request: HttpRequest, campaign_id: str) -> HttpResponse:
        reviewer, token_campaign = self._reviewer(request)
        campaign = self._campaign(campaign_id)
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("entitlement"), str):
            raise InvalidRequest("entitlement and decision are required")
        try:
            if token_campaign != campaign_id:
                raise NotTheReviewer(f"this review token is for campaign {token_campaign}, not {campaign_id}")
            updated = decide(campaign, entitlement_id=body["entitlement"], decision=str(body.get("decision", "")),
                             reviewer=reviewer, now=self.runtime.clock.now(), comment=str(body.get("comment", "")))
        except NotTheReviewer as error:
            await self.audit("certification.decision_refused", agent=campaign.agent, subject=reviewer, decision="deny",
                             reason=error.description, campaign=campaign_id)
            raise
        self.campaigns[campaign_id] = updated
        item = next(i for i in updated.items if i.entitlement.id == body["entitlement"])
        await self.audit(f"certification.{item.decision.value}", agent=campaign.agent, subject=reviewer,
                         decision="allow" if item.decision is Decision.CERTIFIED else "revoke",
                         reason=item.comment or f"{item.decision.value} by the owner", campaign=campaign_id,
                         entitlement=item.entitlement.id)
        if item.decision is Decision.REVOKED:
            await self._revoke(campaign.agent, item.entitlement, why="revoked by the owner in review")
        if complete(updated):
            await self._close(updated)
        return HttpResponse.json_body(self.campaigns[campaign_id].to_json())

    async def _revoke(self, agent_id: str, entitlement: Any, *, why: str) -> None:
        agent = await self._agent(agent_id)
        try:
            rows = await self._connector(entitlement.system).revoke(self._accounts(agent), entitlement) or []
        except (ConnectorError, InvalidRequest) as error:
            await self.audit("governance.revocation_failed", agent=agent_id, decision="deny", reason=str(error),
                             entitlement=entitlement.id)
            return
        await self.audit("governance.entitlement_revoked", agent=agent_id, decision="revoke", reason=why,
                         entitlement=entitlement.id, system=entitlement.system)
        await self._tokens_revoked(agent_id, rows, why=why, entitlement=entitlement.id)

    async def _tokens_revoked(self, agent_id: str, rows: list[dict[str, Any]], *, why: str, whole_agent: bool = False,
                              **details: Any) -> None:
        """One audit entry per system that ended the agent's live tokens with the grant. Tokens their
        issuer cannot recall (self-contained, validated by resource servers: rows with ``propagate``,
        the principals they name) — and at deprovisioning (``whole_agent``) every token naming the
        agent — are revoked at the resource servers by a CAEP ``session-revoked`` (``signals``)."""
        principals = [str(p) for row in rows if row.get("tokens") for p in row.get("propagate", [])]
        told = None
        if self.signals is not None and (principals or whole_agent):
            self._signalled += 1
            try:
                told = await self.signals(agent=agent_id if whole_agent else None, principals=principals, reason=why,
                                          txn=f"governance-{self._signalled:04d}-{agent_id}")
            except Exception as error:  # noqa: BLE001 - audited as not delivered, never a 500 for the operator
                told = {"receivers": [], "failed": [f"transmitter: {type(error).__name__}"]}
            await self.audit("governance.revocation_signalled", agent=agent_id, decision="revoke", reason=why,
                             mechanism=MECHANISM, principals=[agent_id] * whole_agent + principals,
                             receivers=told["receivers"], failed=told["failed"] or None, **details)
        for row in rows:
            mechanism, unreached = str(row.get("mechanism", "")), bool(row.get("propagate") and row.get("tokens"))
            if unreached and told is not None and not told["failed"]:
                mechanism += f"; {MECHANISM}"
            elif unreached:
                mechanism += "; resource servers not told: the tokens stay valid there until they expire"
            await self.audit("governance.tokens_revoked", agent=agent_id,
                             decision="deny" if unreached and (told is None or told["failed"]) else "revoke",
                             reason=why, system=row.get("system"), tokens=row.get("tokens", 0), mechanism=mechanism,
                             **details)

    async def _close(self, campaign: Campaign) -> None:
        already = {i.entitlement.id for i in campaign.items if i.decision is Decision.REVOKED}
        closed, to_revoke = close(campaign, now=self.runtime.clock.now())
        self.campaigns[campaign.id] = closed
        for item in to_revoke:
            if item.entitlement.id not in already:
                await self._revoke(campaign.agent, item.entitlement, why="not certified by the deadline")
        certified = [i.entitlement.id for i in closed.items if i.decision is Decision.CERTIFIED]
        await self.audit("certification.campaign_closed", agent=campaign.agent, subject=campaign.reviewer,
                         decision="allow", reason=f"{len(certified)} certified, {len(to_revoke)} revoked",
                         campaign=campaign.id, certified=certified, revoked=[i.entitlement.id for i in to_revoke])
        await self.collect(campaign.agent)

    # ------------------------------------------------------------------ deprovisioning

    async def deprovision(self, agent_id: str) -> dict[str, Any]:
        agent = await self._agent(agent_id)
        accounts = self._accounts(agent)
        removed, failed, tokens = [], [], []
        for connector in self.connectors:
            try:
                held = await connector.entitlements(accounts)
                tokens += await connector.deprovision(accounts) or []
                removed += [e.id for e in held]
            except ConnectorError as error:
                failed.append(f"{connector.system}: {error}")
        await self._tokens_revoked(agent_id, tokens, why="deprovisioned: every token it holds ends now",
                                   whole_agent=agent["lifecycleState"] != "decommissioned")
        remaining = []
        for connector in self.connectors:
            try:
                remaining += [e.id for e in await connector.entitlements(accounts)]
            except ConnectorError as error:
                failed.append(f"{connector.system}: {error}")
        assert self.registry is not None
        if not remaining and not failed and agent["lifecycleState"] != "decommissioned":
            # one change: no dependency left and retired (a decommissioned record is read-only)
            await self.registry.replace(agent_id, dependencies=[], lifecycleState="decommissioned")
        await self.audit("governance.deprovisioned", agent=agent_id, decision="allow" if not remaining else "deny",
                         reason=f"{len(removed)} grant(s) removed, {len(remaining)} remaining",
                         removed=removed, remaining=remaining, failures=failed)
        return {"agent": agent_id, "removed": removed, "remaining": remaining, "failures": failed,
                "revoked_tokens": tokens}


def json_body(payload: Any) -> bytes:
    return json.dumps(payload).encode()
