"""Shared Signals Framework 1.0 transmitter metadata and streams, and RFC 8935 push delivery.

- **Transmitter configuration** (SSF 1.0 §"Transmitter Configuration Metadata"): served at
  ``/.well-known/ssf-configuration`` inserted between host and path of the issuer; members
  ``spec_version``, ``issuer``, ``jwks_uri``, ``delivery_methods_supported``,
  ``configuration_endpoint``, ``status_endpoint``, ``verification_endpoint``,
  ``authorization_schemes``, ``default_subjects``. A receiver MUST check that ``issuer`` equals
  the issuer it used to build the URL (:meth:`TransmitterMetadata.from_json`).
- **Streams** (SSF §"Stream Configuration", §"Management API"): the receiver ``POST``s
  ``delivery`` and ``events_requested`` to the configuration endpoint; the transmitter answers
  ``201`` with the whole configuration: ``stream_id``, ``iss``, ``aud`` (transmitter-supplied),
  ``events_supported``, ``events_requested``, ``events_delivered`` (= requested ∩ supported),
  ``delivery``; ``409`` when the receiver already has a stream. Status (``enabled`` | ``paused`` |
  ``disabled``) at the status endpoint; ``POST`` to the verification endpoint makes the transmitter
  send a ``verification`` event echoing ``state``.
- **Push delivery** (RFC 8935 §2): ``POST`` to the stream's ``endpoint_url`` with
  ``Content-Type: application/secevent+jwt``, ``Accept: application/json``, the stream's
  ``authorization_header`` and one compact SET as the body. The receiver answers ``202`` (§2.2) or
  ``400`` with ``{"err", "description"}`` (§2.3, §2.4). :func:`classify_push_response` tells the
  transmitter whether the SET was delivered, refused for good, or should be retried with backoff
  (5xx, 429, unreachable).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import attrs

from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.security_event import ERROR_CODES, INVALID_REQUEST, SET_MEDIA_TYPE, SetRejected

SPEC_VERSION = "1_0"
WELL_KNOWN = "/.well-known/ssf-configuration"
PUSH_METHOD = "urn:ietf:rfc:8935"
BEARER_SCHEME = "urn:ietf:rfc:6750"
VERIFICATION = "https://schemas.openid.net/secevent/ssf/event-type/verification"
STREAM_STATUSES = ("enabled", "paused", "disabled")
MAX_EVENTS_REQUESTED = 32


class MetadataRejected(ValueError):
    """A transmitter configuration document the receiver must not use."""


class StreamRequestInvalid(ValueError):
    """A stream management request that cannot be accepted (the transmitter answers ``400``)."""


def configuration_url(issuer: str) -> str:
    """SSF §"Obtaining Transmitter Configuration Information": the well-known path goes between the
    host and the issuer's path (``https://t.example/tenant`` →
    ``https://t.example/.well-known/ssf-configuration/tenant``)."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, WELL_KNOWN + path, "", ""))


def _absolute(value: Any, name: str) -> str:
    if not isinstance(value, str) or urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc:
        raise MetadataRejected(f"{name} must be an absolute http(s) URL")
    return value


@attrs.frozen(kw_only=True)
class TransmitterMetadata:
    """The transmitter's configuration document."""

    issuer: str
    jwks_uri: str
    configuration_endpoint: str
    status_endpoint: str
    verification_endpoint: str
    delivery_methods_supported: tuple[str, ...] = (PUSH_METHOD,)
    spec_version: str = SPEC_VERSION
    default_subjects: str = "NONE"

    @classmethod
    def for_issuer(cls, issuer: str, *, streams_path: str = "/ssf/streams") -> TransmitterMetadata:
        base = issuer.rstrip("/")
        return cls(issuer=issuer, jwks_uri=base + "/jwks", configuration_endpoint=base + streams_path,
                   status_endpoint=base + streams_path + "/status",
                   verification_endpoint=base + streams_path + "/verify")

    def to_json(self) -> dict[str, Any]:
        return {"spec_version": self.spec_version, "issuer": self.issuer, "jwks_uri": self.jwks_uri,
                "delivery_methods_supported": list(self.delivery_methods_supported),
                "configuration_endpoint": self.configuration_endpoint, "status_endpoint": self.status_endpoint,
                "verification_endpoint": self.verification_endpoint,
                "authorization_schemes": [{"spec_urn": BEARER_SCHEME}], "default_subjects": self.default_subjects}

    @classmethod
    def from_json(cls, document: Any, *, expected_issuer: str) -> TransmitterMetadata:
        """Parse a configuration document; ``issuer`` must equal ``expected_issuer`` exactly."""
        if not isinstance(document, Mapping):
            raise MetadataRejected("the configuration is not a JSON object")
        if document.get("issuer") != expected_issuer:
            raise MetadataRejected("issuer does not match the issuer the configuration was fetched for")
        version = document.get("spec_version")
        if not isinstance(version, str) or version < SPEC_VERSION:
            raise MetadataRejected("spec_version must be 1_0 or later (SSF interoperability profile)")
        methods = document.get("delivery_methods_supported")
        if not isinstance(methods, list) or PUSH_METHOD not in methods:
            raise MetadataRejected("the transmitter does not offer RFC 8935 push delivery")
        return cls(issuer=expected_issuer, jwks_uri=_absolute(document.get("jwks_uri"), "jwks_uri"),
                   configuration_endpoint=_absolute(document.get("configuration_endpoint"), "configuration_endpoint"),
                   status_endpoint=_absolute(document.get("status_endpoint"), "status_endpoint"),
                   verification_endpoint=_absolute(document.get("verification_endpoint"), "verification_endpoint"),
                   delivery_methods_supported=tuple(m for m in methods if isinstance(m, str)),
                   spec_version=version, default_subjects=str(document.get("default_subjects", "NONE")))


