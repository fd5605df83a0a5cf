"""A small cast for CIBA tests: the enterprise IdP (ES256, fast keys), one agent, and the approval
part of a cast built from a world's approval sections — without the rest of the sales cast."""

from __future__ import annotations

from contextlib import asynccontextmanager
from urllib.parse import urlencode

import attrs

from actors.agent import AgentActor
from actors.identity_providers import DirectoryEntry, PersonSecrets, account, build_enterprise_idp
from actors.oidc_provider import OidcProviderActor
from actors.runtime.context import Runtime
from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest
from protocols.jose.jwks import JwkSet
from protocols.oauth.client_auth import ClientRegistration, client_assertion_params
from scenarios.approvals_cast import ApprovalCast, build_approvals, idp_subject
from scenarios.world import World, parse_world
from tests.actors.runtime.helpers import running_runtime

AGENT = "sales-agent-prod-001"

WORLD = """
[scenario]
name = "ciba-test"
title = "CIBA test world"
epoch = "2025-01-06T08:00:00Z"

[organization]
name = "Acme Corp"
domain = "acmecorp.example"

[idp]
name = "acme-idp"
signing_alg = "ES256"
id_token_lifetime = 3600
access_token_lifetime = 900
session_lifetime = 28800
key_rotation_days = 30

[google]
name = "google"
signing_alg = "ES256"

[[people]]
id = "sarah"
name = "Sarah Johnson"
email = "sarah.johnson@acmecorp.example"
login = "password"
role = "sales_rep"
territory = "EMEA"

[[people]]
id = "john"
name = "John Smith"
email = "john.smith@acmecorp.example"
login = "password"
role = "vp_sales_ops"
territory = "GLOBAL"

[[agents]]
id = "sales-agent-prod-001"
name = "Sales proposal agent"
owner = "john"
purpose = "proposals"
client_auth = "private_key_jwt"
signing_alg = "ES256"
scopes = ["openid", "profile", "email"]

[[approval_rules]]
agent = "sales-agent-prod-001"
type = "proposal_approval"
above = "100000.00"
currency = "EUR"
approver = "sarah"
scopes = ["email:send", "drive:write", "crm:update"]
delivery_mode = "MODE"
executor = "action-gateway"
token_lifetime = 300
request_expiry = 900
poll_interval = 30

[[approvers]]
person = "sarah"
channels = ["mobile", "email"]
decision = "approve"
delay = 240
answers = [
  { reference = "deny-me", decision = "deny", delay = 120, reason = "Wrong customer" },
  { reference = "ignore-me", decision = "ignore", delay = 1 },
]
"""

ACTION = """
[[proposed_actions]]
id = "{id}"
phase = {phase}
agent = "sales-agent-prod-001"
user = "sarah"
detail = {{ type = "proposal_approval", customer = "Acme Corp", amount = "450000.00", currency = "EUR", products = ["AI training"], recipients = ["julie.martinez@acme-customer.example", "robert.chen@acme-customer.example"], actions = ["send_email", "save_to_drive", "update_crm"] }}

[[phases]]
number = {phase}
name = "{id}"
at = "2025-01-06T09:30:00Z"
user = "sarah"
agent = "sales-agent-prod-001"
"""


def make_world(mode: str = "poll", *, actions: tuple[str, ...] = ("approve-me", "deny-me", "ignore-me"),
               extra: str = "", token_lifetime: int = 300) -> World:
    text = WORLD.replace("MODE", mode).replace("token_lifetime = 300", f"token_lifetime = {token_lifetime}")
    text += "".join(ACTION.format(id=a, phase=i + 1) for i, a in enumerate(actions))
    return parse_world(text + extra, source="ciba-test.toml")


@attrs.define(eq=False)
class MiniCast:
    """What the approval phases use of a cast: world, runtime, agents, approvals (and the IdP)."""

    world: World
    runtime: Runtime
    idp: OidcProviderActor
    agents: dict[str, AgentActor]
    approvals: ApprovalCast
    extra: list = attrs.field(factory=list)
    _entropy: SeededEntropy | None = None

    @property
    def agent(self) -> AgentActor:
        return self.agents[AGENT]

    @property
    def requester(self):
        return self.approvals.requesters[AGENT]

    @property
    def gate(self):
        return self.approvals.gates["action-gateway"]

    def audit(self, event: str | None = None):
        entries = self.runtime.audit.store.entries()
        return [e for e in entries if event is None or e.event == event]

    def client_auth(self, *, key=None, client_id: str = AGENT) -> dict[str, str]:
        return client_assertion_params(client_id=client_id, audience=self.idp.base_url,
                                       key=key or self.agent.signing_key, now=self.runtime.clock.now(),
                                       entropy=self._test_entropy())

    def _test_entropy(self) -> SeededEntropy:
        if self._entropy is None:
            self._entropy = self.runtime.entropy_for("test-client")
        return self._entropy

    async def post(self, path: str, params: dict[str, str]):
        body = urlencode(params).encode()
        return await self.runtime.network.send(HttpRequest(
            method="POST", url=self.idp.base_url + path, body=body,
            headers={"content-type": "application/x-www-form-urlencoded"}))


def build_mini_cast(world: World, runtime: Runtime) -> MiniCast:
    directory = {p.email: DirectoryEntry(email=p.email, name=p.name, role=p.role, territory=p.territory)
                 for p in world.people}
    idp = build_enterprise_idp(runtime=runtime, name=world.idp.name, alg=world.idp.signing_alg, directory=directory,
                               id_token_lifetime=3600, access_token_lifetime=900, session_lifetime=28800,
                               rotation_period=30 * 86400)
    for person in world.people:
        idp.provider.add_user(account(runtime=runtime, subject=idp_subject(runtime, person_id=person.id, login="password"),
                                      entry=directory[person.email], secrets=PersonSecrets.for_person(runtime, person.id),
                                      provider=idp.name))
    agents = {}
    for spec in world.agents:
        key = runtime.new_signing_key(owner=spec.id, purpose="keys", alg=spec.signing_alg)
        agent = AgentActor(name=spec.id, runtime=runtime, base_url=runtime.network.base_url_for(spec.id),
                           display_name=spec.name, idp_issuer=idp.base_url, signing_key=key, scope=spec.scopes)
        idp.provider.register_client(ClientRegistration(
            client_id=spec.id, name=spec.name, redirect_uris=(agent.redirect_uri,),
            jwks=JwkSet.from_json({"keys": [key.public_jwk()]}), scopes=frozenset(spec.scopes)))
        agents[spec.id] = agent
    approvals = build_approvals(world=world, runtime=runtime, idp=idp, agents=agents)
    return MiniCast(world=world, runtime=runtime, idp=idp, agents=agents, approvals=approvals)


@asynccontextmanager
async def mini_cast(transport, world: World, *, extra=None):
    """Start the mini cast; ``extra(runtime)`` may add more actors (kept in ``cast.extra``)."""
    async with running_runtime(transport) as (runtime, nursery, _log):
        cast = build_mini_cast(world, runtime)
        cast.extra = list(extra(runtime)) if extra else []
        actors = [cast.idp, *cast.agents.values(), *cast.approvals.actors(), *cast.extra]
        for actor in actors:
            runtime.network.register(actor)
        for actor in actors:
            await nursery.start(actor.run)
        await nursery.start(runtime.network.serve)
        yield cast
