"""Actor base (DESIGN.md §3): one object owning its state, a mailbox served by its own task.

``Actor.run`` is started with ``await nursery.start(actor.run)`` and serves the mailbox one message at a
time, so an actor's state changes in a deterministic order. ``ask`` puts a message and a reply
channel into the mailbox and waits for the answer. ``HttpActor`` adds routing of HTTP-shaped
messages and the one seam where internal errors become protocol errors.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TYPE_CHECKING

import attrs
import structlog
import trio

from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.oauth.errors import InvalidRequest, MethodNotAllowed, NotFound, OAuthError, ServerError

if TYPE_CHECKING:
    from actors.runtime.context import Runtime

MAILBOX_SIZE = 64
Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]
Interceptor = Callable[[HttpRequest], Awaitable["HttpResponse | None"]]
"""A mounted component's look at a request before the actor's own ``handle``: a response to answer
(or refuse) it, or ``None`` to pass it on."""


@attrs.define(eq=False)
class Actor:
    """Base actor: ``name``, the run's ``runtime`` and a mailbox served by ``run``."""

    name: str
    runtime: Runtime
    _inbox: trio.MemorySendChannel = attrs.field(init=False)
    _mailbox: trio.MemoryReceiveChannel = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._inbox, self._mailbox = trio.open_memory_channel(MAILBOX_SIZE)

    @property
    def log(self) -> structlog.stdlib.BoundLogger:
        return structlog.get_logger().bind(actor=self.name)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        async with self._mailbox:
            async for message, reply in self._mailbox:
                result = await self.on_message(message)
                await reply.send(result)

    async def ask(self, message: Any) -> Any:
        """Deliver ``message`` to this actor's mailbox and wait for its reply."""
        reply_send, reply_receive = trio.open_memory_channel(1)
        await self._inbox.send((message, reply_send))
        async with reply_receive:
            return await reply_receive.receive()

    async def on_message(self, message: Any) -> Any:
        raise NotImplementedError

    async def audit(self, event: str, **fields: Any) -> None:
        """Log one event and record it in the audit log (redaction happens in both sinks)."""
        self.log.info(event, **{k: v for k, v in fields.items() if v is not None})
        await self.runtime.audit.record(actor=self.name, event=event, **fields)


@attrs.define(eq=False)
class HttpActor(Actor):
    """An actor reachable at ``base_url`` that answers HTTP-shaped requests through ``routes``."""

    base_url: str = ""
    _routes: dict[tuple[str, str], Handler] = attrs.field(factory=dict, init=False)
    _interceptors: list[Interceptor] = attrs.field(factory=list, init=False)

    def route(self, method: str, path: str, handler: Handler) -> None:
        self._routes[(method.upper(), path)] = handler

    def intercept(self, interceptor: Interceptor) -> None:
        """Mount a component (an SSF receiver, a GTR endpoint) in front of ``handle``, whatever
        dispatcher the subclass has; it runs in this actor's task, so it may change this actor's state."""
        self._interceptors.append(interceptor)

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    async def on_message(self, message: HttpRequest) -> HttpResponse:
        for interceptor in self._interceptors:
            try:
                response = await interceptor(message)
            except Exception as error:  # noqa: BLE001 - same seam as dispatch: never a traceback
                self.log.error("request.failed", path=message.path, error_type=type(error).__name__)
                return ServerError("the server could not process the request").to_response()
            if response is not None:
                return response
        return await self.dispatch(message)

    async def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer ``request`` through the routes; subclasses with their own dispatcher override this."""
        handler = self._routes.get((request.method.upper(), request.path))
        if handler is None:
            if any(path == request.path for _, path in self._routes):
                raise MethodNotAllowed(f"{request.method} is not allowed on {request.path}")
            raise NotFound(f"no endpoint at {request.path}")
        return await handler(request)

    async def dispatch(self, request: HttpRequest) -> HttpResponse:
        """The actor's single error seam: protocol errors become responses, never tracebacks."""
        try:
            return await self.handle(request)
        except OAuthError as error:
            return error.to_response()
        except MalformedBody as error:
            return InvalidRequest(str(error)).to_response()
        except Exception as error:  # noqa: BLE001 - the seam: log (redacted) and answer 500
            self.log.error("request.failed", path=request.path, error_type=type(error).__name__)
            return ServerError("the server could not process the request").to_response()