@attrs.frozen(kw_only=True)
class Delivery:
    """A stream's delivery: RFC 8935 push to ``endpoint_url`` with ``authorization_header``."""

    endpoint_url: str
    authorization_header: str | None = attrs.field(default=None, repr=False)
    method: str = PUSH_METHOD

    def to_json(self, *, include_secret: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {"method": self.method, "endpoint_url": self.endpoint_url}
        if include_secret and self.authorization_header is not None:
            body["authorization_header"] = self.authorization_header
        return body


@attrs.frozen(kw_only=True)
class StreamRequest:
    """What a receiver asks for when it creates a stream (receiver-supplied properties)."""

    delivery: Delivery
    events_requested: tuple[str, ...]
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        body = {"delivery": self.delivery.to_json(), "events_requested": list(self.events_requested)}
        if self.description:
            body["description"] = self.description
        return body

    @classmethod
    def from_json(cls, body: Any) -> StreamRequest:
        if not isinstance(body, Mapping):
            raise StreamRequestInvalid("the stream configuration must be a JSON object")
        for transmitter_supplied in ("stream_id", "iss", "aud", "events_supported", "events_delivered"):
            if transmitter_supplied in body:
                raise StreamRequestInvalid(f"{transmitter_supplied} is supplied by the transmitter")
        delivery = body.get("delivery")
        if not isinstance(delivery, Mapping):
            raise StreamRequestInvalid("delivery is required")
        if delivery.get("method") != PUSH_METHOD:
            raise StreamRequestInvalid(f"delivery.method must be {PUSH_METHOD} (push)")
        endpoint = delivery.get("endpoint_url")
        try:
            _absolute(endpoint, "delivery.endpoint_url")
        except MetadataRejected as error:
            raise StreamRequestInvalid(str(error)) from None
        header = delivery.get("authorization_header")
        if header is not None and (not isinstance(header, str) or not header or len(header) > 1024):
            raise StreamRequestInvalid("delivery.authorization_header must be a non-empty string")
        requested = body.get("events_requested", [])
        if (not isinstance(requested, list) or len(requested) > MAX_EVENTS_REQUESTED
                or not all(isinstance(e, str) and e for e in requested)):
            raise StreamRequestInvalid("events_requested must be an array of event-type URIs")
        description = body.get("description", "")
        if not isinstance(description, str) or len(description) > 500:
            raise StreamRequestInvalid("description must be a string of at most 500 characters")
        return cls(delivery=Delivery(endpoint_url=endpoint, authorization_header=header),
                   events_requested=tuple(dict.fromkeys(requested)), description=description)


@attrs.frozen(kw_only=True)
class StreamConfiguration:
    """A stream as the transmitter keeps it (SSF §"Stream Configuration")."""

    stream_id: str
    issuer: str
    audience: str
    events_supported: tuple[str, ...]
    events_requested: tuple[str, ...]
    delivery: Delivery
    description: str = ""
    status: str = "enabled"
    owner: str = ""
    """The authenticated receiver that created the stream (not part of the wire form)."""

    @property
    def events_delivered(self) -> tuple[str, ...]:
        """Requested ∩ supported, in request order (SSF: what the transmitter will actually send)."""
        return tuple(e for e in self.events_requested if e in self.events_supported)

    def delivers(self, event_type: str) -> bool:
        return self.status == "enabled" and event_type in self.events_delivered

    def to_json(self) -> dict[str, Any]:
        body = {"stream_id": self.stream_id, "iss": self.issuer, "aud": self.audience,
                "events_supported": list(self.events_supported), "events_requested": list(self.events_requested),
                "events_delivered": list(self.events_delivered),
                "delivery": self.delivery.to_json(include_secret=False)}
        if self.description:
            body["description"] = self.description
        return body

    @classmethod
    def create(cls, request: StreamRequest, *, stream_id: str, issuer: str, audience: str,
               events_supported: Iterable[str], owner: str) -> StreamConfiguration:
        return cls(stream_id=stream_id, issuer=issuer, audience=audience, events_supported=tuple(events_supported),
                   events_requested=request.events_requested, delivery=request.delivery,
                   description=request.description, owner=owner)


def parse_status_update(body: Any) -> tuple[str, str, str]:
    """``POST status_endpoint`` body → (stream_id, status, reason) (SSF §"Updating a Stream's Status")."""
    if not isinstance(body, Mapping):
        raise StreamRequestInvalid("the body must be a JSON object")
    stream_id, status, reason = body.get("stream_id"), body.get("status"), body.get("reason", "")
    if not isinstance(stream_id, str) or not stream_id:
        raise StreamRequestInvalid("stream_id is required")
    if status not in STREAM_STATUSES:
        raise StreamRequestInvalid(f"status must be one of {', '.join(STREAM_STATUSES)}")
    if not isinstance(reason, str):
        raise StreamRequestInvalid("reason must be a string")
    return stream_id, status, reason


def parse_verification_request(body: Any) -> tuple[str, str | None]:
    """``POST verification_endpoint`` body → (stream_id, state) (SSF §"Verification")."""
    if not isinstance(body, Mapping):
        raise StreamRequestInvalid("the body must be a JSON object")
    stream_id, state = body.get("stream_id"), body.get("state")
    if not isinstance(stream_id, str) or not stream_id:
        raise StreamRequestInvalid("stream_id is required")
    if state is not None and (not isinstance(state, str) or len(state) > 256):
        raise StreamRequestInvalid("state must be a string")
    return stream_id, state


def check_verification(payload: Mapping[str, Any]) -> None:
    """SSF verification event: an optional string ``state``."""
    state = payload.get("state")
    if state is not None and not isinstance(state, str):
        raise ValueError("state must be a string")


# ---------------------------------------------------------------------- RFC 8935 push delivery

def push_request(*, endpoint_url: str, token: str, authorization_header: str | None) -> HttpRequest:
    """RFC 8935 §2.1: one SET in the body of a POST."""
    headers = {"content-type": SET_MEDIA_TYPE, "accept": "application/json"}
    if authorization_header:
        headers["authorization"] = authorization_header
    return HttpRequest(method="POST", url=endpoint_url, headers=headers, body=token.encode("ascii"))


def read_push_request(request: HttpRequest) -> str:
    """The compact SET in a push request; ``SetRejected(invalid_request)`` if it is not one (§2.1)."""
    content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
    if content_type != SET_MEDIA_TYPE:
        raise SetRejected(INVALID_REQUEST, f"the body must be {SET_MEDIA_TYPE}")
    try:
        token = request.body.decode("ascii").strip()
    except UnicodeDecodeError:
        raise SetRejected(INVALID_REQUEST, "the body is not a compact JWS") from None
    if not token or token.count(".") != 2:
        raise SetRejected(INVALID_REQUEST, "the body is not a compact JWS")
    return token


def push_accepted() -> HttpResponse:
    """RFC 8935 §2.2: ``202 Accepted``, no body."""
    return HttpResponse(status=202)


def push_error(error: SetRejected) -> HttpResponse:
    """RFC 8935 §2.3: ``400`` with ``{"err", "description"}``."""
    return HttpResponse.json_body({"err": error.err, "description": error.description}, status=400)


class PushVerdict(enum.Enum):
    DELIVERED = "delivered"
    REJECTED = "rejected"
    RETRY = "retry"


@attrs.frozen(kw_only=True)
class PushOutcome:
    verdict: PushVerdict
    status: int
    err: str = ""
    description: str = ""


def classify_push_response(response: HttpResponse) -> PushOutcome:
    """What the transmitter makes of a receiver's answer (RFC 8935 §2.2–§2.4): ``202`` delivered;
    ``5xx``/``429`` retry later; any other status refused for good, with the ``err`` if given."""
    if response.status == 202:
        return PushOutcome(verdict=PushVerdict.DELIVERED, status=202)
    if response.status >= 500 or response.status == 429:
        return PushOutcome(verdict=PushVerdict.RETRY, status=response.status)
    err, description = "", ""
    try:
        body = response.json()
    except MalformedBody:
        body = None
    if isinstance(body, Mapping):
        err = body.get("err") if body.get("err") in ERROR_CODES else ""
        description = str(body.get("description", ""))[:200]
    return PushOutcome(verdict=PushVerdict.REJECTED, status=response.status, err=err, description=description)
