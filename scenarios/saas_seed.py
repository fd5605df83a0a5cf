"""The data the SaaS providers hold when the sales-agent scenario starts.

CRM: the Acme Corp customer account (contacts Julie Martinez, CTO, and Robert Chen, CFO; AI
training worth 280 000 € in 2024; a premium support contract ending March 2026) — the same facts
the MCP catalogue exposes — Globex in North America with its renewal's negotiation notes, and a
book of other accounts (enough contacts for the day-45 bulk read). Workspace: the domain's users,
the sales teams as groups, a file Sarah wrote herself, and the calendars of Sarah and John for the
coming weeks (so finding a common free slot takes real work).

Dates are relative to the world's epoch, so a world starting on another day keeps its shape.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from actors.saas.crm import Account, Contact, Contract, CrmData, CrmUser, Opportunity, Purchase
from actors.saas.google_workspace import Group, WorkspaceData, WorkspaceUser
from actors.saas.workspace_calendar import CalendarEvent
from actors.saas.workspace_drive import DriveFile
from scenarios.world import World

CUSTOMER = "acme-corp"
EXTRA_CRM_USERS = (("mike", "Mike Brown", "mike.brown", "NA"),)
TEAM_COLLEAGUES = {"sales-emea": (("Marc Dubois", "marc.dubois"), ("Priya Shah", "priya.shah"))}
_INDUSTRIES = ("Manufacturing", "Retail", "Energy", "Logistics", "Healthcare", "Finance")
_TERRITORIES = ("EMEA", "NA", "APAC")
_FIRST = ("Anna", "Ben", "Chloe", "David", "Emma", "Farid", "Grace", "Hugo", "Ines", "Jonas")
_LAST = ("Keller", "Lopez", "Moreau", "Novak", "Okafor", "Petit", "Quinn", "Rossi", "Sato", "Tanaka")
_TITLES = ("CTO", "CFO", "Head of Data", "IT Director", "Procurement Lead")
OTHER_ACCOUNTS = 120


def crm_user_id(n: int) -> str:
    return f"005{n:012d}"


def crm_seed(world: World) -> CrmData:
    people = [(p.id, p.name, p.email, p.territory) for p in world.people]
    people += [(pid, name, f"{local}@{world.domain}", territory) for pid, name, local, territory in EXTRA_CRM_USERS]
    users = tuple(CrmUser(id=crm_user_id(i), email=email, name=name, territory=territory)
                  for i, (_, name, email, territory) in enumerate(people, start=1))
    owner = {pid: crm_user_id(i) for i, (pid, *_) in enumerate(people, start=1)}
    accounts = [
        Account(id="001000000000001", slug=CUSTOMER, name="Acme Corp", industry="Industrial automation",
                territory="EMEA", owner=owner.get("sarah", users[0].id)),
        Account(id="001000000000002", slug="globex", name="Globex", industry="Energy", territory="NA",
                owner=owner["mike"]),
    ]
    contacts = [
        Contact(id="003000000000001", account_id=accounts[0].id, name="Julie Martinez", title="CTO",
                email="julie.martinez@acme-customer.example", phone="+33 1 70 00 00 01"),
        Contact(id="003000000000002", account_id=accounts[0].id, name="Robert Chen", title="CFO",
                email="robert.chen@acme-customer.example", phone="+33 1 70 00 00 02"),
        Contact(id="003000000000003", account_id=accounts[1].id, name="Hank Scorpio", title="CEO",
                email="hank@globex.example"),
    ]
    opportunities = [
        Opportunity(id="006000000000001", account_id=accounts[0].id, name="Acme Corp 2025 AI programme",
                    amount_eur=450000, stage="Proposal", close_date="2025-03-31",
                    notes="Julie wants the platform and training in one contract; Robert asks for a support bundle."),
        Opportunity(id="006000000000002", account_id=accounts[1].id, name="Globex renewal", amount_eur=520000,
                    stage="Negotiation", close_date="2025-02-28",
                    notes="Walk-away price agreed with management: 22% discount on licences; competitor quote at 410k."),
    ]
    purchases = [
        Purchase(id="801000000000001", account_id=accounts[0].id, product="Data platform licences", year=2023,
                 amount_eur=95000),
        Purchase(id="801000000000002", account_id=accounts[0].id, product="AI training programme", year=2024,
                 amount_eur=280000),
    ]
    contracts = [Contract(id="800000000000001", account_id=accounts[0].id, kind="Premium support", status="active",
                          start="2023-04-01", end="2026-03-31", yearly_value_eur=60000)]
    for n in range(OTHER_ACCOUNTS):
        account = Account(id=f"001{n + 100:012d}", slug=f"customer-{n + 1:03d}", name=f"Customer {n + 1:03d} SA",
                          industry=_INDUSTRIES[n % len(_INDUSTRIES)], territory=_TERRITORIES[n % len(_TERRITORIES)],
                          owner=users[n % len(users)].id)
        accounts.append(account)
        for k, title in enumerate(_TITLES):
            first, last = _FIRST[(n + k) % len(_FIRST)], _LAST[(n * 3 + k) % len(_LAST)]
            contacts.append(Contact(id=f"003{n * 10 + k + 100:012d}", account_id=account.id,
                                    name=f"{first} {last}", title=title,
                                    email=f"{first.lower()}.{last.lower()}@{account.slug}.example"))
        opportunities.append(Opportunity(id=f"006{n + 100:012d}", account_id=account.id,
                                         name=f"{account.name} expansion", amount_eur=20000 + 1000 * n,
                                         stage="Qualification", close_date="2025-06-30",
                                         notes=f"Budget holder prefers a {5 + n % 20}% volume discount."))
    return CrmData(users=users, accounts=tuple(accounts), contacts=tuple(contacts),
                   opportunities=tuple(opportunities), purchases=tuple(purchases), contracts=tuple(contracts))


def _at(epoch: datetime, day: int, hhmm: str) -> int:
    hours, minutes = map(int, hhmm.split(":"))
    start = epoch.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return int((start + timedelta(days=day, hours=hours, minutes=minutes)).timestamp())


BUSY = {
    # person id → (day after the epoch, start, end, summary)
    "sarah": ((1, "09:00", "11:30", "Pipeline review"), (1, "14:00", "15:00", "Customer call: Initech"),
              (2, "09:00", "10:00", "1:1 with John"), (2, "13:00", "17:00", "Sales training")),
    "john": ((1, "11:30", "17:00", "Quarterly planning"), (2, "09:00", "10:00", "1:1 with Sarah"),
             (2, "10:00", "10:30", "Leadership sync"), (3, "09:00", "17:00", "Board meeting")),
}


def workspace_user_id(email: str) -> str:
    return "ws-" + email.split("@")[0]


def workspace_seed(world: World) -> WorkspaceData:
    users = [WorkspaceUser(id=workspace_user_id(p.email), email=p.email, name=p.name) for p in world.people]
    groups: dict[str, list[str]] = {}
    for person in world.people:
        if person.team:
            groups.setdefault(person.team, []).append(person.email)
    for team, colleagues in TEAM_COLLEAGUES.items():
        for name, local in colleagues:
            email = f"{local}@{world.domain}"
            users.append(WorkspaceUser(id=workspace_user_id(email), email=email, name=name))
            groups.setdefault(team, []).append(email)
    epoch = world.epoch
    files = []
    sarah = next((p for p in world.people if p.id == "sarah"), None)
    if sarah is not None:
        files.append(DriveFile(id="seed-offsite-notes", name="Team offsite notes", mime_type="text/plain",
                               owner=sarah.email, parents=("root-" + sarah.email.split("@")[0],),
                               content=b"Offsite agenda: pipeline, territories, enablement.",
                               created_time=int(epoch.timestamp()) - 7 * 86400))
    events = []
    for person in world.people:
        for n, (day, start, end, summary) in enumerate(BUSY.get(person.id, ())):
            events.append(CalendarEvent(id=f"seed-{person.id}-{n}", calendar=person.email, summary=summary,
                                        start=_at(epoch, day, start), end=_at(epoch, day, end), organizer=person.email))
    return WorkspaceData(users=tuple(users),
                         groups=tuple(Group(email=f"{team}@{world.domain}", name=team, members=tuple(members))
                                      for team, members in sorted(groups.items())),
                         files=tuple(files), events=tuple(events))
