import pytest
import trio

from actors.runtime.actor import HttpActor
from actors.runtime.asgi import TRANSIT_HEADER
from actors.runtime.network import WIRE_GRACE, Transport, Unreachable
from protocols.http import HttpRequest, HttpResponse
from tests.actors.runtime.helpers import running_runtime


class Echo(HttpActor):
    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.route("POST", "/echo", self.echo)
        self.route("GET", "/boom", self.boom)

    async def echo(self, request: HttpRequest) -> HttpResponse:
        form = request.form()
        await self.audit("echo.answered", decision="allow", reason="echo", size=len(form))
        return HttpResponse.json_body({"form": form, "path": request.path})

    async def boom(self, request: HttpRequest) -> HttpResponse:
        raise RuntimeError("internal detail that must not leak")


@pytest.mark.parametrize("transport", list(Transport))
async def test_same_answers_over_both_transports(transport, autojump_clock):
    async with running_runtime(transport) as (runtime, nursery, log):
        echo = Echo(name="echo", runtime=runtime, base_url=runtime.network.base_url_for("echo"))
        runtime.network.register(echo)
        await nursery.start(echo.run)
        await nursery.start(runtime.network.serve)
        net = runtime.network

        ok = await net.send(HttpRequest.form_post(url=echo.url("/echo"), params={"a": "1", "b": ""}))
        assert ok.status == 200 and ok.json() == {"form": {"a": "1"}, "path": "/echo"}

        dup = await net.send(HttpRequest(method="POST", url=echo.url("/echo"),
                                         headers={"content-type": "application/x-www-form-urlencoded"}, body=b"a=1&a=2"))
        assert (dup.status, dup.json()["error"]) == (400, "invalid_request")

        bad_utf8 = await net.send(HttpRequest(method="POST", url=echo.url("/echo"),
                                              headers={"content-type": "application/x-www-form-urlencoded"}, body=b"a=%ff\xff"))
        assert (bad_utf8.status, bad_utf8.json()["error"]) == (400, "invalid_request")

        huge = await net.send(HttpRequest(method="POST", url=echo.url("/echo"),
                                          headers={"content-type": "application/x-www-form-urlencoded"}, body=b"a=" + b"x" * 70_000))
        assert (huge.status, huge.json()["error"]) == (400, "invalid_request")

        missing = await net.send(HttpRequest.get(echo.url("/nowhere")))
        assert missing.status == 404
        wrong_method = await net.send(HttpRequest.get(echo.url("/echo")))
        assert wrong_method.status == 405
        boom = await net.send(HttpRequest.get(echo.url("/boom")))
        assert boom.status == 500 and b"internal detail" not in boom.body

        entries = runtime.audit.store.entries()
        assert [e.event for e in entries] == ["echo.answered"]
        assert "internal detail" not in log.getvalue()


async def test_unknown_origin_is_unreachable(autojump_clock):
    async with running_runtime(Transport.CHANNEL) as (runtime, _, _log):
        with pytest.raises(Unreachable):
            await runtime.network.send(HttpRequest.get("https://nobody.trustbench.test/"))


async def test_simulated_time_waits_for_the_wire_not_for_handlers(autojump_clock):
    """HTTP transport, simulated time: the network owns the autojump threshold while it serves — the
    wire grace while a request or response is on the wire, 0 while a handler waits on a timer (so the
    clock jumps at once) — strips its pairing header before handlers see a request, and gives the
    clock its own threshold back when it stops."""
    autojump_clock.autojump_threshold = 0.01
    seen = []
    async with running_runtime(Transport.HTTP) as (runtime, nursery, _log):
        net = runtime.network
        slow = HttpActor(name="slow", runtime=runtime, base_url=net.base_url_for("slow"))

        async def wait_an_hour(request: HttpRequest) -> HttpResponse:
            seen.append((dict(request.headers), autojump_clock.autojump_threshold))
            await trio.sleep(3600)
            return HttpResponse.json_body({"ok": True})

        slow.route("GET", "/slow", wait_an_hour)
        net.register(slow)
        await nursery.start(slow.run)
        async with trio.open_nursery() as serving:
            await serving.start(net.serve)
            assert autojump_clock.autojump_threshold == 0
            transit = net.dispatched()
            assert autojump_clock.autojump_threshold == WIRE_GRACE
            net.arrived(transit)
            assert autojump_clock.autojump_threshold == 0
            net.departing(transit)
            net.arrived("an id nobody sent")
            assert autojump_clock.autojump_threshold == WIRE_GRACE
            net.delivered(transit)
            assert autojump_clock.autojump_threshold == 0

            started = trio.current_time()
            response = await net.send(HttpRequest.get(slow.url("/slow")))
            assert response.status == 200 and trio.current_time() - started >= 3600
            serving.cancel_scope.cancel()
        assert autojump_clock.autojump_threshold == 0.01
    [(headers, threshold)] = seen
    assert TRANSIT_HEADER not in headers and threshold == 0
