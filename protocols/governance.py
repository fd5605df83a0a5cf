"""Access governance for agents (SPEC capability 10), sans-IO: entitlements, role templates, JIT
elevation, certification campaigns and deprovisioning plans.

The campaign rules follow identity-governance practice (NIST SP 800-53 AC-2(j) "review accounts
for compliance ... [organization-defined frequency]", ISO/IEC 27001 A.5.18 access rights review):

- a campaign lists every entitlement the agent holds, collected from the systems themselves;
- only the agent's owner (the reviewer) may decide, once per entitlement: ``certify`` or ``revoke``;
- a reminder goes out at ``remind_after`` if items are still pending;
- at the deadline the campaign closes and every entitlement not certified is revoked
  ("revoke on non-response", the safe default);
- campaigns recur on a schedule (quarterly: every 91 days from the first).

A JIT elevation is a grant with an expiry no longer than the template allows, requested with a
justification; the system holding it refuses its use after the expiry by itself (nobody has to act).

The agent's sign-in registration at the IdP (kind ``sign_in_identity``) is an entitlement for
deprovisioning but is not certified item by item: the agent's existence is governed by its
registry lifecycle (``NOT_REVIEWED``).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from protocols.oauth.errors import AccessDenied, InvalidRequest, NotFound, OAuthError

QUARTER = 91 * 86400
NOT_REVIEWED = frozenset({"sign_in_identity"})


class NotTheReviewer(AccessDenied):
    """A decision by someone who is not the campaign's reviewer (the agent's owner)."""


class CampaignClosed(InvalidRequest):
    """A decision after the campaign's deadline."""


class UnknownEntitlement(NotFound):
    """A decision about an entitlement the campaign does not list."""


class AlreadyDecided(OAuthError):
    """A second decision on the same entitlement."""

    error, status = "already_decided", 409


class ElevationRefused(AccessDenied):
    """A JIT elevation outside the agent's role template or longer than it allows."""


class Decision(enum.Enum):
    PENDING = "pending"
    CERTIFIED = "certified"
    REVOKED = "revoked"


@attrs.frozen(kw_only=True)
class Entitlement:
    """One thing an agent is allowed to do in one system, as that system reports it."""

    system: str
    kind: str        # service_account | database_grant | vault_integration | client_registration | credential |
    #                  relation | sign_in_identity
    resource: str    # what it reaches (an API, a table, an integration, an authorization server)
    scopes: tuple[str, ...]
    grant: str       # the system's own handle for the grant (to revoke it)
    label: str = ""

    @property
    def id(self) -> str:
        return f"{self.system}:{self.kind}:{self.resource}"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "system": self.system, "kind": self.kind, "resource": self.resource,
                "scopes": list(self.scopes), "grant": self.grant, "label": self.label or self.resource}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Entitlement:
        return cls(system=data["system"], kind=data["kind"], resource=data["resource"],
                   scopes=tuple(data["scopes"]), grant=data["grant"], label=data.get("label", ""))


@attrs.frozen(kw_only=True)
class RoleTemplate:
    """What an agent type normally holds: (system, scope) pairs, and what it may get just in time."""

    name: str
    description: str
    grants: frozenset[tuple[str, str]]
    jit: frozenset[tuple[str, str]] = frozenset()
    max_jit_seconds: int = 3600

    def covers(self, system: str, scope: str) -> bool:
        return (system, scope) in self.grants or (system, "*") in self.grants

    def outside(self, entitlements: Iterable[Entitlement]) -> list[str]:
        """Entitlement scopes the template does not cover (flagged in the campaign)."""
        return sorted({f"{e.system}:{s}" for e in entitlements for s in e.scopes if not self.covers(e.system, s)})


@attrs.frozen(kw_only=True)
class Elevation:
    id: str
    agent: str
    system: str
    scope: str
    reason: str
    granted_at: int
    expires_at: int
    requested_by: str = ""
    expired: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "agent": self.agent, "system": self.system, "scope": self.scope,
                "reason": self.reason, "requested_by": self.requested_by, "granted_at": self.granted_at,
                "expires_at": self.expires_at, "expired": self.expired}


def elevate(*, elevation_id: str, agent: str, template: RoleTemplate | None, system: str, scope: str, reason: str,
            ttl: int, now: int, requested_by: str = "") -> Elevation:
    """A time-bound grant of ``scope`` in ``system``, only if the agent's role template offers it
    just in time, for at most the template's maximum, with a stated justification."""
    if template is None:
        raise ElevationRefused(f"agent {agent} has no role template: nothing is available just in time")
    if (system, scope) not in template.jit:
        raise ElevationRefused(f"{system}:{scope} is not available just in time to a {template.name} agent")
    if not 0 < ttl <= template.max_jit_seconds:
        raise ElevationRefused(f"a {template.name} elevation lasts at most {template.max_jit_seconds} seconds")
    if not reason.strip():
        raise InvalidRequest("an elevation needs a stated justification")
    return Elevation(id=elevation_id, agent=agent, system=system, scope=scope, reason=reason[:500], granted_at=now,
                     expires_at=now + ttl, requested_by=requested_by)


# ------------------------------------------------------------------------ certification campaigns


