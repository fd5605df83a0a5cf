"""The traditional configuration (issue 11): the same organisation without a unified platform.

``build_traditional_cast`` puts five in-house systems on the run's network (``legacy-login``,
``legacy-crm``, ``legacy-docs``, ``legacy-pricing``, ``legacy-mail``; ``actors.traditional``) and
writes the agent's configuration file: one static API key per system plus the applications' shared
token secret, created at onboarding and never rotated. A sales-team script (the shadow agent) has its
own hard-coded CRM key; the manual agent inventory (a spreadsheet) does not list it. People log in to
the login service with passwords it stores itself. Nothing here writes to the platform audit log:
each system keeps its own log (``logs``; ``write_logs`` puts them in ``RUN/traditional/``).
"""

from __future__ import annotations

from pathlib import Path

import attrs
import trio

from actors.runtime.context import Runtime
from actors.traditional.client import LegacyClient
from actors.traditional.legacy_app import LegacyApp, LegacyLogLine
from actors.traditional.legacy_docs import Document, LegacyDocsActor
from actors.traditional.legacy_login import LegacyLoginActor, hand_rolled_bearer_check
from actors.traditional.legacy_systems import LegacyCrmActor, LegacyMailActor, LegacyPricingActor
from scenarios.saas_seed import crm_seed
from scenarios.world import World

SYSTEMS = ("login", "crm", "docs", "pricing", "mail")
"""The traditional systems, by short name (actor name ``legacy-<name>``)."""
AGENT_SYSTEMS = ("crm", "docs", "pricing", "mail")
SHADOW = "sales-team-export-script"


@attrs.frozen(kw_only=True)
class Protections:
    """The fixes a traditional team might bolt on, each off by default (the traditional column).
    Switching one on shows in the measured table: nothing in it is a canned value."""

    refuse_unsigned_tokens: bool = False
    """The hand-rolled bearer check refuses ``alg: none``."""
    crm_records_per_window: int | None = None
    """A static CRM rate limit (records per key per 10 minutes)."""
    crm_approval_above_eur: int | None = None
    """The CRM refuses opportunities above this amount (no approval flow exists to lift it)."""


@attrs.frozen(kw_only=True)
class InventoryRow:
    """One row of the manual agent spreadsheet."""

    agent: str
    owner: str
    systems: tuple[str, ...]
    last_reviewed: str


@attrs.define(eq=False)
class TraditionalCast:
    world: World
    runtime: Runtime
    systems: dict[str, LegacyApp]
    config: dict[str, str] = attrs.field(repr=False)
    """The agent's configuration file: system → static API key, and ``app_secret``."""
    shadow_key: str = attrs.field(repr=False)
    inventory: tuple[InventoryRow, ...] = ()
    people_passwords: dict[str, str] = attrs.field(factory=dict, repr=False)
    agent_id: str = ""
    clients: list[LegacyClient] = attrs.field(factory=list)
    """Every client made through ``client`` (their ``sent`` lists: the run's ground truth)."""

    def client(self, system: str, *, key: str | None = None, bearer: str | None = None,
               on_behalf_of: str | None = None, keyless: bool = False) -> LegacyClient:
        """A caller of ``system``; by default with the agent's key from its config file."""
        actor = self.systems[system]
        if key is None and bearer is None and not keyless:
            key = self.config.get(system)
        made = LegacyClient(runtime=self.runtime, system=actor.name, base_url=actor.base_url, key=key,
                            bearer=bearer, on_behalf_of=on_behalf_of)
        self.clients.append(made)
        return made

    @staticmethod
    def records_exposed(client: LegacyClient) -> int:
        """Records the traditional systems handed to ``client`` (counted from the answers it received)."""
        return client.records_received

    def logs(self) -> dict[str, tuple[LegacyLogLine, ...]]:
        """Each system's own log (actor name → lines), as its administrators would export it."""
        return {actor.name: tuple(actor.log_lines) for actor in self.systems.values()}

    def write_logs(self, directory: Path) -> list[Path]:
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, lines in sorted(self.logs().items()):
            path = directory / f"{name}.log"
            path.write_text("".join(self.runtime.secrets.redact_text(line.text()) + "\n" for line in lines),
                            encoding="utf-8")
            paths.append(path)
        return paths

    async def start(self, nursery: trio.Nursery) -> None:
        """Start every system's mailbox (they are already registered on the network)."""
        for actor in self.systems.values():
            await nursery.start(actor.run)


