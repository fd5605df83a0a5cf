"""The comparison's scenario steps played against the traditional configuration (issue 11).

Each step does what the sales and customer-service stories do, with what a traditional stack offers:
the sales team's export script polls the CRM with its hard-coded key (nobody's spreadsheet lists
it); the quarterly review reads the spreadsheet; the agent executes a 450 000 € proposal directly
(no approval exists); an attacker who copied the agent's configuration file reads 500 customer
records in 10 minutes (no detection, no revocation) and keeps every key. Every number comes from
the answers the callers received (``LegacyClient.sent``) and the systems' own logs.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import trio

from actors.attacker import AttackerActor, AttackReport, Exfiltrate, Probe, ProbeResult
from actors.traditional.client import LegacyClient
from actors.traditional.legacy_login import sign_hs256
from scenarios.traditional.audit_coverage import legacy_coverage
from scenarios.traditional.cast import SHADOW, TraditionalCast
from scenarios.traditional.comparison import Measurement

POLL_EVERY, FIRST_DELAY = 300, 60
"""The shadow script's cadence: the same as the unified world's shadow integration."""


@attrs.define(eq=False)
class ShadowScript:
    """The sales team's unregistered export script: two CRM pages every five minutes."""

    client: LegacyClient
    _cancel: trio.CancelScope = attrs.field(factory=trio.CancelScope, init=False)

    async def run(self) -> None:
        with self._cancel:
            await trio.sleep(FIRST_DELAY)
            while True:
                for offset in (0, 20):
                    await self.client.get(f"/api/customers?limit=20&offset={offset}")
                await trio.sleep(POLL_EVERY)

    def stop(self) -> None:
        self._cancel.cancel()


def measurement(*, row: str, step: str, clients: Sequence[LegacyClient], cast: TraditionalCast, started: float,
                records: int, actions: int, evidence: Sequence[str]) -> Measurement:
    """A traditional measurement: never contained (nothing contains), audit from the legacy logs."""
    sent = [r for c in clients for r in c.sent]
    coverage = legacy_coverage(sent, cast.logs())
    return Measurement(row=row, configuration="traditional", step=step, records_exposed=records,
                       unauthorised_actions=actions, time_to_containment=None,
                       observed=round(cast.runtime.clock.now_float() - started, 3),
                       steps_logged=coverage.logged, steps_total=coverage.total,
                       evidence=(*evidence, f"best single log: {coverage.log} ({coverage.logged}/{coverage.total})"))


def manual_discovery(cast: TraditionalCast) -> tuple[str, ...]:
    """What the spreadsheet review finds: the agents listed in the spreadsheet, nothing else."""
    return tuple(row.agent for row in cast.inventory)


def discovery_measurement(cast: TraditionalCast, shadow: ShadowScript, *, discovered_at: float) -> Measurement:
    """The shadow script's reads over the observation window; calls accepted after the review."""
    found = manual_discovery(cast)
    sent = shadow.client.sent
    after = [r for r in sent if r.time >= discovered_at and r.status == 200]
    started = sent[0].time if sent else cast.runtime.clock.now_float()
    return measurement(row="discovery", step="step:shadow-ai", clients=[shadow.client], cast=cast, started=started,
                       records=shadow.client.records_received, actions=len(after),
                       evidence=(f"spreadsheet lists {len(found)} agent(s): {', '.join(found) or '-'}",
                                 f"{SHADOW} found: {SHADOW in found}",
                                 f"shadow calls: {len(sent)}, accepted after the review: {len(after)}"))


async def access_review(cast: TraditionalCast) -> Measurement:
    """The quarterly spreadsheet review, then every key it did not cover tried once."""
    started = cast.runtime.clock.now_float()
    reviewed = {(row.agent, system) for row in cast.inventory for system in row.systems}
    unreviewed = [(name, value, key) for name, actor in sorted(cast.systems.items())
                  for value, key in actor.keys.items() if (key.issued_to, name) not in reviewed]
    clients = []
    for name, value, _ in unreviewed:
        client = cast.client(name, key=value)
        await client.get("/api/customers?limit=20" if name == "crm" else "/docs")
        clients.append(client)
    accepted = sum(1 for c in clients for r in c.sent if r.status == 200)
    return measurement(row="access_reviews", step="step:quarterly-review", clients=clients, cast=cast,
                       started=started, records=sum(c.records_received for c in clients), actions=accepted,
                       evidence=(f"spreadsheet entitlements reviewed: {len(reviewed)}",
                                 f"keys in the systems not in the spreadsheet: {len(unreviewed)} "
                                 f"({', '.join(sorted(k.label for _, _, k in unreviewed))})",
                                 f"unreviewed keys still accepted after the review: {accepted}"))


async def high_value_proposal(cast: TraditionalCast, *, customer: str, amount_eur: int, recipients: Sequence[str],
                              sender: str, threshold_eur: int) -> Measurement:
    """The agent records and sends the proposal itself: nothing asks anyone."""
    started = cast.runtime.clock.now_float()
    crm, mail = cast.client("crm"), cast.client("mail")
    created = await crm.post("/api/opportunities", json={"customer": customer, "amount_eur": amount_eur,
                                                         "stage": "Proposal"})
    sent = await mail.post("/send", json={"from": sender, "to": list(recipients),
                                          "subject": f"{customer} proposal", "body": "proposal attached"})
    executed = sum(1 for response in (created, sent) if 200 <= response.status < 300)
    unauthorised = executed if amount_eur > threshold_eur else 0
    return measurement(row="approval", step="step:high-value-proposal", clients=[crm, mail], cast=cast,
                       started=started, records=0, actions=unauthorised,
                       evidence=(f"{amount_eur} EUR against the {threshold_eur} EUR approval policy",
                                 f"opportunity: HTTP {created.status}, e-mail: HTTP {sent.status}",
                                 "no approval step exists in the traditional systems"))


