"""Message flows for the sequence diagrams, derived from audit entries.

The audit log records what an actor *did*, not the wire; the mapping to arrows is:

* the **receiver** is the entry's ``actor`` (the actor that handled the request and logged it);
* the **sender** is ``details.client`` if it names an actor, else ``agent`` (the OAuth client the
  actor served) when it differs from ``actor``;
* an entry whose ``details.peer`` (or ``details.to``) names an actor is an outgoing call instead:
  ``actor`` → peer (e.g. a resource server calling the FGA service, the vault calling a SaaS);
* with neither, the entry is a note on the actor's own lifeline (``sender == receiver``);
* denials (``decision`` mapped to *deny*, the agent's own refusals included) are drawn red and
  labelled with their reason.

Only names without ``/``, ``:`` or spaces count as actors, so URLs never become lifelines.
Runner events (``run.*``, ``phase.*``) are not messages.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from protocols.audit_chain import AuditEntry
from reports.audit_fields import detail, is_actor_name
from reports.classification import RUN, layer_of, shown_outcome


@attrs.frozen(kw_only=True)
class Message:
    seq: int
    time: str
    sender: str
    receiver: str
    event: str
    outcome: str | None
    reason: str | None

    @property
    def is_note(self) -> bool:
        return self.sender == self.receiver

    @property
    def label(self) -> str:
        if self.outcome == "deny":
            return f"✗ {self.event}" + (f" — {self.reason}" if self.reason else "")
        return self.event


def message_for(entry: AuditEntry) -> Message:
    peer = detail(entry, "peer") or detail(entry, "to")
    client = detail(entry, "client")
    if is_actor_name(peer) and peer != entry.actor:
        sender, receiver = entry.actor, peer
    elif is_actor_name(client):
        sender, receiver = client, entry.actor
    elif is_actor_name(entry.agent):
        sender, receiver = entry.agent, entry.actor
    else:
        sender = receiver = entry.actor
    return Message(seq=entry.seq, time=entry.time, sender=sender, receiver=receiver, event=entry.event,
                   outcome=shown_outcome(entry), reason=entry.reason)


def messages(entries: Sequence[AuditEntry]) -> tuple[Message, ...]:
    return tuple(message_for(entry) for entry in entries if layer_of(entry) is not RUN)


def lifelines(flow: Sequence[Message]) -> tuple[str, ...]:
    """Actors in order of first appearance (sender before receiver)."""
    order: dict[str, None] = {}
    for message in flow:
        order.setdefault(message.sender)
        order.setdefault(message.receiver)
    return tuple(order)
