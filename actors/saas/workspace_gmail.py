"""Google Workspace's Gmail API (``/gmail/v1``): ``gmail.send`` sends as the user (an RFC 5322
message, base64url in ``raw``, RFC 4648 §5; the ``From`` must be the user), ``gmail.readonly``
reads the user's mailbox; delivery files copies in the domain's mailboxes (groups expanded) and
records what leaves the domain. A part of ``actors.saas.google_workspace.GoogleWorkspaceActor``, kept apart by concern."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from actors.saas.base import ApiReply, Caller, json_object, text_field
from protocols.http import HttpRequest
from protocols.mime import MailMessage, MalformedMessage, build_message, decode_raw, parse_message
from protocols.oauth.errors import AccessDenied, InvalidRequest, NotFound

if TYPE_CHECKING:
    from actors.saas.google_workspace import GoogleWorkspaceActor


@attrs.frozen(kw_only=True)
class StoredMail:
    id: str
    mailbox: str
    labels: tuple[str, ...]
    time: int
    raw: bytes = attrs.field(repr=False)
    message: MailMessage = attrs.field(repr=False)

    def metadata(self) -> dict[str, Any]:
        m = self.message
        return {"id": self.id, "labelIds": list(self.labels), "internalDate": str(self.time * 1000),
                "from": m.sender, "to": list(m.to), "cc": list(m.cc), "subject": m.subject,
                "attachments": [{"filename": a.filename, "mimeType": a.content_type, "size": len(a.content),
                                 "sha256": a.sha256} for a in m.attachments]}


class GmailApi:
    """The Gmail handlers and mail delivery, mixed into ``GoogleWorkspaceActor`` (its users, groups,
    mailboxes and outbound record)."""

    def _mailbox_owner(self: GoogleWorkspaceActor, caller: Caller, user_id: str) -> str:
        email = self._email(caller)
        if user_id not in ("me", email):
            raise AccessDenied("delegation denied: a token acts for its own mailbox only")
        return email

    def _deliver(self: GoogleWorkspaceActor, message: MailMessage, *, sent_by: str | None, raw: bytes | None = None) -> StoredMail | None:
        """File a message: a SENT copy for the sender, an INBOX copy for every member of the domain
        among the recipients (groups expanded), one outbound record for the external ones."""
        now = self.runtime.clock.now()
        if raw is None:
            raw = build_message(message, boundary="=_" + self._ids.hex(12), now=now)
        stored = None
        if sent_by is not None:
            stored = StoredMail(id=self._new_id(), mailbox=sent_by, labels=("SENT",), time=now, raw=raw,
                                message=message)
            self.mail.append(stored)
        for recipient in message.recipients:
            members = self.groups[recipient].members if recipient in self.groups else (recipient,)
            for member in members:
                if self._is_member(member):
                    self.mail.append(StoredMail(id=self._new_id(), mailbox=member, labels=("INBOX",), time=now,
                                                raw=raw, message=message))
        external = tuple(r for r in message.recipients if not self._is_member(r) and r not in self.groups)
        if external:
            self.outbound.append(StoredMail(id=stored.id if stored else self._new_id(), mailbox="outbound",
                                            labels=external, time=now, raw=raw, message=message))
        return stored

    async def send_mail(self: GoogleWorkspaceActor, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        owner = self._mailbox_owner(caller, params["user_id"])
        raw = text_field(json_object(request), "raw")
        try:
            data = decode_raw(raw)
            message = parse_message(data)
        except MalformedMessage as exc:
            raise InvalidRequest(str(exc)) from None
        if message.sender != owner:
            raise AccessDenied("From must be the authenticated user's address (send-as not configured)")
        if not message.message_id:
            message = attrs.evolve(message, message_id=f"<{self._new_id()}@{self.domain}>")
        stored = self._deliver(message, sent_by=owner, raw=data)
        assert stored is not None
        return ApiReply(body={"id": stored.id, "threadId": stored.id, "labelIds": ["SENT"]}, records=1)

    async def list_mail(self: GoogleWorkspaceActor, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        owner = self._mailbox_owner(caller, params["user_id"])
        label = request.query_params().get("labelIds")
        rows = [{"id": m.id, "threadId": m.id} for m in self.mail
                if m.mailbox == owner and (label is None or label in m.labels)]
        return ApiReply(body={"messages": rows, "resultSizeEstimate": len(rows)}, records=len(rows))

    async def get_mail(self: GoogleWorkspaceActor, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        owner = self._mailbox_owner(caller, params["user_id"])
        found = next((m for m in self.mail if m.id == params["message_id"] and m.mailbox == owner), None)
        if found is None:
            raise NotFound("message not found")
        return ApiReply(body=found.metadata(), records=1)
