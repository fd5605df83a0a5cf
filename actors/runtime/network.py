"""The network (DESIGN.md §3): the same HTTP-shaped messages over two transports.

- ``channel``: a request is put into the target actor's mailbox (addressed by URL origin); no
  sockets, deterministic delivery order.
- ``http``: every actor listens on its own 127.0.0.1 port (hypercorn's trio worker); requests go
  through one ``httpx.AsyncClient``, so base URLs and issuers are real ``http://127.0.0.1:PORT``
  addresses that outside clients can use.

Simulated time over real sockets: the clock may only jump when nothing can happen before the next
deadline. A task waiting for bytes that are already on their way looks exactly like a task waiting
for a timer, so the network keeps count of what is *on the wire* (a request sent and not yet read
by the server's ASGI bridge, or a response the bridge is sending that the client has not read in
full) and owns the ``MockClock``'s autojump threshold while it serves: ``0`` when nothing is on the
wire (jump at once, as the channel transport does), ``WIRE_GRACE`` real seconds while something is.
Requests are paired across the socket by the ``TRANSIT_HEADER``, which the bridge strips, so
handlers see the same headers as over the channel transport. One network serves per clock at a
time (two would overwrite each other's threshold).
"""

from __future__ import annotations

import enum
import functools
import itertools
import math
import socket
from http.cookiejar import DefaultCookiePolicy
from urllib.parse import urlsplit

import attrs
import httpx
import trio
import trio.testing
from hypercorn.config import Config, Sockets
from hypercorn.trio.run import worker_serve
from hypercorn.utils import wrap_app

from actors.runtime.actor import HttpActor
from actors.runtime.asgi import TRANSIT_HEADER, AsgiBridge
from protocols.http import MAX_BODY_BYTES, HttpRequest, HttpResponse

CHANNEL_DOMAIN = "trustbench.test"
SIMULATED_IDLE_LIMIT = 10**9
WIRE_GRACE = 5.0
"""Real seconds without any I/O after which the clock jumps even though a request is on the wire
(a safety net: loopback delivers in microseconds; only a request nobody will ever read waits this long)."""


class Transport(enum.Enum):
    CHANNEL = "channel"
    HTTP = "http"


class Unreachable(ConnectionError):
    """No actor answers at this origin (channel), or the connection failed (HTTP)."""


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