@attrs.define(eq=False)
class LegacyLoot:
    """What an attacker who copied the agent's configuration file holds, and their clients."""

    cast: TraditionalCast
    clients: dict[str, LegacyClient] = attrs.field(factory=dict)
    started_at: float = attrs.field(init=False)
    """When the configuration file was copied."""

    def __attrs_post_init__(self) -> None:
        self.started_at = self.cast.runtime.clock.now_float()
        owner = self.cast.world.person(self.cast.world.agents[0].owner).email if self.cast.world.agents else ""
        forged = sign_hs256({"sub": owner, "iat": self.cast.runtime.clock.now()},
                            secret=self.cast.config["app_secret"])
        self.cast.runtime.secrets.add(forged)
        self.clients = {"config CRM key": self.cast.client("crm"), "config pricing key": self.cast.client("pricing"),
                        "config docs key": self.cast.client("docs"),
                        "shared app secret (forged token)": self.cast.client("docs", bearer=forged)}

    def probes(self) -> tuple[Probe, list[Probe]]:
        def call(client: LegacyClient, path: str):
            async def attempt(i: int) -> ProbeResult:
                response = await client.get(path.format(i=i))
                return ProbeResult(status=response.status, records=client.sent[-1].records)
            return attempt

        paths = {"config CRM key": "/api/customers?limit=1&offset={i}", "config pricing key": "/prices",
                 "config docs key": "/docs/executive-discounts",
                 "shared app secret (forged token)": "/mcp/resources?uri=pricing://executive-discounts"}
        probes = [Probe(credential=label, receiver=self.clients[label].system, attempt=call(self.clients[label], path))
                  for label, path in paths.items()]
        return probes[0], probes


async def bulk_read(cast: TraditionalCast, attacker: AttackerActor, loot: LegacyLoot, *, records: int,
                    duration: float, retry_every: float, retry_rounds: int) -> AttackReport:
    """The customer-service drill's attack with the copied configuration file."""
    reader, everything = loot.probes()
    return await attacker.ask(Exfiltrate(readers=(reader,), probes=tuple(everything), records=records,
                                         duration=duration, retry_every=retry_every, retry_rounds=retry_rounds))


def drill_measurements(cast: TraditionalCast, loot: LegacyLoot, report: AttackReport) -> list[Measurement]:
    """Threat detection (what was read, nothing contained it) and incident resolution (the loot after)."""
    accepted = [a for a in report.attempts if a.ok]
    clients = list(loot.clients.values())
    common = {"clients": clients, "cast": cast, "started": report.started_at}
    threats = measurement(row="threats", step="step:bulk-read", records=report.records_read, actions=len(accepted),
                          evidence=(f"{len(report.attempts)} attempts, {len(accepted)} accepted",
                                    f"records read: {report.records_read} in "
                                    f"{report.finished_at - report.started_at:g} s", "no detector exists"), **common)
    return [threats]


async def loot_after(cast: TraditionalCast, loot: LegacyLoot, *, row: str, step: str, since: float) -> Measurement:
    """Every stolen credential tried once more (later): what still opens."""
    before = {label: len(c.sent) for label, c in loot.clients.items()}
    _, everything = loot.probes()
    results = [await probe.attempt(0) for probe in everything]
    opened = [p.credential for p, r in zip(everything, results) if r.ok]
    clients = [LegacyClient(runtime=cast.runtime, system=c.system, base_url=c.base_url,
                            sent=c.sent[before[label]:]) for label, c in loot.clients.items()]
    return measurement(row=row, step=step, clients=clients, cast=cast, started=since,
                       records=sum(r.records for r in results if r.ok), actions=len(opened),
                       evidence=(f"stolen credentials still accepted: {len(opened)} of {len(everything)}",
                                 *(f"accepted: {c}" for c in opened)))


async def day_zero_key(cast: TraditionalCast) -> Measurement:
    """The agent's CRM key from its configuration file (created at onboarding, never rotated), used now."""
    crm = cast.systems["crm"]
    key = crm.keys[cast.config["crm"]]
    client = cast.client("crm")
    response = await client.get("/api/customers?limit=100")
    return measurement(row="credentials", step="step:day-0-key-on-day-46", clients=[client], cast=cast,
                       started=float(key.created_at), records=client.records_received,
                       actions=1 if response.status == 200 else 0,
                       evidence=(f"{key.label} created {cast.runtime.clock.now() - key.created_at} s ago, never rotated",
                                 f"GET /api/customers with it: HTTP {response.status}"))


async def phished_password(cast: TraditionalCast, *, person: str) -> Measurement:
    """The same phished password at the in-house login service: a token, then the person's documents."""
    started = cast.runtime.clock.now_float()
    email = cast.world.person(person).email
    login = cast.client("login", keyless=True)
    response = await login.form("/login", {"username": email, "password": cast.people_passwords[person]})
    clients, records = [login], 0
    if response.status == 200:
        token = response.json()["access_token"]
        docs = cast.client("docs", bearer=token)
        owned = sorted(d.uri for d in cast.systems["docs"].documents.values() if d.owner == email)
        for uri in owned:
            await docs.get(f"/mcp/resources?uri={uri}")
        clients.append(docs)
        records = docs.records_received
    return measurement(row="user_auth", step="step:phished-password", clients=clients, cast=cast, started=started,
                       records=records, actions=1 if response.status == 200 else 0,
                       evidence=(f"login with the password alone: HTTP {response.status}",
                                 f"documents read with the session: {records}"))
