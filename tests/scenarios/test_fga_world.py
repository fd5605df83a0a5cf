"""The sales world's ``[fga]`` section: what Sarah may read, the service loaded by the cast over both
transports, and one-line ``WorldError`` messages for broken sections."""

from __future__ import annotations

import re

import pytest

from actors.fga_client import FgaClient
from actors.runtime.network import Transport
from protocols.fga import MemoryTupleStore, check
from protocols.fga.rag import object_for_uri
from scenarios.library import SCENARIOS
from scenarios.sales_agent import start_cast
from scenarios.world import WorldError, load_world, parse_world
from tests.actors.runtime.helpers import running_runtime

WORLD_FILE = SCENARIOS["sales-agent"].world_file
WORLD = load_world(WORLD_FILE)

SARAH_READS = ["crm://contacts/acme-corp", "crm://accounts/acme-corp/purchases", "crm://accounts/acme-corp/contracts",
               "docs://proposals/templates", "pricing://enterprise-tier", "calendar://availability/sales-team",
               "calendar://users/sarah"]
SARAH_DENIED = ["pricing://executive-discounts", "crm://deals/globex-renewal/negotiation-notes",
                "finance://internal-costs", "crm://accounts/acme-corp/credit-risk"]


@pytest.mark.parametrize(("uri", "allowed"), [(u, True) for u in SARAH_READS] + [(u, False) for u in SARAH_DENIED])
def test_sarah_reads_what_the_spec_says(uri, allowed):
    fga = WORLD.fga
    result = check(fga.compiled, MemoryTupleStore(fga.tuples), user="user:sarah", relation="viewer",
                   object=object_for_uri(uri))
    assert result.allowed is allowed


def test_the_vp_sees_executive_discounts_but_not_another_reps_calendar():
    fga = WORLD.fga
    store = MemoryTupleStore(fga.tuples)
    assert check(fga.compiled, store, user="user:john", relation="viewer",
                 object=object_for_uri("pricing://executive-discounts")).allowed
    assert not check(fga.compiled, store, user="user:john", relation="viewer",
                     object=object_for_uri("calendar://users/sarah")).allowed


@pytest.mark.parametrize("transport", list(Transport), ids=lambda t: t.value)
async def test_the_cast_serves_the_world_authorization_data(transport):
    async with running_runtime(transport) as (runtime, nursery, _log):
        cast = await start_cast(world=WORLD, runtime=runtime, nursery=nursery)
        assert cast.fga.store_id and cast.fga.model_id
        client = FgaClient(network=runtime.network, base_url=cast.fga.base_url, store_id=cast.fga.store_id,
                           agent="sales-agent-prod-001")
        for uri in SARAH_READS:
            assert await client.check(user="user:sarah", relation="viewer", object=object_for_uri(uri)), uri
        for uri in SARAH_DENIED:
            assert not await client.check(user="user:sarah", relation="viewer", object=object_for_uri(uri)), uri
        events = [e for e in runtime.audit.store.entries() if e.actor == "fga"]
        assert [e.event for e in events[:3]] == ["fga.store_created", "fga.model_written", "fga.tuples_written"]
        denied = [e for e in events if e.event == "authz.denied"]
        assert len(denied) == len(SARAH_DENIED)
        assert all(e.subject == "user:sarah" and e.agent == "sales-agent-prod-001" and e.reason for e in denied)
        assert any("but not blocked" in e.reason for e in denied)
        assert ("fga", cast.fga.base_url, "") in cast.services()


TEXT = WORLD_FILE.read_text(encoding="utf-8")


def broken(old: str, new: str) -> str:
    assert old in TEXT
    return TEXT.replace(old, new, 1)


@pytest.mark.parametrize(("text", "fragment"), [
    (broken("    define member: [user, team#member]", "    define member: [user, team#member"),
     "fga.model: invalid_authorization_model"),
    (broken("    define viewer: owner or member from territory", "    define viewer: owner or member from nowhere"),
     "fga.model: invalid_authorization_model"),
    (broken('{ user = "user:sarah", relation = "member", object = "team:sales-emea" }',
            '{ user = "user:sarah", relation = "member", object = "spaceship:x" }'),
     "fga.tuples[0]: Invalid tuple 'spaceship:x#member@user:sarah'. Reason: type 'spaceship' not found"),
    (broken('{ user = "user:sarah", relation = "member", object = "team:sales-emea" }',
            '{ user = "account:acme-corp", relation = "member", object = "team:sales-emea" }'),
     "fga.tuples[0]: Invalid tuple"),
    (broken('{ user = "user:mike", relation = "member", object = "team:sales-na" }',
            '{ user = "user:sarah", relation = "member", object = "team:sales-emea" }'),
     "fga.tuples[1]: duplicate of tuples[0]"),
    (broken('{ user = "user:sarah", relation = "member", object = "team:sales-emea" }',
            '{ user = "user:sarah", relation = "member", object = "team:sales-emea", role = "x" }'),
     "fga.tuples[0]: unknown key 'role'"),
    (broken('store = "acme-corp"', 'store = "a"'), "fga.store: 3 to 64"),
    (broken('store = "acme-corp"', 'store = "acme-corp"\nowner = "john"'), "fga.owner: unknown key"),
    (broken('tuples = [', 'tuples = 3\nignored = ['), "fga.ignored"),
])
def test_broken_fga_sections_are_one_line_world_errors(text, fragment):
    with pytest.raises(WorldError) as info:
        parse_world(text, source=str(WORLD_FILE))
    message = str(info.value)
    assert re.match(rf"{re.escape(str(WORLD_FILE))}:\d+: ", message) and fragment in message and "\n" not in message


def test_a_world_without_fga_has_no_store():
    start = TEXT.index("\n[fga]\n")
    end = TEXT.index("\n[", start + 1)
    world = parse_world(TEXT[:start] + TEXT[end:], source=str(WORLD_FILE))
    assert world.fga is None
