"""Calling an ASGI application in-process with an ``HttpRequest`` (the reverse of ``asgi.AsgiBridge``).

The MCP servers are the official SDK's Starlette apps; their actor hands each request from its
mailbox to the app here and collects the response — no sockets, whatever transport carried the
request (DESIGN.md §3). The scope is built from the request's own URL (scheme, host, port, path,
query) and headers; the body is delivered in one ``http.request`` message, after which ``receive``
reports ``http.disconnect`` once the response is complete. Only complete responses are supported:
a response that is still streaming when the app returns is cut there (the MCP servers run in JSON
response mode and refuse the SSE paths before they reach the app).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import trio

from protocols.http import HttpRequest, HttpResponse

_DEFAULT_PORTS = {"http": 80, "https": 443}
DROPPED_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})
"""Hop-by-hop or framing headers that the transports recompute."""


def _scope(request: HttpRequest) -> dict[str, Any]:
    parts = urlsplit(request.url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    port = parts.port or _DEFAULT_PORTS.get(scheme, 80)
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in request.headers]
    if not any(name == b"host" for name, _ in headers):
        headers.insert(0, (b"host", parts.netloc.encode("latin-1")))
    if request.body and not any(name == b"content-length" for name, _ in headers):
        headers.append((b"content-length", str(len(request.body)).encode()))
    path = parts.path or "/"
    return {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
        "method": request.method.upper(), "scheme": scheme, "path": path, "raw_path": path.encode("latin-1"),
        "query_string": parts.query.encode("latin-1"), "root_path": "", "headers": headers,
        "server": (host, port), "client": ("127.0.0.1", 0), "state": {},
    }


async def call_asgi(app: Any, request: HttpRequest) -> HttpResponse:
    """Run ``app`` for ``request`` and return its complete response."""
    delivered = False
    finished = trio.Event()
    status = 500
    headers: list[tuple[str, str]] = []
    body = bytearray()

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": request.body, "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            headers.extend((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in message.get("headers", ()))
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))
            if not message.get("more_body", False):
                finished.set()

    try:
        await app(_scope(request), receive, send)
    finally:
        finished.set()
    kept = tuple((k, v) for k, v in headers if k not in DROPPED_HEADERS)
    return HttpResponse(status=status, headers=kept, body=bytes(body))
