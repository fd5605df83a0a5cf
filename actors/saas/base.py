"""The shell shared by the simulated SaaS providers: an OAuth 2.0 authorization server
(``protocols.oauth.authorization_server``) and REST APIs protected by its tokens.

Requests to the authorization server's paths go to the sans-IO core; every other request is
matched against the provider's API routes (``/drive/v3/files/{file_id}``), its bearer token
validated for the route's API (RFC 6750 §2.1, RFC 9068 §4 — audience = that API's resource
identifier) and its scope checked (RFC 6750 §3.1) before the handler runs. Every API call, allowed
or refused, goes into the provider's own API log (and every authorization-server event into its
authentication log) (what the provider's admins and the discovery
service read later) and into the platform audit log (``api.called`` / ``api.denied``).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs

from actors.runtime.actor import HttpActor
from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.access_token import challenge, require_any_scope
from protocols.oauth.authorization_server import AuthorizationServer
from protocols.oauth.errors import InsufficientScope, InvalidRequest, InvalidToken, MethodNotAllowed, NotFound, OAuthError
from protocols.oauth.outcome import Outcome
from protocols.oidc.userinfo import AccessTokenClaims, MissingBearerToken

QUIET_EVENTS = frozenset({"metadata.served", "jwks.served"})


@attrs.frozen(kw_only=True)
class Caller:
    """Who makes an API call: the token's subject (a user or a service account) and client."""

    subject: str
    client_id: str
    scope: tuple[str, ...]
    jti: str
    service_account: bool
    granted_by: str
    """The scope of the token that authorized this call."""


@attrs.frozen(kw_only=True)
class ApiReply:
    """A handler's answer: the JSON body (or raw bytes) and how many records it returned."""

    body: Any = None
    raw: bytes | None = None
    content_type: str = "application/json"
    status: int = 200
    records: int = 0


@attrs.frozen(kw_only=True)
class ApiLogEntry:
    """One line of the provider's API log (kept by the provider, read by admins and discovery)."""

    time: int
    client_id: str | None
    subject: str | None
    service_account: bool
    method: str
    path: str
    status: int
    scope: str
    records: int
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen(kw_only=True)
class AuthLogEntry:
    """One authorization-server event as the provider keeps it (logins, consents, token grants)."""

    time: int
    event: str
    client_id: str | None
    subject: str | None
    decision: str
    reason: str
    grant_type: str = ""
    scope: str = ""

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


ApiHandler = Callable[[Caller, HttpRequest, Mapping[str, str]], Awaitable[ApiReply]]


@attrs.frozen(kw_only=True)
class _ApiRoute:
    method: str
    pattern: re.Pattern[str]
    api: str
    scopes: tuple[str, ...]
    handler: ApiHandler = attrs.field(eq=False)


def _compile(path: str) -> re.Pattern[str]:
    """``/files/{file_id}`` → a regex with named groups (path segments only)."""
    parts = re.split(r"(\{[a-z_]+\})", path)
    regex = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{regex}$")


