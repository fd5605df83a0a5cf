"""The consumer app's redirect endpoint refuses answers that match none of its requests."""

from actors.oauth_app import CALLBACK_PATH, OAuthApp
from actors.runtime.network import Transport
from protocols.http import HttpRequest
from tests.actors.runtime.helpers import running_runtime


async def test_an_unknown_state_is_refused_and_nothing_is_granted():
    async with running_runtime(Transport.CHANNEL) as (runtime, nursery, _):
        app = OAuthApp(name="travelbot", runtime=runtime, base_url=runtime.network.base_url_for("travelbot"),
                       display_name="TravelBot", issuer="https://accounts.trustbench.test", client_id="travelbot")
        runtime.network.register(app)
        await nursery.start(app.run)
        for query in ("state=forged&code=abc&iss=https%3A%2F%2Faccounts.trustbench.test", "error=access_denied"):
            response = await runtime.network.send(HttpRequest.get(app.url(CALLBACK_PATH) + "?" + query))
            assert response.status == 400
        assert app.grants == {} and app.refusals == {}
        assert [e.reason for e in runtime.audit.store.entries()] == ["unknown state", "unknown state"]
        nursery.cancel_scope.cancel()
