"""Approvers: the person's authenticator app and e-mail inbox (SPEC capability 6).

``AuthenticatorApp`` is the person's phone app, enrolled at the identity provider with its own
device key (``protocols.device_approval``). When the provider pushes an approval prompt the app
shows it — client, binding message, customer or vendor, amount, products, recipients, actions —
and the person decides as their ``ApproverPolicy`` says: approve, deny or never answer, after a
delay. Deciding happens in a child task (the mailbox stays free); the app signs the answer with the
device key and posts it to the provider, which verifies it against the enrolled key.

``EmailInbox`` is the person's mailbox: the provider's e-mail tells them a request is waiting in
the app (e-mail cannot answer it: only the device key can).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import trio

from actors.runtime.actor import HttpActor
from actors.runtime.network import Unreachable
from protocols.device_approval import DECISION_PATH, ApprovalPrompt, Decision, sign_decision
from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest, HttpResponse
from protocols.jose.keys import SigningKey
from protocols.oauth.errors import InvalidRequest, OAuthError

PUSH_PATH = "/push"
INBOX_PATH = "/inbox"
ANSWERS = ("approve", "deny", "ignore")


@attrs.frozen(kw_only=True)
class Answer:
    """How the person answers one kind of request: approve, deny or ignore, after ``delay`` seconds."""

    decision: str
    delay: int
    reason: str = ""

    def __attrs_post_init__(self) -> None:
        if self.decision not in ANSWERS:
            raise ValueError(f"decision must be one of {', '.join(ANSWERS)}")
        if self.delay <= 0:
            raise ValueError("a person takes some time to answer: delay must be positive")


@attrs.frozen(kw_only=True)
class ApproverPolicy:
    """The person's default answer and their answers to particular requests (by RAR ``identifier``)."""

    default: Answer
    by_reference: Mapping[str, Answer] = attrs.field(factory=dict)

    def answer_for(self, prompt: ApprovalPrompt) -> Answer:
        for detail in prompt.authorization_details:
            reference = detail.get("identifier")
            if isinstance(reference, str) and reference in self.by_reference:
                return self.by_reference[reference]
        return self.default


@attrs.frozen(kw_only=True)
class Shown:
    """A prompt as the app displayed it, and when."""

    at: str
    prompt: ApprovalPrompt


@attrs.define(eq=False)
class AuthenticatorApp(HttpActor):
    person: str = ""
    subject: str = ""
    device_id: str = ""
    idp_issuer: str = ""
    device_key: SigningKey | None = attrs.field(default=None, repr=False)
    policy: ApproverPolicy = attrs.field(factory=lambda: ApproverPolicy(default=Answer(decision="ignore", delay=1)))
    shown: list[Shown] = attrs.field(factory=list)
    answers: list[dict[str, Any]] = attrs.field(factory=list)
    _tasks: trio.Nursery | None = attrs.field(default=None, init=False, repr=False)
    _entropy: SeededEntropy = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self._entropy = self.runtime.entropy_for(self.name).child("answers")
        self.route("POST", PUSH_PATH, self.push)

    @property
    def push_endpoint(self) -> str:
        return self.url(PUSH_PATH)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self._tasks = nursery
            await nursery.start(super().run)
            task_status.started()

    async def push(self, request: HttpRequest) -> HttpResponse:
        """A prompt from the provider: show it, then let the person answer in their own time."""
        prompt = ApprovalPrompt.from_json(request.json())
        if prompt.issuer != self.idp_issuer or prompt.subject != self.subject:
            raise InvalidRequest("this prompt is not for this device")
        self.shown.append(Shown(at=self.runtime.clock.iso(), prompt=prompt))
        answer = self.policy.answer_for(prompt)
        await self.audit("approval.notified", agent=prompt.client_id, subject=self.subject, decision=None,
                         reason=f"shown on {self.person}'s phone", approver=self.person, txn=prompt.txn,
                         binding_message=prompt.binding_message, shown=[dict(s) for s in prompt.summary])
        if answer.decision != "ignore":
            assert self._tasks is not None
            self._tasks.start_soon(self._answer, prompt, answer)
        return HttpResponse(status=204)

    async def _answer(self, prompt: ApprovalPrompt, answer: Answer) -> None:
        """The person looks at the prompt for ``answer.delay`` seconds, unlocks the key and answers."""
        await trio.sleep(answer.delay)
        assert self.device_key is not None
        now = self.runtime.clock.now()
        decision = Decision.APPROVE if answer.decision == "approve" else Decision.DENY
        token = sign_decision(prompt=prompt, decision=decision, device_id=self.device_id, key=self.device_key, now=now,
                              entropy=self._entropy, reason=answer.reason)
        self.runtime.secrets.add(token)
        try:
            response = await self.runtime.network.send(HttpRequest.form_post(
                url=self.idp_issuer.rstrip("/") + DECISION_PATH, params={"approval": token}))
            accepted = response.status == 200
            error = "" if accepted else OAuthError.from_response(response).error
        except Unreachable:
            accepted, error = False, "unreachable"
        record = {"txn": prompt.txn, "decision": decision.value, "accepted": accepted, "error": error,
                  "at": self.runtime.clock.iso()}
        self.answers.append(record)
        await self.audit("approval.decided", agent=prompt.client_id, subject=self.subject,
                         decision="allow" if decision is Decision.APPROVE else "deny",
                         reason=(f"{self.person} {'approved' if decision is Decision.APPROVE else 'denied'} "
                                 f"with the device key" + ("" if accepted else f"; the provider refused: {error}")),
                         approver=self.person, device=self.device_id, txn=prompt.txn, answer=answer.reason or None,
                         authorization_details=[dict(d) for d in prompt.authorization_details])


@attrs.frozen(kw_only=True)
class Mail:
    to: str
    sender: str
    subject: str
    body: str
    received_at: str


@attrs.define(eq=False)
class EmailInbox(HttpActor):
    """A person's mailbox: receives messages, keeps them in order."""

    person: str = ""
    subject: str = ""
    messages: list[Mail] = attrs.field(factory=list)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.route("POST", INBOX_PATH, self.receive)

    @property
    def address(self) -> str:
        return self.url(INBOX_PATH)

    async def receive(self, request: HttpRequest) -> HttpResponse:
        body = request.json()
        fields = ("to", "from", "subject", "body")
        if not isinstance(body, dict) or not all(isinstance(body.get(f), str) for f in fields):
            raise InvalidRequest("a message needs to, from, subject and body")
        mail = Mail(to=body["to"], sender=body["from"], subject=body["subject"][:200], body=body["body"][:10_000],
                    received_at=self.runtime.clock.iso())
        self.messages.append(mail)
        await self.audit("mail.received", subject=self.subject, decision=None, reason=f"e-mail to {self.person}",
                         to=mail.to, sender=mail.sender, title=mail.subject)
        return HttpResponse(status=204)
