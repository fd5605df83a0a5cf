"""Plain-language narrative of a phase, generated from its audit entries.

Each entry becomes one step: a sentence from ``SENTENCES`` when the event is known and every field
the sentence names is present (``{actor}``, ``{agent}``, ``{subject}``, ``{reason}`` or a detail
key), otherwise a generic sentence built from the entry's own fields. Consecutive identical steps
are folded (``×3``). The phase paragraph names the actors, counts the decisions and lists the denials
(the runner's own outcome line is shown above it by the templates).
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
    "api.called": "{actor} serves {agent}: {reason}",
    "mcp.resource_read": "{actor} returns {uri} to {agent}",
    "mcp.resource_denied": "{actor} refuses {uri} to {agent}",
    "token.refreshed": "{actor} refreshes {agent}'s token (scope {scope})",
    "vault.connected": "{subject} links {provider} to the token vault (scope {scope})",
    "vault.token_refreshed": "the vault refreshes the {connection} token",
    "id_jag.redeemed": "{actor} redeems the ID-JAG and issues {agent} an access token (scope {scope})",
    "id_jag.denied": "{actor} refuses an ID-JAG to {agent} (scope {scope})",
    "shadow_ai.discovered": "{actor} flags {account} as {risk} risk",
    "ciba.pending": "{actor} answers {agent}'s poll: not yet",
    "approval.decided": "{approver} decides on the device: {reason}",
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
    if entry.reason and shown_outcome(entry) != "deny":
        text += f": {entry.reason}"
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


def _short(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def paragraph(*, entries: Sequence[AuditEntry]) -> str:
    """The phase's evidence in a few sentences: who took part, how many decisions, what was denied."""
    if not entries:
        return "No audit entry was recorded during this phase."
    actors = list(dict.fromkeys(entry.actor for entry in entries))
    outcomes = Counter(counted_outcome(entry) for entry in entries)
    text = (f"The audit log holds {len(entries)} entr{'y' if len(entries) == 1 else 'ies'} for this phase "
            f"from {len(actors)} actor{'s' if len(actors) != 1 else ''} ({', '.join(actors)}): "
            f"{outcomes['allow']} decision{'s' if outcomes['allow'] != 1 else ''} allowed, {outcomes['deny']} denied.")
    denials = [entry for entry in entries if counted_outcome(entry) == "deny"]
    if denials:
        listed = "; ".join(f"{e.event} by {e.actor}" + (f" ({_short(e.reason)})" if e.reason else "")
                           for e in denials[:6])
        more = f" and {len(denials) - 6} more" if len(denials) > 6 else ""
        text += f" Denied: {listed}{more}."
    return text
