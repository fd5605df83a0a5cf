"""The agent's output filter (SPEC capability 4): everything the agent writes for people — chat
replies, e-mail bodies and subjects, documents, file names — passes ``release`` before it leaves.

``protocols.credential_detector`` decides with the run's secret registry as the list of known
secrets: a credential blocks the output (``OutputBlocked``; nothing reaches any provider), a
heuristic hit is redacted. Either way the event is audited (``output.blocked`` /
``output.redacted``) with the kinds and fingerprints found — never the secret itself.

With an ``egress`` policy (the world's ``[vault.egress]``), e-mail carrying internal content the
agent holds for the user to recipients outside the organisation is blocked
(``output_filter.egress_blocked``) unless an approval the agent holds for that user names them
(``agent.approved``; audited ``output_filter.egress_allowed``). An approval lets one e-mail out:
it is consumed when it does, so a second message to the same recipients is blocked again.
"""

from __future__ import annotations

import attrs

from actors.runtime.actor import Actor
from protocols.credential_detector import Action, Verdict, decide
from protocols.egress_policy import EgressPolicy, approved_recipients, decide as decide_egress


class OutputBlocked(Exception):
    """The agent tried to send a credential; the message names the kinds found, never the value."""

    def __init__(self, *, channel: str, destination: str, kinds: tuple[str, ...]) -> None:
        super().__init__(f"output to {destination} via {channel} blocked: it contains {', '.join(kinds)}")
        self.channel = channel
        self.destination = destination
        self.kinds = kinds


@attrs.define(eq=False)
class OutputGuard:
    """Bound to the agent whose output it filters (its runtime holds the known secrets)."""

    agent: Actor
    egress: EgressPolicy | None = None
    """If set, e-mail carrying internal context content to outside recipients no approval covers is
    blocked (``protocols.egress_policy``; audited ``output_filter.egress_blocked``)."""

    async def _check_egress(self, text: str, *, destination: str, subject: str | None) -> None:
        assert self.egress is not None
        contexts = getattr(self.agent, "contexts", {})
        context = contexts.get(subject) if subject is not None else None
        held = {item.source: item.content for item in context.items} if context is not None else {}
        approvals = getattr(self.agent, "approved", {}).get(subject, ()) if subject is not None else ()
        recipients = [r.strip() for r in destination.split(",")]
        verdict = decide_egress(text=text, recipients=recipients, context=held, policy=self.egress,
                                approved=approved_recipients(approvals))
        if verdict.allowed:
            if verdict.sources and verdict.approved:
                # the approval was for one action: once it has let this e-mail out it is used up
                used = {id(d) for d in approvals if approved_recipients([d]) & set(verdict.approved)}
                self.agent.approved[subject] = [d for d in approvals if id(d) not in used]
                await self.agent.audit("output_filter.egress_allowed", agent=self.agent.name, subject=subject,
                                       decision="allow", reason="internal content to recipients named by an approval",
                                       channel="email", approved=list(verdict.approved),
                                       sources=list(verdict.sources))
            return
        await self.agent.audit("output_filter.egress_blocked", agent=self.agent.name, subject=subject, decision="block",
                               reason="internal content addressed to recipients outside the organisation",
                               channel="email", external=list(verdict.external_recipients),
                               sources=list(verdict.sources))
        raise OutputBlocked(channel="email", destination=destination, kinds=("internal data to external recipients",))

    async def release(self, text: str, *, channel: str, destination: str, subject: str | None = None,
                      egress: bool = True) -> str:
        """``text`` as it may leave (possibly redacted), or ``OutputBlocked``. ``egress=False``: the
        egress policy was already applied to the whole message (``release_all``)."""
        if channel == "email" and egress and self.egress is not None:
            await self._check_egress(text, destination=destination, subject=subject)
        verdict: Verdict = decide(text, known_secrets=self.agent.runtime.secrets)
        if verdict.action is Action.ALLOW:
            return text
        details = {"channel": channel, "destination": destination, "kinds": list(verdict.kinds),
                   "findings": len(verdict.findings), "fingerprints": [f.fingerprint for f in verdict.findings]}
        if verdict.action is Action.BLOCK:
            await self.agent.audit("output.blocked", agent=self.agent.name, subject=subject, decision="deny",
                                   reason="credential in agent output", **details)
            raise OutputBlocked(channel=channel, destination=destination, kinds=verdict.kinds)
        await self.agent.audit("output.redacted", agent=self.agent.name, subject=subject, decision="allow",
                               reason="secret-like text redacted from agent output", **details)
        return verdict.text

    async def release_all(self, parts: dict[str, str], *, channel: str, destination: str,
                          subject: str | None = None) -> dict[str, str]:
        """Filter several fields of one output (subject line, body...) as one decision: if any
        field is blocked the whole output is."""
        joined = "\n".join(parts.values())
        if channel == "email" and self.egress is not None:
            await self._check_egress(joined, destination=destination, subject=subject)
        verdict = decide(joined, known_secrets=self.agent.runtime.secrets)
        if verdict.action is Action.BLOCK:
            await self.release(joined, channel=channel, destination=destination, subject=subject, egress=False)
        return {name: await self.release(value, channel=channel, destination=destination, subject=subject,
                                         egress=False)
                for name, value in parts.items()}
