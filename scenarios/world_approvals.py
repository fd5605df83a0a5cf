"""World-file sections for human approval (CIBA + RAR), all optional:

```toml
[[approval_rules]]              # the agent's rule: what needs approval, what the approval grants
agent = "sales-agent-prod-001"
type = "proposal_approval"      # the RFC 9396 authorization details type it covers
above = "100000.00"             # amounts strictly above need approval
currency = "EUR"
approver = "user"               # "user": the person the agent acts for; or a person id
scopes = ["email:send", "drive:write", "crm:update"]
delivery_mode = "poll"          # CIBA: poll | ping | push
executor = "action-gateway"     # the system that performs approved actions (token audience)
token_lifetime = 300            # seconds the approval token lives
request_expiry = 900            # seconds a request waits for an answer
poll_interval = 30              # the minimum polling interval the IdP asks for

[[approvers]]                   # people who can approve: a phone app (device key) and e-mail
person = "sarah"
channels = ["mobile", "email"]
decision = "approve"            # approve | deny | ignore (never answers)
delay = 240                     # seconds before answering
answers = [ { reference = "po-2", decision = "deny", delay = 1500, reason = "Not budgeted" } ]

[[proposed_actions]]            # what agents will propose, by phase
id = "acme-q1-proposal"
phase = 5
agent = "sales-agent-prod-001"
user = "sarah"                  # on whose behalf
binding_message = "ACME Q1 450k EUR"   # optional; shown on both devices
detail = { type = "proposal_approval", customer = "Acme Corp", amount = "450000.00", ... }
```

``parse_approvals`` validates every field with the world reader (one-line ``WorldError`` naming the
field) and the authorization details with ``protocols.rar`` (the same schema the IdP enforces).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from protocols.approval_policy import ApprovalRule
from protocols.ciba import DeliveryMode, validate_binding_message
from protocols.oauth.errors import InvalidAuthorizationDetails, InvalidBindingMessage
from protocols.rar import DETAIL_TYPES, AuthorizationDetail, parse_detail

USER_APPROVER = "user"
CHANNELS = ("mobile", "email")
ANSWERS = ("approve", "deny", "ignore")


@attrs.frozen(kw_only=True)
class ApprovalRuleSpec:
    agent: str
    rule: ApprovalRule
    approver: str
    delivery_mode: DeliveryMode
    executor: str
    poll_interval: int


@attrs.frozen(kw_only=True)
class AnswerSpec:
    decision: str
    delay: int
    reason: str = ""


@attrs.frozen(kw_only=True)
class ApproverSpec:
    person: str
    channels: tuple[str, ...]
    default: AnswerSpec
    answers: Mapping[str, AnswerSpec] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class ProposedAction:
    id: str
    phase: int
    agent: str
    user: str
    detail: AuthorizationDetail
    binding_message: str


@attrs.frozen(kw_only=True)
class ApprovalSection:
    rules: tuple[ApprovalRuleSpec, ...] = ()
    approvers: tuple[ApproverSpec, ...] = ()
    actions: tuple[ProposedAction, ...] = ()

    def rule_for(self, *, agent: str, detail_type: str) -> ApprovalRuleSpec | None:
        return next((r for r in self.rules if r.agent == agent and r.rule.detail_type == detail_type), None)

    def approver(self, person: str) -> ApproverSpec | None:
        return next((a for a in self.approvers if a.person == person), None)

    def actions_for(self, *, phase: int, agent: str) -> tuple[ProposedAction, ...]:
        return tuple(a for a in self.actions if a.phase == phase and a.agent == agent)

    @property
    def executors(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.executor for r in self.rules))


def _amount(read: Any, data: Mapping[str, Any], key: str, where: str) -> Decimal:
    raw = data.get(key)
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        raise read.fail(f"{where}.{key}", "expected an amount (integer or decimal string)")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise read.fail(f"{where}.{key}", f"not a number: {raw!r}") from None
    if not value.is_finite() or value < 0:
        raise read.fail(f"{where}.{key}", "must be a non-negative amount")
    return value


def _strings(read: Any, data: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = data.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise read.fail(f"{where}.{key}", "expected a non-empty list of strings")
    return tuple(value)


def _answer(read: Any, data: Mapping[str, Any], where: str) -> AnswerSpec:
    reason = data.get("reason", "")
    if not isinstance(reason, str):
        raise read.fail(f"{where}.reason", "expected a string")
    return AnswerSpec(decision=read.choice(data, "decision", where, ANSWERS),
                      delay=read.positive_int(data, "delay", where), reason=reason)


def _detail(read: Any, raw: Any, *, action_id: str, where: str) -> AuthorizationDetail:
    if not isinstance(raw, dict):
        raise read.fail(f"{where}.detail", "expected a table (the authorization details object)")
    obj = dict(raw)
    if isinstance(obj.get("amount"), int) and not isinstance(obj.get("amount"), bool):
        obj["amount"] = f"{obj['amount']}.00"
    obj.setdefault("identifier", action_id)
    try:
        return parse_detail(obj)
    except InvalidAuthorizationDetails as error:
        raise read.fail(f"{where}.detail", error.description) from None


def parse_approvals(data: Mapping[str, Any], *, read: Any, person_ids: set[str], agent_ids: set[str]) -> ApprovalSection:
    """The approval sections of a world file (module docstring); absent sections are empty."""
    approvers = []
    for i, a in enumerate(read.tables(data, "approvers")):
        where = f"approvers[{i}]"
        person = read.string(a, "person", where)
        if person not in person_ids:
            raise read.fail(f"{where}.person", f"unknown person {person!r}")
        channels = _strings(read, a, "channels", where) if "channels" in a else CHANNELS
        unknown = [c for c in channels if c not in CHANNELS]
        if unknown or "mobile" not in channels:
            raise read.fail(f"{where}.channels", f"use {' and '.join(CHANNELS)}; mobile (the device key) is required")
        answers_raw = a.get("answers", [])
        if not isinstance(answers_raw, list) or not all(isinstance(x, dict) for x in answers_raw):
            raise read.fail(f"{where}.answers", "expected an array of tables")
        answers = {read.string(x, "reference", f"{where}.answers[{j}]"): _answer(read, x, f"{where}.answers[{j}]")
                   for j, x in enumerate(answers_raw)}
        approvers.append(ApproverSpec(person=person, channels=channels, default=_answer(read, a, where), answers=answers))
    if len({a.person for a in approvers}) != len(approvers):
        raise read.fail("approvers", "a person is listed twice")
    enrolled = {a.person for a in approvers}

    rules = []
    for i, r in enumerate(read.tables(data, "approval_rules")):
        where = f"approval_rules[{i}]"
        agent = read.string(r, "agent", where)
        if agent not in agent_ids:
            raise read.fail(f"{where}.agent", f"unknown agent {agent!r}")
        detail_type = read.choice(r, "type", where, tuple(sorted(DETAIL_TYPES)))
        approver = read.string(r, "approver", where)
        if approver != USER_APPROVER and approver not in enrolled:
            raise read.fail(f"{where}.approver", f"{approver!r} is neither \"user\" nor a person listed in [[approvers]]")
        mode = DeliveryMode(read.choice(r, "delivery_mode", where, tuple(m.value for m in DeliveryMode)))
        fields = {"threshold": _amount(read, r, "above", where), "currency": read.string(r, "currency", where),
                  "scopes": _strings(read, r, "scopes", where),
                  "token_lifetime": read.positive_int(r, "token_lifetime", where),
                  "request_expiry": read.positive_int(r, "request_expiry", where)}
        try:  # (the reader's own errors are ValueErrors too: read every field before this)
            rule = ApprovalRule(detail_type=detail_type, **fields)
        except ValueError as error:
            raise read.fail(where, str(error)) from None
        rules.append(ApprovalRuleSpec(agent=agent, rule=rule, approver=approver, delivery_mode=mode,
                                      executor=read.string(r, "executor", where),
                                      poll_interval=read.positive_int(r, "poll_interval", where)))
    modes = {}
    for i, spec in enumerate(rules):
        if modes.setdefault(spec.agent, spec.delivery_mode) is not spec.delivery_mode:
            raise read.fail(f"approval_rules[{i}].delivery_mode", "an agent registers one CIBA delivery mode")

    actions = []
    for i, x in enumerate(read.tables(data, "proposed_actions")):
        where = f"proposed_actions[{i}]"
        action_id = read.string(x, "id", where)
        agent, user = read.string(x, "agent", where), read.string(x, "user", where)
        if agent not in agent_ids:
            raise read.fail(f"{where}.agent", f"unknown agent {agent!r}")
        if user not in person_ids:
            raise read.fail(f"{where}.user", f"unknown person {user!r}")
        detail = _detail(read, x.get("detail"), action_id=action_id, where=where)
        binding = x.get("binding_message", f"{action_id} {detail.values['amount']} {detail.currency}")
        try:
            validate_binding_message(binding if isinstance(binding, str) else "")
        except InvalidBindingMessage as error:
            raise read.fail(f"{where}.binding_message", error.description) from None
        actions.append(ProposedAction(id=action_id, phase=read.positive_int(x, "phase", where), agent=agent, user=user,
                                      detail=detail, binding_message=binding))
    if len({a.id for a in actions}) != len(actions):
        raise read.fail("proposed_actions", "two actions share an id")
    return ApprovalSection(rules=tuple(rules), approvers=tuple(approvers), actions=tuple(actions))
