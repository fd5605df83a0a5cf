"""ASGI bridge: real HTTP requests into an actor's mailbox as ``HttpRequest`` messages.

Used by the HTTP transport (hypercorn's trio worker). The request URL is rebuilt from the actor's
own base URL (never from the ``Host`` header); bodies larger than ``MAX_BODY_BYTES`` are cut at the
limit plus one byte so the handler refuses them with ``invalid_request`` instead of buffering them.
With a ``network`` (simulated time), the bridge tells it when a tracked request has been read and
when its answer goes back on the wire (``TRANSIT_HEADER``, stripped here).
"""

from __future__ import annotations

from typing import Any, TYPE_CHECKING

import attrs

from protocols.http import MAX_BODY_BYTES, HttpRequest

if TYPE_CHECKING:
    from actors.runtime.actor import HttpActor
    from actors.runtime.network import Network

TRANSIT_HEADER = "x-trustbench-transit"
"""Pairs a simulated-time request with its arrival at the server (see ``network``); never reaches a handler."""
_TRANSIT = TRANSIT_HEADER.encode()


@attrs.define(eq=False)
class AsgiBridge:
    actor: HttpActor
    network: Network | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > MAX_BODY_BYTES or not message.get("more_body", False):
                break
        path = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        query = scope.get("query_string", b"").decode("latin-1")
        url = self.actor.base_url.rstrip("/") + path + (f"?{query}" if query else "")
        transit = next((v.decode("latin-1") for k, v in scope["headers"] if k.lower() == _TRANSIT), None)
        headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]
                        if k.lower() != _TRANSIT)
        request = HttpRequest(method=scope["method"], url=url, headers=headers, body=bytes(body[: MAX_BODY_BYTES + 1]))
        if self.network is not None:
            self.network.arrived(transit)
        try:
            response = await self.actor.ask(request)
        finally:
            if self.network is not None:  # whatever happens, an answer (perhaps hypercorn's 500) goes out now
                self.network.departing(transit)
        reply_headers = [(k.encode(), v.encode()) for k, v in response.headers]
        if (scope["method"] != "HEAD" and response.status not in (204, 304)
                and not any(k.lower() in (b"content-length", b"transfer-encoding") for k, _ in reply_headers)):
            reply_headers.append((b"content-length", str(len(response.body)).encode()))  # no chunked framing
        await send({"type": "http.response.start", "status": response.status, "headers": reply_headers})
        await send({"type": "http.response.body", "body": response.body})
