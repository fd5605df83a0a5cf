"""JIT elevation at the governance service (issue 8, gap 3): a justified, template-bound, time-bound
grant made in the database itself, which refuses it after the expiry with nobody acting; and the
refusals (outside the template, too long, no justification, inactive or unknown agent, no token)."""

import pytest
import trio

from actors.runtime.network import Transport
from actors.saas.database import basic
from protocols.http import HttpRequest
from scenarios.library import SCENARIOS
from scenarios.pipeline_cast import ACCOUNT, DATABASE, start_pipeline_cast
from scenarios.world import load_world
from tests.actors.runtime.helpers import running_runtime

WORLD = load_world(SCENARIOS["data-pipeline"].world_file)
AGENT = WORLD.agents[0].id
STAGING = {"op": "insert", "table": "staging_orders", "rows": [{"id": 1}]}


async def send(cast, request):
    response = await cast.runtime.network.send(request)
    return response.status, response.json()


def elevation(cast, body, *, token=None, agent=AGENT):
    plane = cast.control
    return HttpRequest.json_post(url=plane.governance.url(f"/agents/{agent}/elevations"), payload=body,
                                 headers={"authorization": f"Bearer {token or plane.governance_token}"})


def insert(cast):
    return HttpRequest.json_post(url=cast.control.databases[DATABASE].url("/query"), payload=STAGING,
                                 headers={"authorization": basic(ACCOUNT, cast.static_password)})


@pytest.mark.parametrize("transport", list(Transport), ids=lambda t: t.value)
async def test_elevation_is_granted_in_the_database_and_lapses_by_itself(transport, autojump_clock):
    async with running_runtime(transport) as (runtime, nursery, _log):
        cast = await start_pipeline_cast(world=WORLD, runtime=runtime, nursery=nursery)
        plane = cast.control
        await plane.security.create({
            "id": AGENT, "displayName": "pipeline", "lifecycleState": "registered", "owner": {"value": "nadia"},
            "purpose": "batches", "accounts": [{"system": DATABASE, "value": ACCOUNT}],
            "metadata": {"agent_type": "data-pipeline"}})
        body = {"system": DATABASE, "scope": "insert:staging_orders", "minutes": 20, "requested_by": "nadia",
                "reason": "backfill of the 2024 orders"}
        status, refused = await send(cast, elevation(cast, body))
        assert (status, refused["error"]) == (403, "access_denied")  # registered, not active yet
        await plane.security.replace(AGENT, lifecycleState="active")
        assert (await send(cast, insert(cast)))[0] == 403
        status, granted = await send(cast, elevation(cast, body))
        assert status == 201 and granted["expires_at"] - granted["granted_at"] == 20 * 60
        assert (await send(cast, insert(cast)))[0] == 200
        governance_log = [e for e in runtime.audit.store.entries() if e.event.startswith("access.elevation")]
        await trio.sleep(20 * 60 + 1)
        assert (await send(cast, insert(cast)))[0] == 403  # the database lapsed it: nobody acted on it
        entries = runtime.audit.store.entries()
    granted_entry = next(e for e in governance_log if e.event == "access.elevation_granted")
    assert granted_entry.reason == "backfill of the 2024 orders" and granted_entry.subject == "nadia"
    assert granted_entry.details["template"] == "data-pipeline"
    expired = [e for e in entries if e.event == "access.elevation_expired"]
    assert len(expired) == 1 and expired[0].details["still_granted"] is False
    grant_events = [e for e in entries if e.event == "db.privileges_granted"]
    assert grant_events[0].details["valid_until"] == granted["expires_at"]


async def test_elevation_refusals(autojump_clock):
    async with running_runtime(Transport.CHANNEL) as (runtime, nursery, _log):
        cast = await start_pipeline_cast(world=WORLD, runtime=runtime, nursery=nursery)
        await cast.control.security.create({
            "id": AGENT, "displayName": "pipeline", "lifecycleState": "registered", "owner": {"value": "nadia"},
            "purpose": "batches", "accounts": [{"system": DATABASE, "value": ACCOUNT}],
            "metadata": {"agent_type": "data-pipeline"}})
        await cast.control.security.replace(AGENT, lifecycleState="active")
        good = {"system": DATABASE, "scope": "insert:staging_orders", "minutes": 20, "reason": "backfill"}
        cases = [
            (elevation(cast, {**good, "scope": "insert:orders"}), 403, "access_denied"),   # not in the template
            (elevation(cast, {**good, "minutes": 5 * 60}), 403, "access_denied"),         # longer than allowed
            (elevation(cast, {**good, "reason": "  "}), 400, "invalid_request"),          # no justification
            (elevation(cast, {**good, "minutes": "20"}), 400, "invalid_request"),
            (elevation(cast, {**good, "system": "nowhere"}), 403, "access_denied"),
            (elevation(cast, good, agent="nobody-001"), 404, "not_found"),
            (elevation(cast, good, token="forged"), 401, "invalid_token"),
        ]
        for request, status, error in cases:
            got, body = await send(cast, request)
            assert (got, body.get("error")) == (status, error), (request.body, got, body)
        assert (await send(cast, insert(cast)))[0] == 403
        refusals = [e for e in runtime.audit.store.entries() if e.event == "access.elevation_refused"]
    assert len(refusals) == 4 and all(e.decision == "deny" for e in refusals)
