"""Plain-language narrative of a phase, generated from its audit entries.

Each entry becomes one step: a sentence from ``SENTENCES`` when the event is known and every field
the sentence names is present (``{actor}``, ``{agent}``, ``{subject}``, ``{reason}`` or a detail
key), otherwise a generic sentence built from the entry's own fields. Consecutive identical steps
are folded (``×3``). The phase paragraph states the runner's outcome and counts the decisions.
"""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Sequence
from typing import Any

import attrs

from protocols.audit_chain import AuditEntry
from reports.audit_fields import clock_label, detail
from reports.classification import counted_outcome, shown_outcome

SENTENCES: dict[str, str] = {
    "federation.configured": "{actor} trusts the upstream identity provider {upstream}",
    "auth.login_requested": "{actor} shows the sign-in page for {agent}",
    "auth.login_succeeded": "{actor} authenticates the user {subject}",
    "auth.login_failed": "{actor} refuses a sign-in",
    "federation.started": "{actor} sends the user to {upstream} to sign in",
    "federation.code_received": "{actor} receives the authorization code back from {upstream}",
    "federation.succeeded": "{actor} accepts {upstream}'s ID token and signs in {subject}",
    "token.issued": "{actor} issues tokens to {agent} (grant {grant_type}, scope {scope})",
    "token.denied": "{actor} refuses to issue a token to {agent}",
    "token.exchanged": "{actor} exchanges a token for {agent} (audience {audience}, scope {scope})",
    "id_jag.issued": "{actor} issues an ID-JAG to {agent} for {audience}",
    "userinfo.served": "{actor} serves the user's claims to {agent}",
    "agent.login_started": "{agent} sends the user to the identity provider",
    "agent.acting_for_user": "{agent} validates the ID token and now acts on behalf of {subject}",
    "key.rotated": "{actor} rotates its signing key",
    "session.revoked": "{actor} ends every session and token of {subject}",
    "authz.allowed": "{actor} allows {relation} on {object}",
    "authz.denied": "{actor} denies {relation} on {object}",
    "vault.token_served": "the vault hands {agent} a short-lived token for {connection}",
    "ciba.requested": "{agent} asks {subject} for approval: {binding_message}",
    "ciba.approved": "{subject} approves {agent}'s request",
    "ciba.denied": "{subject} denies {agent}'s request",
    "ciba.expired": "{agent}'s approval request expires unanswered",
    "risk.scored": "{actor} scores {agent}'s risk at {score} (threshold {threshold})",
    "agent.suspended": "{actor} suspends {agent}",
    "certification.certified": "{actor} certifies {entitlement}",
    "certification.revoked": "{actor} revokes {entitlement}",
}


@attrs.frozen(kw_only=True)
class Step:
    """One line of a narrative: when, what, the decision, how many identical entries it stands for."""

    time: str
    seq: int
    text: str
    outcome: str | None
    reason: str | None
    count: int = 1


def _fields(entry: AuditEntry, names: Sequence[str]) -> dict[str, str] | None:
    values: dict[str, str] = {}
    for name in names:
        value: Any = getattr(entry, name) if name in ("actor", "agent", "subject", "reason") else detail(entry, name)
        if isinstance(value, list):
            value = " ".join(str(v) for v in value)
        if value is None or value == "" or isinstance(value, dict):
            return None
        values[name] = str(value)
    return values


def sentence(entry: AuditEntry) -> str:
    template = SENTENCES.get(entry.event)
    if template:
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name]
        values = _fields(entry, names)
        if values is not None:
            return template.format(**values)
    text = f"{entry.actor} records {entry.event}"
    if entry.agent and entry.agent != entry.actor:
        text += f" for {entry.agent}"
    if entry.subject:
        text += f" on behalf of {entry.subject}"
    return text


def steps(entries: Sequence[AuditEntry]) -> tuple[Step, ...]:
    folded: list[Step] = []
    for entry in entries:
        step = Step(time=clock_label(entry.time), seq=entry.seq, text=sentence(entry),
                    outcome=shown_outcome(entry), reason=entry.reason)
        if folded and (folded[-1].text, folded[-1].outcome, folded[-1].reason) == (step.text, step.outcome, step.reason):
            folded[-1] = attrs.evolve(folded[-1], count=folded[-1].count + 1)
        else:
            folded.append(step)
    return tuple(folded)


def paragraph(*, outcome: str, entries: Sequence[AuditEntry]) -> str:
    """The phase in a few sentences: the runner's outcome, who took part, what was allowed and denied."""
    if not entries:
        return f"{outcome} No audit entry was recorded during this phase.".strip()
    actors = list(dict.fromkeys(entry.actor for entry in entries))
    outcomes = Counter(counted_outcome(entry) for entry in entries)
    text = (f"{outcome} The audit log holds {len(entries)} entr{'y' if len(entries) == 1 else 'ies'} for this phase "
            f"from {len(actors)} actor{'s' if len(actors) != 1 else ''} ({', '.join(actors)}): "
            f"{outcomes['allow']} allowed, {outcomes['deny']} denied.")
    denials = [entry for entry in entries if counted_outcome(entry) == "deny"]
    if denials:
        listed = "; ".join(f"{e.event} by {e.actor}" + (f" ({e.reason})" if e.reason else "") for e in denials[:6])
        more = f" and {len(denials) - 6} more" if len(denials) > 6 else ""
        text += f" Denied: {listed}{more}."
    return text.strip()
