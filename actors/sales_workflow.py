"""What the sales agent does with the vault's tokens: read a customer from the CRM, write the
proposal, and execute it across Drive, Gmail and Calendar (SPEC phases 3 and 6).

Every step asks the vault for the least scope it needs on one integration (``crm.read``;
``drive.file``; ``gmail.send``; ``calendar.freebusy calendar.events``), and everything the agent
writes for people — the document, the file name, the e-mail subject and body, its chat reply —
passes the output filter before any provider sees it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import attrs

from actors.agent import AgentActor
from actors.output_guard import OutputGuard
from actors.saas.clients import (
    ApiClient, calendar_book, calendar_busy, crm_customer, drive_folder_path, drive_share, drive_upload, gmail_send,
)
from actors.vault_client import VaultClient, VaultToken
from protocols.calendar import WorkingHours, free_slots, rfc3339
from protocols.mime import Attachment, MailMessage, mailbox
from protocols.pdf import render_pdf

CRM, DRIVE, GMAIL, CALENDAR = "salesforce", "google-drive", "gmail", "google-calendar"
DAY = 86400
TOKEN_REUSE_MARGIN = 60


@attrs.define(eq=False)
class AgentTools:
    """The agent's hands: its vault client, its output filter and the API URIs it may call."""

    agent: AgentActor
    vault: VaultClient
    guard: OutputGuard
    tokens_used: list[dict[str, Any]] = attrs.field(factory=list)
    _held: dict[tuple[str, str, tuple[str, ...]], VaultToken] = attrs.field(factory=dict, repr=False)

    async def token(self, *, user: str, integration: str, scope: tuple[str, ...]) -> VaultToken:
        """A token from the vault, reused while it has more than a minute left (tokens live minutes)."""
        key = (user, integration, scope)
        held = self._held.get(key)
        if held is not None and held.expires_at - self.agent.runtime.clock.now() > TOKEN_REUSE_MARGIN:
            return held
        token = self._held[key] = await self.vault.access_token(user=user, integration=integration, scope=scope)
        self.tokens_used.append({"integration": integration, "scope": " ".join(token.scope),
                                 "expires_in": token.expires_at - self.agent.runtime.clock.now()})
        return token

    def api(self, integration: str, token: VaultToken, *, base: str | None = None) -> ApiClient:
        return ApiClient(network=self.agent.runtime.network, base=base or self.vault.integrations[integration],
                         token=token.token)

    def boundary(self) -> str:
        return "=_trustbench_" + self.agent.runtime.entropy_for(self.agent.name).child("mime").hex(8)


# ------------------------------------------------------------------------ phase 3: CRM via the vault


@attrs.frozen(kw_only=True)
class CustomerContext:
    """What the agent learned about a customer from the CRM (read-only token)."""

    account: Mapping[str, Any]
    contacts: tuple[Mapping[str, Any], ...]
    purchases: tuple[Mapping[str, Any], ...]
    contracts: tuple[Mapping[str, Any], ...]

    def contact(self, title: str) -> Mapping[str, Any]:
        """The contact whose title names ``title`` (``CTO``, ``CFO``)."""
        found = next((c for c in self.contacts if title.lower() in str(c.get("title", "")).lower()), None)
        if found is None:
            raise LookupError(f"{self.account.get('name')} has no {title} in the CRM")
        return found

    def spend(self, *, year: int, product_contains: str = "") -> int:
        return sum(p["amount_eur"] for p in self.purchases
                   if p["year"] == year and product_contains.lower() in p["product"].lower())


async def read_customer_context(tools: AgentTools, *, user: str, account: str) -> CustomerContext:
    """Phase 3's "CRM via vault" step: a read-only CRM token from the vault, then the account
    (``crm://contacts/<account>``): contacts, purchase history, contracts."""
    token = await tools.token(user=user, integration=CRM, scope=("crm.read",))
    data = await crm_customer(tools.api(CRM, token), account)
    return CustomerContext(account=data["account"], contacts=tuple(data["contacts"]),
                           purchases=tuple(data["history"]["purchases"]),
                           contracts=tuple(data["history"]["contracts"]))


# ------------------------------------------------------------------------ the proposal document


@attrs.frozen(kw_only=True)
class Proposal:
    customer: str
    title: str
    lines: tuple[tuple[str, int], ...]
    author: str
    date: str

    @property
    def total(self) -> int:
        return sum(amount for _, amount in self.lines)

    def text(self, context: CustomerContext) -> list[str]:
        cto, cfo = context.contact("CTO"), context.contact("CFO")
        history = [f"- {p['year']}: {p['product']} ({_eur(p['amount_eur'])})" for p in context.purchases]
        contracts = [f"- {c['kind']}: {c['start']} to {c['end']}" for c in context.contracts]
        items = [f"- {label}: {_eur(amount)}" for label, amount in self.lines]
        return [f"Prepared for {cto['name']} ({cto['title']}) and {cfo['name']} ({cfo['title']}), "
                f"{context.account['name']}", f"Prepared by {self.author}, {self.date}", "",
                "Our history together:", *history, *contracts, "", "Proposal:", *items,
                f"Total: {_eur(self.total)} (excluding VAT)", "",
                "This proposal is valid for 60 days."]


def _eur(amount: int) -> str:
    return f"{amount:,}".replace(",", " ") + " €"


@attrs.frozen(kw_only=True)
class ExecutionReport:
    """What phase 6 did, as the agent saw it."""

    file: Mapping[str, Any]
    path: str
    shared_with: tuple[str, ...]
    message: Mapping[str, Any]
    recipients: tuple[str, ...]
    attachment_sha256: str
    slots_found: int
    event: Mapping[str, Any]
    reply: str


