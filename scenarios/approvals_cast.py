"""The human-approval part of a cast, built from the world's approval sections
(``scenarios.world_approvals``): CIBA at the enterprise IdP with its courier, each approver's
authenticator app (device key enrolled at the IdP) and mailbox, the systems that perform approved
actions, and each agent's CIBA client registration and requester.

Approvers' apps and mailboxes are actors named ``authenticator-<person>`` and ``mail-<person>``;
an executor is an ``ActionGate`` named as in the rule's ``executor``, registered at the IdP as a
protected resource with its own ``private_key_jwt`` key, so it can introspect every approval token
(RFC 7662) and refuse one the IdP revoked.
"""

from __future__ import annotations

import attrs

from actors.action_gate import ActionGate
from actors.agent import AgentActor
from actors.approval_client import ApprovalOutcome, ApprovalRequester
from actors.approver import Answer, ApproverPolicy, AuthenticatorApp, EmailInbox
from actors.backchannel_courier import BackchannelCourier
from actors.identity_providers import GOOGLE_SUBJECT_PREFIX, google_subject
from actors.oidc_provider import OidcProviderActor
from actors.runtime.actor import HttpActor
from actors.runtime.context import Runtime
from actors.token_introspection import TokenIntrospector
from protocols.ciba import CibaClient, DeliveryMode
from protocols.device_approval import DeviceRegistration
from protocols.jose.jwks import JwkSet
from protocols.jose.keys import Algorithm
from protocols.oauth.client_auth import ClientRegistration
from protocols.oidc.backchannel import Backchannel
from scenarios.world import World
from scenarios.world_approvals import USER_APPROVER, AnswerSpec


@attrs.define(eq=False)
class ApprovalCast:
    backchannel: Backchannel
    courier: BackchannelCourier
    subjects: dict[str, str]
    """Person id → their subject at the enterprise IdP."""
    apps: dict[str, AuthenticatorApp] = attrs.field(factory=dict)
    inboxes: dict[str, EmailInbox] = attrs.field(factory=dict)
    gates: dict[str, ActionGate] = attrs.field(factory=dict)
    requesters: dict[str, ApprovalRequester] = attrs.field(factory=dict)
    outcomes: dict[str, ApprovalOutcome] = attrs.field(factory=dict)
    """Proposed action id → how its approval request ended (in the order they were asked)."""

    def actors(self) -> list[HttpActor]:
        return [*self.gates.values(), *self.apps.values(), *self.inboxes.values()]

    def services(self) -> list[tuple[str, str, str]]:
        return [(a.name, a.base_url, "") for a in self.actors()]


def idp_subject(runtime: Runtime, *, person_id: str, login: str) -> str:
    """The subject a person has (or will have, once federated) at the enterprise IdP."""
    if login == "google":
        return f"{GOOGLE_SUBJECT_PREFIX}|{google_subject(runtime, person_id)}"
    return f"auth0|{person_id}"


def _answer(spec: AnswerSpec) -> Answer:
    return Answer(decision=spec.decision, delay=spec.delay, reason=spec.reason)


def _action_gate(*, runtime: Runtime, idp: OidcProviderActor, name: str) -> ActionGate:
    """The gate ``name`` and its registration at ``idp`` as a protected resource for its own resource."""
    assert idp.provider is not None
    base_url = runtime.network.base_url_for(name)
    key = runtime.new_signing_key(owner=name, purpose=f"client@{idp.name}", alg=Algorithm.ES256)
    idp.provider.register_resource_server(ClientRegistration(
        client_id=name, name=name, redirect_uris=(), jwks=JwkSet.from_json({"keys": [key.public_jwk()]})),
        resources=frozenset({base_url}))
    return ActionGate(name=name, runtime=runtime, base_url=base_url, idp_issuer=idp.base_url, title=name,
                      introspector=TokenIntrospector(runtime=runtime, issuer=idp.base_url, client_id=name,
                                                     signing_key=key))


def build_approvals(*, world: World, runtime: Runtime, idp: OidcProviderActor,
                    agents: dict[str, AgentActor]) -> ApprovalCast:
    """Install CIBA at ``idp`` and build the approval actors; agents must already be registered clients."""
    assert idp.provider is not None
    section = world.approvals
    backchannel = Backchannel(provider=idp.provider).install()
    cast = ApprovalCast(backchannel=backchannel, courier=BackchannelCourier.attach(idp=idp, backchannel=backchannel),
                        subjects={p.id: idp_subject(runtime, person_id=p.id, login=p.login) for p in world.people})
    for person in world.people:
        backchannel.add_login_hint(hint=person.email, subject=cast.subjects[person.id])
    network = runtime.network
    for name in section.executors:
        cast.gates[name] = _action_gate(runtime=runtime, idp=idp, name=name)
    for spec in section.approvers:
        person = world.person(spec.person)
        app_name = f"authenticator-{person.id}"
        key = runtime.new_signing_key(owner=app_name, purpose="device", alg=Algorithm.ES256)
        app = AuthenticatorApp(
            name=app_name, runtime=runtime, base_url=network.base_url_for(app_name), person=person.name,
            subject=cast.subjects[person.id], device_id=app_name, idp_issuer=idp.base_url, device_key=key,
            policy=ApproverPolicy(default=_answer(spec.default),
                                  by_reference={ref: _answer(a) for ref, a in spec.answers.items()}))
        cast.apps[person.id] = app
        mailbox = None
        if "email" in spec.channels:
            inbox_name = f"mail-{person.id}"
            inbox = EmailInbox(name=inbox_name, runtime=runtime, base_url=network.base_url_for(inbox_name),
                               person=person.name, subject=cast.subjects[person.id])
            cast.inboxes[person.id] = inbox
            mailbox = inbox.address
        backchannel.register_device(DeviceRegistration(
            device_id=app.device_id, subject=app.subject, jwks=JwkSet.from_json({"keys": [key.public_jwk()]}),
            push_endpoint=app.push_endpoint, mailbox=mailbox))
    for agent_id in dict.fromkeys(r.agent for r in section.rules):
        rules = [r for r in section.rules if r.agent == agent_id]
        mode = rules[0].delivery_mode
        requester = ApprovalRequester.attach(agent=agents[agent_id], mode=mode)
        cast.requesters[agent_id] = requester
        named = {r.approver for r in rules}
        backchannel.register_client(CibaClient(
            client_id=agent_id, delivery_mode=mode,
            notification_endpoint=None if mode is DeliveryMode.POLL else requester.notification_endpoint,
            scopes=frozenset(s for r in rules for s in r.rule.scopes),
            authorization_details_types=frozenset(r.rule.detail_type for r in rules),
            resources=tuple(dict.fromkeys(cast.gates[r.executor].resource for r in rules)),
            approvers=frozenset() if USER_APPROVER in named else frozenset(cast.subjects[p] for p in named),
            token_lifetime=min(r.rule.token_lifetime for r in rules),
            max_expiry=max(r.rule.request_expiry for r in rules),
            interval=min(r.poll_interval for r in rules)))
    return cast