def _key(runtime: Runtime, label: str) -> str:
    return "tk_" + runtime.entropy_for("traditional-config").child(label).token(24)


def _documents(world: World) -> list[Document]:
    owner = world.person(world.agents[0].owner) if world.agents else world.people[0]
    docs = [Document(uri="docs://proposals/templates", title="Approved proposal templates", owner=owner.email,
                     public=True, body="Enterprise proposal template (approved by Legal)"),
            Document(uri="pricing://executive-discounts", title="Executive discount grid", owner=owner.email,
                     body="Discounts up to 35% approved by the VP Sales Ops")]
    for person in world.people:
        docs.append(Document(uri=f"docs://people/{person.id}/pipeline-notes", title=f"{person.name}'s pipeline notes",
                             owner=person.email, body=f"Private negotiation notes of {person.name}"))
    return docs


def build_traditional_cast(*, world: World, runtime: Runtime,
                           protections: Protections = Protections()) -> TraditionalCast:
    """Build the five systems, register them on ``runtime.network`` (not started yet)."""
    net = runtime.network
    secret = runtime.entropy_for("traditional-config").child("app-secret").token(32)
    runtime.secrets.add(secret)

    def base(name: str) -> dict:
        return {"name": f"legacy-{name}", "runtime": runtime, "base_url": net.base_url_for(f"legacy-{name}"),
                "system": name}

    unsigned = not protections.refuse_unsigned_tokens
    login = LegacyLoginActor(**base("login"), shared_secret=secret, accept_unsigned=unsigned)
    crm = LegacyCrmActor(**base("crm"), records_per_window=protections.crm_records_per_window,
                         approval_above_eur=protections.crm_approval_above_eur)
    crm.load(crm_seed(world))
    docs = LegacyDocsActor(**base("docs"), shared_secret=secret, accept_unsigned=unsigned)
    for document in _documents(world):
        docs.add(document)
    pricing = LegacyPricingActor(**base("pricing"))
    pricing.extra_auth.append(hand_rolled_bearer_check(secret=secret, accept_unsigned=unsigned))
    if world.pricing is not None:
        pricing.prices = {p.sku: p.list_price_eur for p in world.pricing.prices}
    mail = LegacyMailActor(**base("mail"))
    systems: dict[str, LegacyApp] = {"login": login, "crm": crm, "docs": docs, "pricing": pricing, "mail": mail}
    agent_id = world.agents[0].id if world.agents else "agent"
    config = {name: _key(runtime, f"{agent_id}:{name}") for name in AGENT_SYSTEMS}
    for name, value in config.items():
        systems[name].add_key(value=value, label=f"key:{agent_id}", issued_to=agent_id)
    config["app_secret"] = secret
    shadow_key = _key(runtime, f"{SHADOW}:crm")
    crm.add_key(value=shadow_key, label=f"key:{SHADOW}", issued_to="sales team (unregistered)")
    passwords = {}
    for person in world.people:
        passwords[person.id] = runtime.entropy_for("traditional-config").child(f"password:{person.id}").token(12)
        login.add_user(email=person.email, password=passwords[person.id])
    inventory = tuple(InventoryRow(agent=spec.id, owner=spec.owner, systems=AGENT_SYSTEMS,
                                   last_reviewed=world.epoch.date().isoformat()) for spec in world.agents)
    for actor in systems.values():
        net.register(actor)
    return TraditionalCast(world=world, runtime=runtime, systems=systems, config=config, shadow_key=shadow_key,
                           inventory=inventory, people_passwords=passwords, agent_id=agent_id)


async def start_traditional_cast(*, world: World, runtime: Runtime, nursery: trio.Nursery, serve: bool = True,
                                 protections: Protections = Protections()) -> TraditionalCast:
    """Build and start the traditional cast; ``serve``: also start the network (once per run)."""
    cast = build_traditional_cast(world=world, runtime=runtime, protections=protections)
    await cast.start(nursery)
    if serve:
        await nursery.start(runtime.network.serve)
    return cast
