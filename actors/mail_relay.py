"""An in-simulation corporate mail service, used when the world has no Workspace Gmail the
platform can send through: services submit messages (``POST /send``, bearer token issued to the
sending service, like an SMTP submission account, RFC 6409), people read their own mailbox
(``GET /mailboxes/{address}``, HTTP Basic with the mailbox password). Every delivery is audited
(metadata only, never the body).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Any
from urllib.parse import unquote

import attrs

from actors.runtime.actor import HttpActor
from protocols.http import HttpRequest, HttpResponse
from protocols.oauth.errors import AccessDenied, InvalidRequest, InvalidToken, NotFound


@attrs.frozen(kw_only=True)
class Mail:
    id: str
    time: int
    sender: str
    to: str
    subject: str
    body: str

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.define(eq=False)
class MailRelayActor(HttpActor):
    mailboxes: dict[str, list[Mail]] = attrs.field(factory=dict)
    _passwords: dict[str, bytes] = attrs.field(factory=dict, init=False, repr=False)
    _senders: dict[bytes, str] = attrs.field(factory=dict, init=False, repr=False)
    _count: int = attrs.field(default=0, init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.route("POST", "/send", self.send)

    def add_mailbox(self, address: str) -> str:
        """Create ``address``'s mailbox; returns its password (registered as a secret)."""
        password = self.runtime.entropy_for(self.name).child(f"mailbox:{address}").token(18)
        self.runtime.secrets.add(password)
        self._passwords[address] = hashlib.sha256(password.encode()).digest()
        self.mailboxes.setdefault(address, [])
        return password

    def add_sender(self, address: str) -> str:
        token = "smtp_" + self.runtime.entropy_for(self.name).child(f"sender:{address}").token(24)
        self.runtime.secrets.add(token)
        self._senders[hashlib.sha256(token.encode()).digest()] = address
        return token

    async def handle(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/mailboxes/") and request.method == "GET":
            return await self.read(request, unquote(request.path[len("/mailboxes/"):]))
        return await super().handle(request)

    async def send(self, request: HttpRequest) -> HttpResponse:
        scheme, _, token = (request.header("authorization") or "").partition(" ")
        sender = self._senders.get(hashlib.sha256(token.strip().encode()).digest()) if scheme.lower() == "bearer" else None
        if sender is None:
            raise InvalidToken("a submission token is required")
        body = request.json()
        if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in ("to", "subject", "body")):
            raise InvalidRequest("to, subject and body are required strings")
        if body["to"] not in self.mailboxes:
            raise NotFound(f"no mailbox {body['to']}")
        self._count += 1
        mail = Mail(id=f"msg-{self._count:06d}", time=self.runtime.clock.now(), sender=sender, to=body["to"],
                    subject=body["subject"], body=body["body"])
        self.mailboxes[mail.to].append(mail)
        await self.audit("mail.delivered", decision="allow", reason=mail.subject, sender=sender, to=mail.to,
                         message=mail.id)
        return HttpResponse.json_body({"id": mail.id}, status=202)

    async def read(self, request: HttpRequest, address: str) -> HttpResponse:
        scheme, _, encoded = (request.header("authorization") or "").partition(" ")
        try:
            user, _, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user, password = "", ""
        known = self._passwords.get(address)
        if scheme.lower() != "basic" or known is None or user != address or \
                not hmac.compare_digest(known, hashlib.sha256(password.encode()).digest()):
            raise AccessDenied("mailbox login failed")
        return HttpResponse.json_body({"messages": [m.to_json() for m in self.mailboxes[address]]})


async def read_mailbox(network: Any, *, relay_url: str, address: str, password: str) -> list[dict[str, Any]]:
    """A person's mail client: the messages in their mailbox."""
    credentials = base64.b64encode(f"{address}:{password}".encode()).decode()
    response = await network.send(HttpRequest.get(f"{relay_url}/mailboxes/{address}",
                                                  headers={"authorization": f"Basic {credentials}"}))
    if response.status != 200:
        raise AccessDenied(f"cannot read {address}: HTTP {response.status}")
    return response.json()["messages"]