@attrs.define(eq=False)
class SaasProvider(HttpActor):
    """``server`` is the provider's authorization server; ``api_log`` its own record of API calls."""

    server: AuthorizationServer | None = None
    display_name: str = ""
    api_log: list[ApiLogEntry] = attrs.field(factory=list)
    auth_log: list[AuthLogEntry] = attrs.field(factory=list)
    _api_routes: list[_ApiRoute] = attrs.field(factory=list, init=False)

    def api_route(self, method: str, path: str, handler: ApiHandler, *, api: str, scopes: tuple[str, ...]) -> None:
        """Serve ``method path`` for the API whose resource identifier is ``url(api)``; a token
        holding any of ``scopes`` may call it."""
        self._api_routes.append(_ApiRoute(method=method.upper(), pattern=_compile(path), api=api, scopes=scopes,
                                          handler=handler))

    def resource_uri(self, api: str) -> str:
        return self.url(api)

    async def record(self, outcome: Outcome) -> None:
        self.runtime.secrets.add_all(outcome.secrets)
        if outcome.event in QUIET_EVENTS:
            return
        self.auth_log.append(AuthLogEntry(
            time=self.runtime.clock.now(), event=outcome.event, client_id=outcome.client_id, subject=outcome.subject,
            decision=outcome.decision.value, reason=outcome.reason, grant_type=str(outcome.details.get("grant_type", "")),
            scope=str(outcome.details.get("scope", ""))))
        await self.audit(outcome.event, agent=outcome.client_id, subject=outcome.subject,
                         decision=outcome.decision.value, reason=outcome.reason or None, **dict(outcome.details))

    async def handle(self, request: HttpRequest) -> HttpResponse:
        assert self.server is not None
        if self.server.handles(request.path):
            handled = self.server.handle(request, now=self.runtime.clock.now())
            await self.record(handled.outcome)
            return handled.response
        return await self._api(request)

    def _match(self, request: HttpRequest) -> tuple[_ApiRoute, dict[str, str]]:
        allowed = []
        for route in self._api_routes:
            found = route.pattern.match(request.path)
            if found is None:
                continue
            if route.method == request.method.upper():
                return route, found.groupdict()
            allowed.append(route.method)
        if allowed:
            raise MethodNotAllowed(f"{request.method} is not allowed on {request.path}")
        raise NotFound(f"no endpoint at {request.path}")

    async def _api(self, request: HttpRequest) -> HttpResponse:
        assert self.server is not None
        now = self.runtime.clock.now()
        route, params = self._match(request)
        realm = self.resource_uri(route.api)
        claims: AccessTokenClaims | None = None
        try:
            claims = self.server.authenticate_api(request, resource=realm, now=now)
            granted_by = require_any_scope(claims, route.scopes)
            caller = Caller(subject=claims.subject, client_id=claims.client_id, scope=claims.scope, jti=claims.jti,
                            service_account=self.server.user(claims.subject) is None, granted_by=granted_by)
            try:
                reply = await route.handler(caller, request, params)
            except MalformedBody as exc:
                raise InvalidRequest(str(exc)) from None
        except MissingBearerToken:
            return await self._log_refusal(request, claims, challenge(realm=realm), "missing_token", now=now)
        except InsufficientScope as exc:
            response = challenge(realm=realm, error=exc, scope=" ".join(route.scopes))
            return await self._log_refusal(request, claims, response, exc.error, now=now)
        except (InvalidToken, InvalidRequest) as exc:
            response = challenge(realm=realm, error=exc) if isinstance(exc, InvalidToken) else exc.to_response()
            return await self._log_refusal(request, claims, response, exc.error, now=now)
        except OAuthError as exc:
            return await self._log_refusal(request, claims, exc.to_response(), exc.error, now=now)
        self.api_log.append(ApiLogEntry(time=now, client_id=caller.client_id, subject=caller.subject,
                                        service_account=caller.service_account, method=request.method,
                                        path=request.path, status=reply.status, scope=granted_by,
                                        records=reply.records))
        await self.audit("api.called", agent=caller.client_id, subject=caller.subject, decision="allow",
                         reason=f"{request.method} {request.path}", scope=granted_by, jti=caller.jti,
                         records=reply.records, status=reply.status)
        if reply.raw is not None:
            return HttpResponse(status=reply.status, headers={"content-type": reply.content_type}, body=reply.raw)
        return HttpResponse.json_body(reply.body, status=reply.status)

    async def _log_refusal(self, request: HttpRequest, claims: AccessTokenClaims | None, response: HttpResponse,
                           error: str, *, now: int) -> HttpResponse:
        subject = claims.subject if claims else None
        client_id = claims.client_id if claims else None
        self.api_log.append(ApiLogEntry(time=now, client_id=client_id, subject=subject,
                                        service_account=bool(claims) and self.server.user(subject or "") is None,
                                        method=request.method, path=request.path, status=response.status, scope="",
                                        records=0, error=error))
        verified = {"jti": claims.jti} if claims else {}  # a verified token: the refusal joins its lineage
        await self.audit("api.denied", agent=client_id, subject=subject, decision="deny", reason=error,
                         method=request.method, path=request.path, status=response.status, **verified)
        return response


def json_object(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON body, which must be an object (``MalformedBody`` otherwise)."""
    body = request.json()
    if not isinstance(body, dict):
        raise MalformedBody("the body must be a JSON object")
    return body


def text_field(body: Mapping[str, Any], name: str, *, required: bool = True, default: str = "") -> str:
    value = body.get(name, None)
    if value is None:
        if required:
            raise InvalidRequest(f"{name} is required")
        return default
    if not isinstance(value, str):
        raise InvalidRequest(f"{name} must be a string")
    return value
