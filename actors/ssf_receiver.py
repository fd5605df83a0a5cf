"""An SSF receiver mounted on any actor: RFC 8935 push endpoint, SET validation, CAEP actions, and
the bearer guard that refuses revoked principals' tokens from then on.

``SsfReceiver.connect`` discovers the transmitter (SSF configuration, ``issuer`` checked), reads its
JWKS, creates a push stream for ``session-revoked``, ``credential-change`` and ``verification``
with a fresh ``authorization_header`` secret, and verifies the stream: it returns once the
transmitter's verification SET echoing its ``state`` has arrived (or fails after 30 s).
``mount`` puts two interceptors in front of the host's own dispatcher (``HttpActor.intercept``),
so they run in the host's task and may change its state:

- ``POST <path>`` (RFC 8935 §2): the ``Authorization`` header must be the stream's; the SET is
  validated by ``protocols.security_event`` (signature with the transmitter's keys — re-read once on
  an unknown ``kid`` — ``typ``, ``iss``, ``aud`` = our audience, one conforming event, ``sub_id``)
  and admitted once per (``iss``, ``jti``). ``202`` or ``400 {"err", "description"}``.
  ``session-revoked`` records the revocation time of every local principal the subject names and
  runs the host's action (revoke grants, drop sessions...); ``credential-change`` runs its action.
- every other request carrying a JWT bearer token whose ``client_id``, ``sub``, ``azp`` or
  ``act.sub`` names a revoked principal, issued (``iat``) at or before the revocation, is refused
  with ``401 invalid_token`` (RFC 6750 §3.1) before the host sees it, and audited
  (``token.refused``). The guard only *refuses*: reading the unverified claims is safe because the
  host still validates every token it accepts.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs
import trio

from actors.runtime.actor import HttpActor
from protocols import caep
from protocols.access_token import challenge
from protocols.http import HttpRequest, HttpResponse, MalformedBody, parse_json
from protocols.jose.encoding import Base64UrlError, b64url_decode
from protocols.jose.jwks import InvalidJwkSet, JwkSet
from protocols.oauth.errors import InvalidToken
from protocols.security_event import (
    AUTHENTICATION_FAILED, INVALID_KEY, ReplayGuard, SecurityEvent, SetRejected, validate_security_event,
)
from protocols.ssf import (
    PUSH_METHOD, VERIFICATION, MetadataRejected, TransmitterMetadata, check_verification, configuration_url,
    push_accepted, push_error, read_push_request,
)
from protocols.subject_identifiers import Subject, local_names

PUSH_PATH = "/ssf/events"
VERIFICATION_TIMEOUT = 30
EVENTS_REQUESTED = (caep.SESSION_REVOKED, caep.CREDENTIAL_CHANGE, VERIFICATION)
PAYLOAD_RULES = {**caep.PAYLOAD_RULES, VERIFICATION: check_verification}
TOKEN_PRINCIPAL_CLAIMS = ("client_id", "sub", "azp")

Action = Callable[[SecurityEvent, tuple[str, ...]], Awaitable[Mapping[str, Any]]]
"""What the host does about an event: called in the host's task with the event and the local
principals it names; returns non-secret details of what was done (audited)."""


class ReceiverSetupFailed(Exception):
    """The stream could not be created or verified (message says which step)."""


def token_principals(token: str) -> tuple[set[str], int | None]:
    """The principal names a JWT carries (``client_id``, ``sub``, ``azp``, ``act.sub``) and its
    ``iat`` — read *without* verification, for refusing only."""
    parts = token.split(".")
    if len(parts) != 3 or len(token) > 16384:
        return set(), None
    try:
        claims = parse_json(b64url_decode(parts[1]))
    except (Base64UrlError, MalformedBody, ValueError):
        return set(), None
    if not isinstance(claims, dict):
        return set(), None
    names = {claims[c] for c in TOKEN_PRINCIPAL_CLAIMS if isinstance(claims.get(c), str)}
    act = claims.get("act")
    while isinstance(act, dict):  # RFC 8693 §4.1: nested actors, the current one outermost
        if isinstance(act.get("sub"), str):
            names.add(act["sub"])
        act = act.get("act")
    iat = claims.get("iat")
    return names, iat if isinstance(iat, int) and not isinstance(iat, bool) else None


@attrs.define(eq=False)
class SsfReceiver:
    """The receiver side of one stream, living inside ``host``.

    ``issuers`` lists the issuers whose ``iss_sub`` subjects name local principals (the enterprise
    IdP's agents and users); ``actions`` maps an event type to the host's reaction.
    """

    host: HttpActor
    transmitter_issuer: str
    issuers: frozenset[str] = attrs.field(converter=frozenset)
    actions: dict[str, Action] = attrs.field(factory=dict)
    path: str = PUSH_PATH
    metadata: TransmitterMetadata | None = None
    stream_id: str = ""
    audience: str = ""
    verified: bool = False
    revoked_at: dict[str, int] = attrs.field(factory=dict)
    accepted: list[SecurityEvent] = attrs.field(factory=list)
    _keys: JwkSet | None = attrs.field(default=None, repr=False)
    _authorization: str = attrs.field(default="", repr=False)
    _state: str = attrs.field(default="", repr=False)
    _replay: ReplayGuard = attrs.field(factory=ReplayGuard)
    _verification: trio.Event = attrs.field(factory=trio.Event, repr=False)

    @property
    def endpoint(self) -> str:
        return self.host.url(self.path)

    def mount(self) -> SsfReceiver:
        self.host.intercept(self._intercept)
        return self

    # ------------------------------------------------------------------ stream setup (RFC 8935 / SSF)

    async def _get_json(self, url: str, headers: Mapping[str, str] | None = None) -> Any:
        response = await self.host.runtime.network.send(HttpRequest.get(url, headers=headers))
        if response.status != 200:
            raise ReceiverSetupFailed(f"GET {url} answered {response.status}")
        return response.json()

    async def connect(self, *, management_token: str) -> None:
        """Discover the transmitter, create our push stream and verify it."""
        network = self.host.runtime.network
        try:
            self.metadata = TransmitterMetadata.from_json(
                await self._get_json(configuration_url(self.transmitter_issuer)),
                expected_issuer=self.transmitter_issuer)
            await self._refresh_keys()
        except (MetadataRejected, MalformedBody, InvalidJwkSet) as error:
            raise ReceiverSetupFailed(f"transmitter configuration unusable: {error}") from None
        entropy = self.host.runtime.entropy_for(self.host.name).child("ssf-receiver")
        self._authorization = "Bearer " + entropy.token(24)
        self.host.runtime.secrets.add(self._authorization[len("Bearer "):])
        auth = {"authorization": f"Bearer {management_token}"}
        body = {"delivery": {"method": PUSH_METHOD, "endpoint_url": self.endpoint,
                             "authorization_header": self._authorization},
                "events_requested": list(EVENTS_REQUESTED), "description": f"{self.host.name} universal logout"}
        created = await network.send(HttpRequest.json_post(url=self.metadata.configuration_endpoint, payload=body,
                                                           headers=auth))
        if created.status != 201:
            raise ReceiverSetupFailed(f"stream creation answered {created.status}")
        config = created.json()
        self.stream_id, self.audience = config["stream_id"], config["aud"]
        missing = set(EVENTS_REQUESTED) - set(config.get("events_delivered", []))
        if missing:
            raise ReceiverSetupFailed(f"the transmitter will not deliver {sorted(missing)}")
        self._state = entropy.token(12)
        answer = await network.send(HttpRequest.json_post(
            url=self.metadata.verification_endpoint, payload={"stream_id": self.stream_id, "state": self._state},
            headers=auth))
        if answer.status != 204:
            raise ReceiverSetupFailed(f"verification request answered {answer.status}")
        with trio.move_on_after(VERIFICATION_TIMEOUT):
            await self._verification.wait()
        if not self.verified:
            raise ReceiverSetupFailed("the transmitter never sent the verification event")

    async def _refresh_keys(self) -> None:
        assert self.metadata is not None
        self._keys = JwkSet.from_json(await self._get_json(self.metadata.jwks_uri))

    # ------------------------------------------------------------------ interception

    async def _intercept(self, request: HttpRequest) -> HttpResponse | None:
        if request.path == self.path:
            if request.method.upper() != "POST":
                return HttpResponse.json_body({"err": "invalid_request", "description": "POST a SET here"},
                                              status=405, headers={"allow": "POST"})
            return await self.receive(request)
        return await self._guard(request)

    async def _guard(self, request: HttpRequest) -> HttpResponse | None:
        if not self.revoked_at:
            return None
        scheme, _, token = (request.header("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        names, iat = token_principals(token.strip())
        hit = sorted(n for n in names if n in self.revoked_at and (iat is None or iat <= self.revoked_at[n]))
        if not hit:
            return None
        await self.host.audit("token.refused", agent=hit[0], decision="deny", reason="revoked_by_caep_session_revoked",
                              method=request.method, path=request.path, revoked_at=self.revoked_at[hit[0]])
        return challenge(realm=self.host.base_url, error=InvalidToken("the token was revoked (CAEP session-revoked)"))

    def local_principals(self, subject: Subject) -> tuple[str, ...]:
        return local_names(subject, issuers=self.issuers)

    async def receive(self, request: HttpRequest) -> HttpResponse:
        """RFC 8935 §2: authenticate the push, validate the SET, act, answer ``202`` or ``400``."""
        now = self.host.runtime.clock.now()
        try:
            if not self._authorization or not hmac.compare_digest(
                    (request.header("authorization") or "").encode(), self._authorization.encode()):
                raise SetRejected(AUTHENTICATION_FAILED, "the push did not carry this stream's authorization")
            token = read_push_request(request)
            event = await self._validate(token, now=now)
            self._replay.admit(event, now=now)
        except SetRejected as error:
            await self.host.audit("set.rejected", decision="deny", reason=error.err, description=error.description,
                                  stream_id=self.stream_id or None)
            return push_error(error)
        self.accepted.append(event)
        await self._act(event, now=now)
        return push_accepted()

    async def _validate(self, token: str, *, now: int) -> SecurityEvent:
        if self._keys is None or self.metadata is None:
            raise SetRejected(INVALID_KEY, "no stream is configured with this transmitter")
        for attempt in (1, 2):
            try:
                return validate_security_event(token, keys=self._keys, issuer=self.metadata.issuer,
                                               audience=self.audience, now=now, payload_rules=PAYLOAD_RULES)
            except SetRejected as error:
                if attempt == 2 or error.err != INVALID_KEY or "kid" not in error.description:
                    raise
                try:  # the transmitter may have rotated its key: re-read the JWKS once
                    await self._refresh_keys()
                except (ReceiverSetupFailed, MalformedBody, InvalidJwkSet):
                    raise error from None
        raise AssertionError("unreachable")

    async def _act(self, event: SecurityEvent, *, now: int) -> None:
        common = {"jti": event.jti, "txn": event.txn, "event_type": event.event_type, "stream_id": self.stream_id}
        if event.event_type == VERIFICATION:
            ok = event.payload.get("state") == self._state
            self.verified = self.verified or ok
            if ok:
                self._verification.set()
            await self.host.audit("ssf.stream_verified" if ok else "set.ignored", decision="allow" if ok else "deny",
                                  reason="verification state echoed" if ok else "unexpected verification state",
                                  **common)
            return
        local = self.local_principals(event.subject)
        if event.event_type == caep.SESSION_REVOKED:
            for name in local:
                self.revoked_at[name] = max(self.revoked_at.get(name, 0), now)
        action = self.actions.get(event.event_type)
        done: Mapping[str, Any] = await action(event, local) if action is not None and local else {}
        await self.host.audit("set.accepted", agent=local[0] if local else None, decision="allow",
                              reason=caep.reason(event.payload) or "no reason given", principals=list(local),
                              actions=dict(done), **common)
