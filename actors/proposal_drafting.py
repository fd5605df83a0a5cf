"""The agent's own work on a proposal while a human approval is pending (SPEC phase 5: "the agent
is not blocked meanwhile").

The agent writes the proposal document section by section — cover letter, solution overview,
pricing table, terms, and the covering e-mail to the recipients — each section taking some
minutes of scenario time and leaving one audit event, so the timeline shows its work interleaved
with the approval wait. The document is plain text, a deterministic function of the authorization
details it proposes; its SHA-256 identifies the draft. Nothing is sent or saved here: that needs
the approval.
"""

from __future__ import annotations

import hashlib

import attrs
import trio

from actors.agent import AgentActor
from protocols.rar import AuthorizationDetail, format_amount

SECTIONS = ("cover letter", "solution overview", "pricing table", "terms and conditions", "covering e-mail")
SECTION_MINUTES = 1.5
START_OFFSET = 0.25
"""Drafting starts a quarter second after the request is sent: its steps never share an instant
with the approval exchange (deterministic event order, DESIGN.md §2)."""


@attrs.frozen(kw_only=True)
class Draft:
    name: str
    text: str = attrs.field(repr=False)
    sections: tuple[str, ...]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def _section(title: str, detail: AuthorizationDetail, *, author: str) -> str:
    values = detail.values
    party = detail.party
    if title == "cover letter":
        return f"Dear {party} team,\n\nplease find our proposal {detail.identifier or ''} below.\n\n{author}"
    if title == "solution overview":
        return "We propose:\n" + "\n".join(f"- {p}" for p in values["products"])
    if title == "pricing table":
        return f"Total: {format_amount(detail)} (excl. VAT), valid 30 days."
    if title == "terms and conditions":
        return "Payment 30 days net. Prices subject to the signed order form."
    return ("To: " + ", ".join(values["recipients"]) + f"\nSubject: Proposal for {party}\n\n"
            "Please find attached our proposal. Looking forward to discussing it.")


async def draft_proposal(*, agent: AgentActor, detail: AuthorizationDetail, on_behalf_of: str, author: str,
                         section_seconds: float = SECTION_MINUTES * 60) -> Draft:
    """Write the document section by section; one ``agent.draft_progressed`` event per section."""
    await trio.sleep(START_OFFSET)
    name = f"{detail.identifier or 'proposal'}.txt"
    parts: list[str] = []
    for number, title in enumerate(SECTIONS, start=1):
        await trio.sleep(section_seconds)
        parts.append(f"## {title.capitalize()}\n\n{_section(title, detail, author=author)}\n")
        text = "\n".join(parts)
        await agent.audit("agent.draft_progressed", agent=agent.name, subject=on_behalf_of, decision="allow",
                          reason=f"drafted the {title} while the approval is pending", document=name,
                          section=f"{number}/{len(SECTIONS)}", sha256=hashlib.sha256(text.encode()).hexdigest()[:16])
    return Draft(name=name, text="\n".join(parts), sections=SECTIONS)
