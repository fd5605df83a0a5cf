"""The shell of a "traditional" enterprise system (issue 11, the whitepaper's "without a unified
platform" column): what an in-house API looks like when every application does its own security.

- **Static API keys** held in a table (``X-Api-Key``); a key is created once and never rotated or
  expired; every key has every right (no scopes).
- **App-level user checks only**: the caller says on whose behalf it acts in ``X-On-Behalf-Of``
  and the application believes it (no token proves it).
- **Its own log**: every request goes into this system's own log (``log``), in its own format — not
  into the platform's hash-chained audit log. Nobody correlates the systems' logs.
- No behavioural detection, no rate limit, no revocation push.

These actors answer the same HTTP-shaped messages over both transports (``actors.runtime.network``).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs

from actors.runtime.actor import HttpActor
from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.oauth.errors import MethodNotAllowed, NotFound

KEY_HEADER = "x-api-key"
USER_HEADER = "x-on-behalf-of"


@attrs.frozen(kw_only=True)
class ApiKey:
    """One row of a system's key table: the label admins see, who it was issued to, and when."""

    label: str
    issued_to: str
    created_at: int


@attrs.frozen(kw_only=True)
class LegacyLogLine:
    """One line of a system's own log: time, who (key label or login), what, the status, records."""

    time: int
    system: str
    principal: str
    method: str
    path: str
    status: int
    records: int = 0
    note: str = ""

    def text(self) -> str:
        """The line as the system writes it to its log file (its own, plain format)."""
        note = f" {self.note}" if self.note else ""
        return (f"{self.time} {self.system} principal={self.principal or '-'} {self.method} {self.path} "
                f"{self.status} records={self.records}{note}")


@attrs.frozen(kw_only=True)
class Caller:
    """Who a request says it comes from: the key's label (or a login) and the claimed user."""

    principal: str
    on_behalf_of: str | None


@attrs.frozen(kw_only=True)
class Reply:
    """A handler's answer and how many records it handed out."""

    body: Any
    status: int = 200
    records: int = 0
    note: str = ""


LegacyHandler = Callable[[Caller, HttpRequest, Mapping[str, str]], Awaitable[Reply]]
Authenticator = Callable[[HttpRequest], "Caller | None"]


@attrs.frozen(kw_only=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: LegacyHandler = attrs.field(eq=False)
    public: bool = False


def _compile(path: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[a-z_]+\})", path)
    return re.compile("^" + "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p)
                                    for p in parts) + "$")


@attrs.define(eq=False)
class LegacyApp(HttpActor):
    """A system with a static key table, app-level checks and its own log."""

    system: str = ""
    keys: dict[str, ApiKey] = attrs.field(factory=dict, repr=False)
    """Key value → its row. Never rotated: the table only grows."""
    log_lines: list[LegacyLogLine] = attrs.field(factory=list)
    extra_auth: list[Authenticator] = attrs.field(factory=list)
    """Other ways this application accepts callers (custom bearer-token code)."""
    _legacy_routes: list[_Route] = attrs.field(factory=list, init=False)

    def add_key(self, *, value: str, label: str, issued_to: str) -> None:
        """Create a key (the secret itself is registered for redaction, never logged)."""
        self.runtime.secrets.add(value)
        self.keys[value] = ApiKey(label=label, issued_to=issued_to, created_at=self.runtime.clock.now())

    def legacy_route(self, method: str, path: str, handler: LegacyHandler, *, public: bool = False) -> None:
        self._legacy_routes.append(_Route(method=method.upper(), pattern=_compile(path), handler=handler,
                                          public=public))

    def authenticate(self, request: HttpRequest) -> Caller | None:
        """The application's own check: a known key, else any extra authenticator; ``None``: nobody."""
        key = request.header(KEY_HEADER)
        user = request.header(USER_HEADER)
        if key is not None and key in self.keys:
            return Caller(principal=self.keys[key].label, on_behalf_of=user)
        for check in self.extra_auth:
            caller = check(request)
            if caller is not None:
                return caller
        return None

    def _match(self, request: HttpRequest) -> tuple[_Route, dict[str, str]]:
        methods = []
        for route in self._legacy_routes:
            found = route.pattern.match(request.path)
            if found is None:
                continue
            if route.method == request.method.upper():
                return route, found.groupdict()
            methods.append(route.method)
        if methods:
            raise MethodNotAllowed(f"{request.method} is not allowed on {request.path}")
        raise NotFound(f"no endpoint at {request.path}")

    async def handle(self, request: HttpRequest) -> HttpResponse:
        route, params = self._match(request)
        caller = self.authenticate(request)
        if caller is None and not route.public:
            reply = Reply(body={"error": "unauthorized"}, status=401)
        else:
            try:
                reply = await route.handler(caller or Caller(principal="", on_behalf_of=None), request, params)
            except MalformedBody as error:
                reply = Reply(body={"error": "bad_request", "message": str(error)}, status=400)
        self.log_lines.append(LegacyLogLine(
            time=self.runtime.clock.now(), system=self.system or self.name, principal=caller.principal if caller else "",
            method=request.method.upper(), path=request.path, status=reply.status, records=reply.records,
            note=reply.note))
        return HttpResponse.json_body(reply.body, status=reply.status)


def json_object(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON object body (``MalformedBody`` otherwise)."""
    body = request.json()
    if not isinstance(body, dict):
        raise MalformedBody("the body must be a JSON object")
    return body