@attrs.define(eq=False)
class Network:
    """Address book and carrier: assigns base URLs, delivers requests, serves actors over HTTP."""

    transport: Transport
    simulated_time: bool = True
    _actors: dict[str, HttpActor] = attrs.field(factory=dict, init=False)
    _sockets: dict[str, socket.socket] = attrs.field(factory=dict, init=False)
    _client: httpx.AsyncClient | None = attrs.field(default=None, init=False)
    _clock: trio.testing.MockClock | None = attrs.field(default=None, init=False)
    _transit: dict[str, bool] = attrs.field(factory=dict, init=False)
    """Tracked requests not yet answered: transit id -> whether bytes are on the wire right now."""
    _transit_ids: itertools.count = attrs.field(factory=lambda: itertools.count(1), init=False)

    def base_url_for(self, name: str) -> str:
        """The base URL actor ``name`` will answer at; in HTTP mode its port is bound now."""
        if self.transport is Transport.CHANNEL:
            return f"https://{name}.{CHANNEL_DOMAIN}"
        if name not in self._sockets:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", 0))
            sock.listen(128)
            sock.setblocking(False)
            self._sockets[name] = sock
        host, port = self._sockets[name].getsockname()
        return f"http://{host}:{port}"

    def register(self, actor: HttpActor) -> None:
        self._actors[_origin(actor.base_url)] = actor

    def actor_at(self, url: str) -> HttpActor | None:
        return self._actors.get(_origin(url))

    async def send(self, request: HttpRequest) -> HttpResponse:
        """Deliver ``request`` to whoever answers at its URL and return the response."""
        if self.transport is Transport.CHANNEL:
            actor = self.actor_at(request.url)
            if actor is None:
                raise Unreachable(f"no service answers at {_origin(request.url)}")
            return await actor.ask(request)
        assert self._client is not None, "serve() must run before HTTP requests are sent"
        headers = list(request.headers)
        transit = self.dispatched()
        if transit is not None:
            headers.append((TRANSIT_HEADER, transit))
        try:
            reply = await self._client.request(request.method, request.url, headers=headers, content=request.body)
        except httpx.HTTPError as error:
            raise Unreachable(f"{_origin(request.url)}: {type(error).__name__}") from None
        finally:
            self.delivered(transit)
        headers = [(k.lower(), v) for k, v in reply.headers.multi_items()
                   if k.lower() not in ("content-length", "date", "server", "transfer-encoding")]
        return HttpResponse(status=reply.status_code, headers=tuple(headers), body=reply.content)

    # What is on the wire (see the module docstring). A client calls ``dispatched`` before sending
    # (it puts the id in ``TRANSIT_HEADER``) and ``delivered`` once it has the whole response or
    # gave up; the server's bridge calls ``arrived`` once it has read the request and ``departing``
    # before it answers. Unknown ids (an outside client, a client that gave up) are ignored.

    def dispatched(self) -> str | None:
        """A new request is about to go on the wire: its transit id, or ``None`` if time is not simulated."""
        if self._clock is None:
            return None
        transit = str(next(self._transit_ids))
        self._transit[transit] = True
        self._retune()
        return transit

    def arrived(self, transit: str | None) -> None:
        if transit in self._transit:
            self._transit[transit] = False
            self._retune()

    def departing(self, transit: str | None) -> None:
        if transit in self._transit:
            self._transit[transit] = True
            self._retune()

    def delivered(self, transit: str | None) -> None:
        if self._transit.pop(transit, None) is not None:  # type: ignore[arg-type]
            self._retune()

    def _retune(self) -> None:
        if self._clock is not None:
            self._clock.autojump_threshold = WIRE_GRACE if any(self._transit.values()) else 0.0

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """HTTP mode: serve every registered actor on its socket until cancelled. Channel: no-op."""
        if self.transport is Transport.CHANNEL:
            task_status.started()
            await trio.sleep_forever()
        clock = trio.lowlevel.current_clock()
        if self.simulated_time and isinstance(clock, trio.testing.MockClock) and clock.autojump_threshold < math.inf:
            saved_threshold, self._clock = clock.autojump_threshold, clock
            self._retune()
        try:
            await self._serve_http(task_status=task_status)
        finally:
            if self._clock is not None:
                self._clock.autojump_threshold = saved_threshold
                self._clock = None
            self._transit.clear()

    async def _serve_http(self, *, task_status: trio.TaskStatus[None]) -> None:
        # Simulated time jumps while sockets wait: no client-side timeouts, they would fire early.
        # The client is shared by every actor: it must keep no cookies (a browser's session cookie
        # would otherwise be sent for everyone else's requests); browsers keep their own jars.
        async with httpx.AsyncClient(timeout=None, follow_redirects=False) as client:
            client.cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))
            self._client = client
            async with trio.open_nursery() as nursery:
                for actor in self._actors.values():
                    sock = self._sockets[actor.name]
                    config = Config()
                    config.errorlog = None
                    config.accesslog = None
                    config.h11_max_incomplete_size = MAX_BODY_BYTES
                    if self.simulated_time:  # simulated hours pass between requests: never idle-close
                        config.keep_alive_timeout = config.read_timeout = SIMULATED_IDLE_LIMIT
                    app = wrap_app(AsgiBridge(actor=actor, network=self), config.wsgi_max_body_size, "asgi")
                    sockets = Sockets(secure_sockets=[], insecure_sockets=[sock], quic_sockets=[])
                    await nursery.start(functools.partial(worker_serve, app, config, sockets=sockets))
                task_status.started()
                await trio.sleep_forever()
