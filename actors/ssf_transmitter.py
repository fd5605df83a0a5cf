"""The platform's Shared Signals transmitter: streams, signed SETs, RFC 8935 push with retries.

Endpoints (``protocols.ssf``): ``GET /.well-known/ssf-configuration`` and ``GET /jwks``
(public); ``POST /ssf/streams`` (create, ``201``/``409``), ``GET``/``DELETE /ssf/streams?stream_id=``,
``GET``/``POST /ssf/streams/status`` and ``POST /ssf/streams/verify`` — the management API, for
which each receiver holds a bearer credential issued at onboarding (``onboard``).

``Publish`` (a mailbox message from the incident-response orchestrator) signs one SET per stream
that asked for the event type (``aud`` = the stream's audience, one ``jti`` each, the same
``txn``) and queues them for the delivery task, so the mailbox stays free while receivers answer:
a receiver that fetches our keys mid-delivery is never deadlocked. Publications are delivered in
order, stream by stream (a run with the same seed replays the same audit trail); SETs answered
5xx or 429, or whose receiver is unreachable, are retried with exponential backoff (RFC 8935 §2.4
leaves retry policy to the transmitter). Each outcome is audited (``set.delivered`` /
``set.refused`` / ``set.undeliverable``) and reported on the publisher's channel.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs
import trio

from actors.runtime.actor import HttpActor
from actors.runtime.network import Unreachable
from protocols import caep
from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.jose.keys import Algorithm, KeyRing, SigningKey
from protocols.security_event import SecurityEvent, sign_security_event
from protocols.ssf import (
    VERIFICATION, WELL_KNOWN, PushOutcome, PushVerdict, StreamConfiguration, StreamRequest, StreamRequestInvalid,
    TransmitterMetadata, classify_push_response, parse_status_update, parse_verification_request, push_request,
)
from protocols.entropy import SeededEntropy
from protocols.subject_identifiers import Subject, SubjectId

if TYPE_CHECKING:
    from actors.runtime.context import Runtime

EVENTS_SUPPORTED = (caep.SESSION_REVOKED, caep.CREDENTIAL_CHANGE, VERIFICATION)
MAX_ATTEMPTS = 5
FIRST_BACKOFF = 1.0


@attrs.frozen(kw_only=True)
class Publish:
    """Send ``event_type`` about ``subject`` to every stream that asked for it; one report per stream
    goes to ``reports`` when its delivery ends (delivered, refused, or given up)."""

    event_type: str
    payload: Mapping[str, Any]
    subject: Subject
    txn: str
    reports: trio.MemorySendChannel | None = attrs.field(default=None, eq=False)


@attrs.frozen(kw_only=True)
class DeliveryReport:
    stream_id: str
    receiver: str
    jti: str
    event_type: str
    verdict: PushVerdict
    status: int
    attempts: int
    err: str = ""
    delivered_at: float = 0.0


@attrs.frozen(kw_only=True)
class _Delivery:
    stream: StreamConfiguration
    token: str = attrs.field(repr=False)
    jti: str
    event_type: str
    reports: trio.MemorySendChannel | None = attrs.field(eq=False)


@attrs.frozen(kw_only=True)
class Publication:
    """What ``Publish`` started: the SETs minted (one per stream)."""

    txn: str
    sets: tuple[tuple[str, str], ...]
    """(receiver, jti) of each SET sent."""


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@attrs.define(eq=False)
class SsfTransmitterActor(HttpActor):
    """``keyring`` signs SETs (RS256, SSF interoperability profile); streams live in memory."""

    keyring: KeyRing | None = attrs.field(default=None, repr=False)
    metadata: TransmitterMetadata | None = None
    streams: dict[str, StreamConfiguration] = attrs.field(factory=dict)
    _receivers: dict[bytes, tuple[str, str]] = attrs.field(factory=dict, init=False, repr=False)
    _queue: trio.MemorySendChannel | None = attrs.field(default=None, init=False, repr=False)
    _entropy: SeededEntropy = attrs.field(init=False, repr=False)

    @classmethod
    def build(cls, *, runtime: Runtime, name: str = "ssf", key: SigningKey | None = None) -> SsfTransmitterActor:
        """RS256 signing (SSF interoperability profile); ``key`` defaults to the run's seeded key."""
        issuer = runtime.network.base_url_for(name)
        key = key or runtime.new_signing_key(owner=name, purpose="set-signing", alg=Algorithm.RS256)
        return cls(name=name, runtime=runtime, base_url=issuer, keyring=KeyRing.start(key),
                   metadata=TransmitterMetadata.for_issuer(issuer))

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self._entropy = self.runtime.entropy_for(self.name).child("ids")
        self.route("GET", WELL_KNOWN, self._configuration)
        self.route("GET", "/jwks", self._jwks)
        self.route("POST", "/ssf/streams", self._create_stream)
        self.route("GET", "/ssf/streams", self._read_stream)
        self.route("DELETE", "/ssf/streams", self._delete_stream)
        self.route("GET", "/ssf/streams/status", self._read_status)
        self.route("POST", "/ssf/streams/status", self._update_status)
        self.route("POST", "/ssf/streams/verify", self._verify)

    @property
    def issuer(self) -> str:
        return self.base_url

    def onboard(self, *, receiver: str, audience: str) -> str:
        """Admin step: a management-API bearer credential for ``receiver``, whose stream's SETs will
        carry ``aud`` = ``audience``. Only the digest is kept; the value is registered for redaction."""
        token = "ssfm_" + self._entropy.token(24)
        self.runtime.secrets.add(token)
        self._receivers[_digest(token)] = (receiver, audience)
        return token

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        send, receive = trio.open_memory_channel(float("inf"))
        self._queue = send
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._delivery_worker, receive)
            await nursery.start(super().run)
            task_status.started()

    async def on_message(self, message: Any) -> Any:
        if isinstance(message, Publish):
            return await self._publish(message)
        return await super().on_message(message)

    # ------------------------------------------------------------------ management API

    def _receiver(self, request: HttpRequest) -> tuple[str, str] | None:
        scheme, _, token = (request.header("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        digest = _digest(token.strip())
        return next((who for known, who in self._receivers.items() if hmac.compare_digest(known, digest)), None)

    @staticmethod
    def _problem(status: int, description: str) -> HttpResponse:
        headers = {"www-authenticate": 'Bearer realm="ssf"'} if status == 401 else None
        return HttpResponse.json_body({"error": {400: "invalid_request", 401: "invalid_token", 403: "forbidden",
                                                 404: "not_found", 409: "conflict"}[status],
                                       "error_description": description}, status=status, headers=headers)

    async def _refuse(self, request: HttpRequest, status: int, *, description: str,
                      receiver: str | None = None) -> HttpResponse:
        await self.audit("ssf.request_refused", decision="deny", reason=description, receiver=receiver,
                         method=request.method, path=request.path, status=status)
        return self._problem(status, description)

    async def _configuration(self, request: HttpRequest) -> HttpResponse:
        assert self.metadata is not None
        return HttpResponse.json_body(self.metadata.to_json(), headers={"cache-control": "max-age=300"})

    async def _jwks(self, request: HttpRequest) -> HttpResponse:
        assert self.keyring is not None
        return HttpResponse.json_body(self.keyring.jwks(now=self.runtime.clock.now()),
                                      headers={"cache-control": "max-age=300"})

    def _owned(self, who: tuple[str, str], stream_id: str | None) -> StreamConfiguration | None:
        stream = self.streams.get(stream_id or "")
        return stream if stream is not None and stream.owner == who[0] else None

    async def _create_stream(self, request: HttpRequest) -> HttpResponse:
        who = self._receiver(request)
        if who is None:
            return await self._refuse(request, 401, description="a receiver credential is required")
        try:
            wanted = StreamRequest.from_json(request.json())
        except (MalformedBody, StreamRequestInvalid) as error:
            return await self._refuse(request, 400, description=str(error), receiver=who[0])
        if any(s.owner == who[0] for s in self.streams.values()):
            return await self._refuse(request, 409, description="this receiver already has a stream", receiver=who[0])
        stream = StreamConfiguration.create(wanted, stream_id=self._entropy.token(12), issuer=self.issuer,
                                            audience=who[1], events_supported=EVENTS_SUPPORTED, owner=who[0])
        if stream.delivery.authorization_header:
            self.runtime.secrets.add(stream.delivery.authorization_header.partition(" ")[2])
        self.streams[stream.stream_id] = stream
        await self.audit("ssf.stream_created", decision="allow", reason="receiver registered a push stream",
                         receiver=who[0], stream_id=stream.stream_id, aud=stream.audience,
                         endpoint=stream.delivery.endpoint_url, events_delivered=list(stream.events_delivered))
        return HttpResponse.json_body(stream.to_json(), status=201)

    async def _read_stream(self, request: HttpRequest) -> HttpResponse:
        who = self._receiver(request)
        if who is None:
            return await self._refuse(request, 401, description="a receiver credential is required")
        stream = self._owned(who, request.query_params().get("stream_id"))
        if stream is None:
            return self._problem(404, "no such stream")
        return HttpResponse.json_body(stream.to_json())

    async def _delete_stream(self, request: HttpRequest) -> HttpResponse:
        who = self._receiver(request)
        if who is None:
            return await self._refuse(request, 401, description="a receiver credential is required")
        stream = self._owned(who, request.query_params().get("stream_id"))
        if stream is None:
            return self._problem(404, "no such stream")
        del self.streams[stream.stream_id]
        await self.audit("ssf.stream_deleted", decision="allow", reason="deleted by its receiver", receiver=who[0],
                         stream_id=stream.stream_id)
        return HttpResponse(status=204)

    async def _read_status(self, request: HttpRequest) -> HttpResponse:
        who = self._receiver(request)
        if who is None:
            return await self._refuse(request, 401, description="a receiver credential is required")
        stream = self._owned(who, request.query_params().get("stream_id"))
        if stream is None:
            return self._problem(404, "no such stream")
        return HttpResponse.json_body({"stream_id": stream.stream_id, "status": stream.status})

    async def _update_status(self, request: HttpRequest) -> HttpResponse:
        who = self._receiver(request)
        if who is None:
            return await self._refuse(request, 401, description="a receiver credential is required")
        try:
            stream_id, status, reason = parse_status_update(request.json())
        except (MalformedBody, StreamRequestInvalid) as error:
            return await self._refuse(request, 400, description=str(error), receiver=who[0])
        stream = self._owned(who, stream_id)
        if stream is None:
            return self._problem(404, "no such stream")
        self.streams[stream_id] = attrs.evolve(stream, status=status)
        await self.audit("ssf.stream_status_changed", decision="allow", reason=reason or f"set to {status}",
                         receiver=who[0], stream_id=stream_id, status=status)
        return HttpResponse.json_body({"stream_id": stream_id, "status": status})

    async def _verify(self, request: HttpRequest) -> HttpResponse:
        who = self._receiver(request)
        if who is None:
            return await self._refuse(request, 401, description="a receiver credential is required")
        try:
            stream_id, state = parse_verification_request(request.json())
        except (MalformedBody, StreamRequestInvalid) as error:
            return await self._refuse(request, 400, description=str(error), receiver=who[0])
        stream = self._owned(who, stream_id)
        if stream is None:
            return self._problem(404, "no such stream")
        payload = {"state": state} if state is not None else {}
        token, jti = self._sign(stream, event_type=VERIFICATION, payload=payload,
                                subject=SubjectId.opaque(stream.stream_id), txn=self._entropy.token(8))
        assert self._queue is not None
        self._queue.send_nowait([_Delivery(stream=stream, token=token, jti=jti, event_type=VERIFICATION, reports=None)])
        return HttpResponse(status=204)

    # ------------------------------------------------------------------ publishing

    def _sign(self, stream: StreamConfiguration, *, event_type: str, payload: Mapping[str, Any], subject: Subject,
              txn: str) -> tuple[str, str]:
        assert self.keyring is not None
        jti = self._entropy.token(16)
        event = SecurityEvent(issuer=self.issuer, audience=(stream.audience,), jti=jti,
                              issued_at=self.runtime.clock.now(), event_type=event_type, payload=payload,
                              subject=subject, txn=txn, time_of_event=payload.get("event_timestamp"))
        return sign_security_event(event, key=self.keyring.active), jti

    async def _publish(self, message: Publish) -> Publication:
        targets = [s for s in self.streams.values() if s.delivers(message.event_type)]
        batch = []
        for stream in sorted(targets, key=lambda s: s.owner):
            token, jti = self._sign(stream, event_type=message.event_type, payload=message.payload,
                                    subject=message.subject, txn=message.txn)
            batch.append(_Delivery(stream=stream, token=token, jti=jti, event_type=message.event_type,
                                   reports=message.reports))
        await self.audit("set.published", decision="allow", reason=f"{len(batch)} receiver(s) asked for this event",
                         event_type=message.event_type, txn=message.txn, receivers=[d.stream.owner for d in batch],
                         jtis=[d.jti for d in batch])
        assert self._queue is not None
        self._queue.send_nowait(batch)
        return Publication(txn=message.txn, sets=tuple((d.stream.owner, d.jti) for d in batch))

    async def _delivery_worker(self, batches: trio.MemoryReceiveChannel) -> None:
        """Deliver publications one after the other, in order, so runs are reproducible."""
        async with batches:
            async for batch in batches:
                await self._deliver(batch)

    async def _deliver(self, batch: list[_Delivery]) -> None:
        """RFC 8935 §2: one POST per SET in stream order; the SETs answered 5xx/429 or unreachable
        are tried again after 1, 2, 4, 8 s, up to ``MAX_ATTEMPTS`` attempts in all."""
        pending, backoff, attempt = batch, FIRST_BACKOFF, 0
        while pending:
            attempt += 1
            retry = []
            for delivery in pending:
                request = push_request(endpoint_url=delivery.stream.delivery.endpoint_url, token=delivery.token,
                                       authorization_header=delivery.stream.delivery.authorization_header)
                try:
                    outcome = classify_push_response(await self.runtime.network.send(request))
                except Unreachable:
                    outcome = None
                if (outcome is None or outcome.verdict is PushVerdict.RETRY) and attempt < MAX_ATTEMPTS:
                    retry.append(delivery)
                else:
                    await self._finish(delivery, outcome=outcome, attempts=attempt)
            if retry:
                await trio.sleep(backoff)
                backoff *= 2
            pending = retry

    async def _finish(self, delivery: _Delivery, *, outcome: PushOutcome | None, attempts: int) -> None:
        stream = delivery.stream
        common = {"receiver": stream.owner, "stream_id": stream.stream_id, "jti": delivery.jti,
                  "event_type": delivery.event_type, "attempts": attempts}
        report_fields = {"stream_id": stream.stream_id, "receiver": stream.owner, "jti": delivery.jti,
                         "event_type": delivery.event_type, "attempts": attempts}
        if outcome is None or outcome.verdict is PushVerdict.RETRY:
            status = outcome.status if outcome is not None else 0
            await self.audit("set.undeliverable", decision="deny", reason="receiver unreachable or failing",
                             status=status, **common)
            report = DeliveryReport(verdict=PushVerdict.RETRY, status=status, **report_fields)
        elif outcome.verdict is PushVerdict.DELIVERED:
            await self.audit("set.delivered", decision="allow", reason="202 Accepted (RFC 8935 §2.2)", **common)
            report = DeliveryReport(verdict=outcome.verdict, status=202, delivered_at=self.runtime.clock.now_float(),
                                    **report_fields)
        else:
            await self.audit("set.refused", decision="deny", reason=outcome.err or f"HTTP {outcome.status}",
                             status=outcome.status, description=outcome.description, **common)
            report = DeliveryReport(verdict=outcome.verdict, status=outcome.status, err=outcome.err, **report_fields)
        if delivery.reports is not None:
            await delivery.reports.send(report)