async def save_document(tools: AgentTools, *, user: str, folder: list[str], file_name: str, title: str,
                        lines: list[str]) -> tuple[dict[str, Any], bytes]:
    """Filter the document and its name, render the PDF, save it under ``folder`` in the user's
    Drive (``drive.file``). Returns the Drive file and the PDF bytes."""
    guard, now = tools.guard, tools.agent.runtime.clock.now()
    body = await guard.release("\n".join([title, *lines]), channel="document", destination=file_name, subject=user)
    name = await guard.release(file_name, channel="document", destination="drive", subject=user)
    shown = body.split("\n")
    pdf = render_pdf(title=shown[0], lines=shown[1:],
                     creation_date=datetime.fromtimestamp(now, UTC).strftime("D:%Y%m%d%H%M%SZ"))
    drive_token = await tools.token(user=user, integration=DRIVE, scope=("drive.file",))
    drive = tools.api(DRIVE, drive_token)
    folder_id = await drive_folder_path(drive, folder)
    upload_base = tools.vault.integrations[DRIVE].replace("/drive/v3", "/upload/drive/v3")
    file = await drive_upload(drive, upload_base=upload_base, folder=folder_id, name=name, content=pdf,
                              mime_type="application/pdf", boundary=tools.boundary())
    return file, pdf


async def share_document(tools: AgentTools, *, user: str, file_id: str, team_group: str, manager: str) -> None:
    """Share with the user's team (reader) and manager (commenter)."""
    drive = tools.api(DRIVE, await tools.token(user=user, integration=DRIVE, scope=("drive.file",)))
    await drive_share(drive, file_id, email=team_group, kind="group", role="reader")
    await drive_share(drive, file_id, email=manager, kind="user", role="commenter")


async def send_email(tools: AgentTools, *, user: str, sender: Mapping[str, str], to: tuple[str, ...], subject: str,
                     body: str, attachments: tuple[Attachment, ...] = ()) -> dict[str, Any]:
    """Filter the subject and body, then send from the user's own address (``gmail.send``)."""
    parts = await tools.guard.release_all({"subject": subject, "body": body}, channel="email",
                                          destination=", ".join(to), subject=user)
    mail_token = await tools.token(user=user, integration=GMAIL, scope=("gmail.send",))
    message = MailMessage(sender=mailbox(sender["email"], sender["name"]), to=to, subject=parts["subject"],
                          text=parts["body"], attachments=attachments,
                          message_id=f"<{tools.boundary()[2:]}@{sender['email'].split('@')[1]}>")
    return await gmail_send(tools.api(GMAIL, mail_token), message, boundary=tools.boundary(),
                            now=tools.agent.runtime.clock.now())


async def execute_proposal(tools: AgentTools, *, user: str, context: CustomerContext, proposal: Proposal,
                           folder: list[str], file_name: str, sender: Mapping[str, str], team_group: str,
                           manager: str, horizon_days: int = 14, hours: WorkingHours = WorkingHours(),
                           meeting_minutes: int = 30) -> ExecutionReport:
    """Save the proposal to Drive and share it, e-mail it to the CTO and CFO, book the review."""
    now = tools.agent.runtime.clock.now()
    file, pdf = await save_document(tools, user=user, folder=folder, file_name=file_name, title=proposal.title,
                                    lines=proposal.text(context))
    await share_document(tools, user=user, file_id=file["id"], team_group=team_group, manager=manager)
    cto, cfo = context.contact("CTO"), context.contact("CFO")
    text = (f"Dear {cto['name'].split()[0]}, dear {cfo['name'].split()[0]},\n\n"
            f"Please find attached our proposal for {context.account['name']}: {proposal.title}, "
            f"{_eur(proposal.total)} in total. I would be glad to walk you through it; you will receive an "
            f"invitation for a short review.\n\nBest regards,\n{sender['name']}")
    sent = await send_email(tools, user=user, sender=sender, to=(cto["email"], cfo["email"]),
                            subject=f"{context.account['name']} - {proposal.title}", body=text,
                            attachments=(Attachment(filename=file["name"], content_type="application/pdf",
                                                    content=pdf),))
    # The first common free slot of the user and the manager in the next two weeks.
    calendar_token = await tools.token(user=user, integration=CALENDAR, scope=("calendar.freebusy", "calendar.events"))
    calendar = tools.api(CALENDAR, calendar_token)
    start = (now // DAY + 1) * DAY
    busy = await calendar_busy(calendar, [sender["email"], manager], start=start, end=start + horizon_days * DAY)
    slots = free_slots(busy=[p for periods in busy.values() for p in periods], start=start,
                       end=start + horizon_days * DAY, duration=meeting_minutes * 60, hours=hours)
    if not slots:
        raise LookupError("no common free slot in the next two weeks")
    summary = await tools.guard.release(f"{context.account['name']} proposal review", channel="calendar",
                                        destination="calendar", subject=user)
    event = await calendar_book(calendar, summary=summary, slot=slots[0],
                                description=f"Review of the proposal sent on {rfc3339(now)[:10]}.",
                                attendees=[manager, cto["email"], cfo["email"]])
    reply = await tools.guard.release(
        f"Done: the proposal is in Drive at {'/'.join(folder)}/{file['name']} (shared with {team_group} and "
        f"{manager}), e-mailed to {cto['name']} and {cfo['name']}, and the review is booked for "
        f"{rfc3339(slots[0][0])}.", channel="chat", destination=user, subject=user)
    return ExecutionReport(file=file, path="/".join([*folder, file["name"]]), shared_with=(team_group, manager),
                           message=sent, recipients=(cto["email"], cfo["email"]),
                           attachment_sha256=hashlib.sha256(pdf).hexdigest(), slots_found=len(slots), event=event,
                           reply=reply)
