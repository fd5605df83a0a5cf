"""Managed connections: the enterprise IdP's admin policy for cross-domain access (ID-JAG draft
§4.3.3 "evaluate admin policy"; Okta's "managed connections" in Cross App Access).

One connection per (agent, target authorization server) says

- where the target is: its issuer identifier (the ID-JAG ``aud``, draft §3) and optional private
  aliases the IdP maps to that issuer (draft §4.3: the IdP MAY accept aliases for ``audience``);
- who the agent is there: its ``client_id`` at the target AS (draft §3: the ``client_id`` claim is
  the client's registration *at the resource AS*; the IdP keeps this mapping table, §4.3.3);
- which resources (RFC 8707) of that AS the agent may be given;
- the scope policy: scopes **granted** automatically, scopes that **need approval** (granted only
  once an approval is on record), and scopes **always refused**. A scope in none of the lists is
  refused too: the connection is an allow-list.

Pure values and one evaluation function; the IdP grant turns a verdict into the right error.
"""

from __future__ import annotations

import enum
from collections.abc import Container, Iterable, Sequence

import attrs


def _strings(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value))


class ScopeDecision(enum.Enum):
    GRANTED = "granted"
    NEEDS_APPROVAL = "needs_approval"
    REFUSED = "refused"
    NOT_IN_POLICY = "not_in_policy"


@attrs.frozen(kw_only=True)
class ManagedConnection:
    """The policy for one agent at one target authorization server."""

    name: str
    agent: str
    """The agent's ``client_id`` at the IdP (the authenticated client of the exchange)."""
    target_issuer: str
    target_client_id: str
    """The agent's ``client_id`` at the target AS; becomes the ID-JAG ``client_id`` claim."""
    audience_aliases: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    resources: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    granted: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    needs_approval: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    refused: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    id_jag_lifetime: int = 300

    def __attrs_post_init__(self) -> None:
        lists = (set(self.granted), set(self.needs_approval), set(self.refused))
        if (lists[0] & lists[1]) or (lists[0] & lists[2]) or (lists[1] & lists[2]):
            raise ValueError(f"managed connection {self.name}: a scope is in more than one list")
        if not 0 < self.id_jag_lifetime <= 600:
            raise ValueError(f"managed connection {self.name}: id_jag_lifetime must be 1..600 seconds")

    def answers_to(self, audience: str) -> bool:
        """Whether ``audience`` names this connection's target (its issuer or an alias)."""
        return audience == self.target_issuer or audience in self.audience_aliases

    def decide(self, scope: str, *, approved: bool = False) -> ScopeDecision:
        if scope in self.granted:
            return ScopeDecision.GRANTED
        if scope in self.needs_approval:
            return ScopeDecision.GRANTED if approved else ScopeDecision.NEEDS_APPROVAL
        if scope in self.refused:
            return ScopeDecision.REFUSED
        return ScopeDecision.NOT_IN_POLICY


@attrs.frozen(kw_only=True)
class ScopeVerdict:
    """The policy's answer for one request: what may be granted, and what stops the request."""

    connection: ManagedConnection
    requested: tuple[str, ...]
    granted: tuple[str, ...]
    needs_approval: tuple[str, ...]
    refused: tuple[str, ...]
    not_in_policy: tuple[str, ...]

    @property
    def allowed(self) -> bool:
        return bool(self.granted) and not (self.needs_approval or self.refused or self.not_in_policy)

    def explain(self) -> str:
        """One line, no URLs (audit reasons must be the same over every transport)."""
        where = f"managed connection {self.connection.name}"
        if self.refused:
            return f"{where} always refuses {' '.join(self.refused)}"
        if self.not_in_policy:
            return f"{where} does not cover {' '.join(self.not_in_policy)}"
        if self.needs_approval:
            return f"{where} requires an approval for {' '.join(self.needs_approval)}"
        if not self.granted:
            return f"{where} grants no scope"
        return f"{where} grants {' '.join(self.granted)}"


def evaluate(connection: ManagedConnection, *, requested: Sequence[str],
             approved: Container[str] = frozenset()) -> ScopeVerdict:
    """Sort the requested scopes by the connection's policy. Nothing requested means the scopes
    granted automatically (the IdP's default for the target, RFC 8693 §2.1 ``scope`` OPTIONAL).
    ``approved`` holds the approval-required scopes that have an approval on record."""
    asked = tuple(dict.fromkeys(requested)) or connection.granted
    sorted_scopes: dict[ScopeDecision, list[str]] = {decision: [] for decision in ScopeDecision}
    for scope in asked:
        sorted_scopes[connection.decide(scope, approved=scope in approved)].append(scope)
    return ScopeVerdict(connection=connection, requested=asked,
                        granted=tuple(sorted_scopes[ScopeDecision.GRANTED]),
                        needs_approval=tuple(sorted_scopes[ScopeDecision.NEEDS_APPROVAL]),
                        refused=tuple(sorted_scopes[ScopeDecision.REFUSED]),
                        not_in_policy=tuple(sorted_scopes[ScopeDecision.NOT_IN_POLICY]))


@attrs.frozen(kw_only=True)
class ManagedConnections:
    """Every connection the IdP knows; lookups by (agent, audience)."""

    connections: tuple[ManagedConnection, ...] = attrs.field(default=(), converter=tuple)

    def __attrs_post_init__(self) -> None:
        pairs = [(c.agent, c.target_issuer) for c in self.connections]
        if len(set(pairs)) != len(pairs):
            raise ValueError("two managed connections for the same agent and target")

    def knows_target(self, audience: str) -> bool:
        """Whether ``audience`` names any resource AS this IdP federates with."""
        return any(c.answers_to(audience) for c in self.connections)

    def find(self, *, agent: str, audience: str) -> ManagedConnection | None:
        return next((c for c in self.connections if c.agent == agent and c.answers_to(audience)), None)

    def for_agent(self, agent: str) -> tuple[ManagedConnection, ...]:
        return tuple(c for c in self.connections if c.agent == agent)

    def with_connection(self, connection: ManagedConnection) -> ManagedConnections:
        return ManagedConnections(connections=(*self.connections, connection))
