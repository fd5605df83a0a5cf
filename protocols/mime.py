"""Internet messages and MIME bodies: build and strictly parse what the Gmail and Drive APIs carry.

- E-mail (RFC 5322 §3.6 header fields, RFC 2045/2046 MIME, RFC 2183 ``Content-Disposition``): a
  ``multipart/mixed`` message with a text part and attachments, the form Gmail's
  ``users.messages.send`` takes base64url-encoded in ``raw`` (RFC 4648 §5).
- ``multipart/related`` (RFC 2387): JSON metadata plus content in one request, the form of
  Drive's ``uploadType=multipart`` upload.

Serialization is deterministic: the caller supplies the boundary, ``Message-ID`` and ``Date``
(no randomness, no clock here). Parsing refuses what it cannot read with ``MalformedMessage``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, getaddresses, parseaddr
from datetime import UTC, datetime
from typing import Any

import attrs

MAX_ATTACHMENTS = 10


class MalformedMessage(ValueError):
    """A message or MIME body that cannot be parsed as its media type requires."""


@attrs.frozen(kw_only=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes = attrs.field(repr=False)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@attrs.frozen(kw_only=True)
class MailMessage:
    """A parsed (or to-be-built) e-mail message."""

    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...] = ()
    subject: str
    text: str
    attachments: tuple[Attachment, ...] = ()
    message_id: str = ""
    date: str = ""

    @property
    def recipients(self) -> tuple[str, ...]:
        return self.to + self.cc


def build_message(message: MailMessage, *, boundary: str, now: int) -> bytes:
    """Serialize ``message`` (RFC 5322, MIME); ``message_id`` must be set (``<id@domain>``)."""
    email = EmailMessage(policy=policy.SMTP)
    email["From"] = message.sender
    email["To"] = ", ".join(message.to)
    if message.cc:
        email["Cc"] = ", ".join(message.cc)
    email["Subject"] = message.subject
    email["Date"] = format_datetime(datetime.fromtimestamp(now, UTC))
    email["Message-ID"] = message.message_id
    email.set_content(message.text)
    for attachment in message.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        email.add_attachment(attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename)
    if message.attachments:
        email.set_boundary(boundary)
    return email.as_bytes()


def encode_raw(data: bytes) -> str:
    """Gmail's ``raw``: base64url of the whole message (RFC 4648 §5)."""
    return base64.urlsafe_b64encode(data).decode("ascii")


def decode_raw(raw: str) -> bytes:
    try:
        return base64.b64decode(raw + "=" * (-len(raw) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise MalformedMessage("raw is not base64url") from None


def _addresses(values: Sequence[str]) -> tuple[str, ...]:
    found = []
    for _, address in getaddresses(list(values)):
        if not address or "@" not in address:
            raise MalformedMessage("an address header holds an invalid address")
        found.append(address.lower())
    return tuple(found)


def parse_message(data: bytes) -> MailMessage:
    """Read an RFC 5322 message with its text part and attachments."""
    try:
        email = BytesParser(policy=policy.default).parsebytes(data)
    except Exception as exc:  # noqa: BLE001 - the parser raises many types on hostile input
        raise MalformedMessage(f"unreadable message ({type(exc).__name__})") from None
    if email.defects:
        raise MalformedMessage(f"message defects: {type(email.defects[0]).__name__}")
    sender = parseaddr(str(email.get("From", "")))[1].lower()
    if "@" not in sender:
        raise MalformedMessage("From is missing or invalid")
    to = _addresses(email.get_all("To", []))
    if not to:
        raise MalformedMessage("To is missing")
    body = email.get_body(preferencelist=("plain",))
    attachments = []
    for part in email.iter_attachments():
        content = part.get_content()
        if isinstance(content, str):
            content = content.encode("utf-8")
        attachments.append(Attachment(filename=part.get_filename() or "attachment",
                                      content_type=part.get_content_type(), content=content))
    if len(attachments) > MAX_ATTACHMENTS:
        raise MalformedMessage("too many attachments")
    return MailMessage(sender=sender, to=to, cc=_addresses(email.get_all("Cc", [])),
                       subject=str(email.get("Subject", "")),
                       text=body.get_content().replace("\r\n", "\n") if body is not None else "",
                       attachments=tuple(attachments), message_id=str(email.get("Message-ID", "")),
                       date=str(email.get("Date", "")))


def mailbox(address: str, name: str = "") -> str:
    """``Name <address>`` (RFC 5322 §3.4)."""
    user, _, domain = address.partition("@")
    return str(Address(display_name=name, username=user, domain=domain))


# ------------------------------------------------------------------------ multipart/related (RFC 2387)


def build_related(*, metadata: dict[str, Any], content: bytes, content_type: str, boundary: str) -> tuple[str, bytes]:
    """(``Content-Type`` header, body) of a metadata + media upload."""
    meta = json.dumps(metadata, sort_keys=True).encode()
    body = (f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n".encode() + meta
            + f"\r\n--{boundary}\r\nContent-Type: {content_type}\r\nContent-Transfer-Encoding: base64\r\n\r\n".encode()
            + base64.b64encode(content) + f"\r\n--{boundary}--\r\n".encode())
    return f'multipart/related; boundary="{boundary}"', body


def parse_related(*, content_type: str, body: bytes) -> tuple[dict[str, Any], bytes, str]:
    """(metadata, content, content type) of a ``multipart/related`` upload."""
    if not content_type.lower().startswith("multipart/related"):
        raise MalformedMessage("the upload must be multipart/related")
    try:
        message = BytesParser(policy=policy.default).parsebytes(
            f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode() + body)
        parts = list(message.iter_parts())
    except Exception as exc:  # noqa: BLE001
        raise MalformedMessage(f"unreadable multipart body ({type(exc).__name__})") from None
    if len(parts) != 2 or parts[0].get_content_type() != "application/json":
        raise MalformedMessage("expected two parts: JSON metadata, then the content")
    try:
        metadata = json.loads(parts[0].get_content())
        media = parts[1].get_payload(decode=True)
    except (ValueError, TypeError):
        raise MalformedMessage("the metadata part is not JSON") from None
    if not isinstance(metadata, dict) or not isinstance(media, bytes):
        raise MalformedMessage("the metadata part must be a JSON object")
    return metadata, media, parts[1].get_content_type()