@attrs.frozen(kw_only=True)
class ReviewItem:
    entitlement: Entitlement
    decision: Decision = Decision.PENDING
    decided_by: str | None = None
    decided_at: int | None = None
    comment: str = ""

    def to_json(self) -> dict[str, Any]:
        return {**self.entitlement.to_json(), "decision": self.decision.value, "decided_by": self.decided_by,
                "decided_at": self.decided_at, "comment": self.comment}


@attrs.frozen(kw_only=True)
class Campaign:
    id: str
    agent: str
    reviewer: str
    opened_at: int
    remind_at: int
    deadline: int
    items: tuple[ReviewItem, ...]
    reminded: bool = False
    closed_at: int | None = None

    @property
    def pending(self) -> tuple[ReviewItem, ...]:
        return tuple(i for i in self.items if i.decision is Decision.PENDING)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "agent": self.agent, "reviewer": self.reviewer, "opened_at": self.opened_at,
                "remind_at": self.remind_at, "deadline": self.deadline, "reminded": self.reminded,
                "closed_at": self.closed_at, "items": [i.to_json() for i in self.items]}


def open_campaign(*, campaign_id: str, agent: str, reviewer: str, entitlements: Sequence[Entitlement], now: int,
                  remind_after: int, review_period: int) -> Campaign:
    entitlements = [e for e in entitlements if e.kind not in NOT_REVIEWED]
    if not entitlements:
        raise InvalidRequest(f"agent {agent} holds no entitlement to review")
    if not 0 < remind_after < review_period:
        raise InvalidRequest("the reminder must come before the deadline")
    return Campaign(id=campaign_id, agent=agent, reviewer=reviewer, opened_at=now, remind_at=now + remind_after,
                    deadline=now + review_period, items=tuple(ReviewItem(entitlement=e) for e in entitlements))


def decide(campaign: Campaign, *, entitlement_id: str, decision: str, reviewer: str, now: int,
           comment: str = "") -> Campaign:
    """Record one decision; only the reviewer, only before the deadline, only once per item."""
    if reviewer != campaign.reviewer:
        raise NotTheReviewer(f"{reviewer} is not the reviewer of campaign {campaign.id} (the owner is "
                             f"{campaign.reviewer})")
    if campaign.closed_at is not None or now >= campaign.deadline:
        raise CampaignClosed(f"campaign {campaign.id} closed; decisions are no longer accepted")
    try:
        verdict = {"certify": Decision.CERTIFIED, "revoke": Decision.REVOKED}[decision]
    except KeyError:
        raise InvalidRequest("decision must be certify or revoke") from None
    items = []
    found = False
    for item in campaign.items:
        if item.entitlement.id == entitlement_id:
            found = True
            if item.decision is not Decision.PENDING:
                raise AlreadyDecided(f"{entitlement_id} was already {item.decision.value}")
            item = attrs.evolve(item, decision=verdict, decided_by=reviewer, decided_at=now, comment=comment[:500])
        items.append(item)
    if not found:
        raise UnknownEntitlement(f"campaign {campaign.id} has no entitlement {entitlement_id}")
    return attrs.evolve(campaign, items=tuple(items))


def reminder_due(campaign: Campaign, *, now: int) -> bool:
    return campaign.closed_at is None and not campaign.reminded and bool(campaign.pending) and now >= campaign.remind_at


def close(campaign: Campaign, *, now: int) -> tuple[Campaign, tuple[ReviewItem, ...]]:
    """Close at the deadline (or once every item is decided): the items to revoke are those the
    reviewer revoked and those left undecided, which are marked revoked for non-response."""
    items = tuple(attrs.evolve(i, decision=Decision.REVOKED, decided_by="deadline", decided_at=now,
                               comment="not certified by the deadline") if i.decision is Decision.PENDING else i
                  for i in campaign.items)
    closed = attrs.evolve(campaign, items=items, closed_at=now)
    return closed, tuple(i for i in items if i.decision is Decision.REVOKED)


def complete(campaign: Campaign) -> bool:
    return campaign.closed_at is None and not campaign.pending


def next_campaign_at(*, first: int, every: int, now: int) -> int:
    """The first scheduled start at or after ``now`` (``first``, ``first + every``, ...)."""
    if now <= first:
        return first
    periods = -(-(now - first) // every)
    return first + periods * every


def review_message(*, campaign: Campaign, agent_name: str, purpose: str, review_url: str,
                   reminder: bool = False) -> tuple[str, str]:
    """Subject and plain-text body of the e-mail that asks the owner to review."""
    subject = ("Reminder: " if reminder else "") + f"Access review for {agent_name} ({campaign.agent})"
    lines = [f"You own the AI agent {agent_name} ({campaign.agent}): {purpose}.",
             f"Please certify or revoke each of its {len(campaign.items)} entitlements before the deadline; "
             "anything not certified will be revoked.", ""]
    for n, item in enumerate(campaign.items, 1):
        scopes = " ".join(item.entitlement.scopes)
        lines.append(f"{n}. {item.entitlement.label or item.entitlement.resource} [{item.entitlement.system}] "
                     f"{scopes} - {item.decision.value}")
    lines += ["", f"Review: {review_url}"]
    return subject, "\n".join(lines)
