"""Phase 6 — Multi-system execution with the token vault (SPEC.md), and the vault steps other
phases use.

At 10:30 the approved 450 000 € proposal for Acme Corp goes out. Sarah connects her Google
Workspace account to the vault (Google's consent screen; her Salesforce account is admin-approved,
no screen), then the agent — holding no provider credential of its own — asks the vault for one
least-scoped token per step: ``crm.read`` to read the customer, ``drive.file`` to save
``Sales/Proposals/2025/Acme-Corp-Q1.pdf`` and share it with Sarah's team and her manager,
``gmail.send`` to e-mail the CTO and CFO from Sarah's address with the PDF attached, and
``calendar.freebusy calendar.events`` to find the first common free 30 minutes of Sarah and John in
the next two weeks and book "Acme Corp proposal review". Everything it writes passes the output
filter. The agent never sees a refresh token.

For phase 3 (the MCP engineer's "CRM via vault → Salesforce" step): :func:`crm_via_vault`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from actors.agent import LOGIN_PATH, Delegation
from actors.browser import Navigate
from actors.output_guard import OutputBlocked
from actors.sales_workflow import CustomerContext, Proposal, execute_proposal, read_customer_context
from actors.storage.vault_store import ACTIVE
from actors.vault_client import DelegationExpired
from protocols.oauth.errors import OAuthError
from scenarios.phase_result import PhaseResult
from scenarios.phases.async_approval import refused_approval
from scenarios.sales_agent import SalesCast
from scenarios.world import PhaseSpec

CUSTOMER = "acme-corp"
FOLDER = ["Sales", "Proposals", "2025"]
FILE_NAME = "Acme-Corp-Q1.pdf"
PROPOSAL_TITLE = "Acme Corp 2025 AI programme - Q1 proposal"
PROPOSAL_ITEMS = (
    ("AI platform licence, enterprise (12 months)", 180000),
    ("AI training programme, 4 enterprise cohorts of 20 participants", 192000),
    ("Premium support renewal from April 2026 (12 months)", 60000),
    ("Onboarding and advisory package", 18000),
)
"""The proposal approved in phase 5: 450 000 € for Acme Corp."""
RENEW_SIGN_IN_MARGIN = 300


class PhaseFailure(Exception):
    """A step of the phase could not be done; the message says which and why (no secrets)."""


async def ensure_signed_in(cast: SalesCast, *, user: str, agent: str) -> Delegation:
    """The agent's delegation for ``user`` (a person id), renewed through the user's browser when
    the ID token is about to expire: the IdP session answers without a new password (SSO)."""
    person, actor = cast.world.person(user), cast.agents[agent]

    def current() -> Delegation | None:
        return next((d for d in actor.delegations.values() if d.email == person.email), None)

    delegation = current()
    if delegation is None or delegation.claims.expires_at - cast.runtime.clock.now() < RENEW_SIGN_IN_MARGIN:
        result = await cast.browsers[user].ask(Navigate(url=actor.url(LOGIN_PATH)))
        delegation = current()
        if delegation is None or result.problem or result.status != 200 \
                or delegation.claims.expires_at <= cast.runtime.clock.now():
            raise PhaseFailure(f"{person.name}'s sign-in at the agent could not be renewed "
                               f"({result.problem or f'HTTP {result.status}'})")
    return delegation


async def connect_accounts(cast: SalesCast, *, user: str, agent: str, providers: list[str],
                           allow: bool = True) -> dict[str, str]:
    """Link ``user``'s accounts at ``providers`` to the vault (once): the agent asks the vault for
    a connect link, the user's browser follows it, signs in at the provider and — where a consent
    screen shows — answers it (``allow``). Returns provider → connection status."""
    vault, tools = cast.vault.vault, cast.vault.tools[agent]
    assert vault is not None and vault.store is not None
    delegation = await ensure_signed_in(cast, user=user, agent=agent)
    browser = cast.browsers[user]
    status: dict[str, str] = {}
    for provider in providers:
        existing = vault.store.connection(subject=delegation.subject, provider=provider)
        if existing is None or existing.status != ACTIVE:
            link = await tools.vault.connect_link(user=delegation.subject, provider=provider)
            origin = cast.vault.providers[provider].base_url
            browser.consents[f"{urlsplit(origin).scheme}://{urlsplit(origin).netloc}"] = allow
            await browser.ask(Navigate(url=link))
            existing = vault.store.connection(subject=delegation.subject, provider=provider)
        status[provider] = existing.status if existing is not None else "not connected"
    return status


async def crm_via_vault(cast: SalesCast, *, user: str, agent: str, account: str = CUSTOMER) -> CustomerContext:
    """Phase 3's vault step: connect the user's CRM if needed, get a read-only CRM token from the
    vault and read ``crm://contacts/<account>`` with the account's purchase history and contracts."""
    tools = cast.vault.tools[agent]
    crm = next(i.provider for i in cast.vault.integrations.values() if i.name == "salesforce")
    connected = await connect_accounts(cast, user=user, agent=agent, providers=[crm])
    if connected[crm] != ACTIVE:
        raise PhaseFailure(f"the CRM is not connected ({connected[crm]})")
    delegation = await ensure_signed_in(cast, user=user, agent=agent)
    return await read_customer_context(tools, user=delegation.subject, account=account)


async def phase_6_multi_system_execution(cast: SalesCast, phase: PhaseSpec) -> PhaseResult:
    person, manager = cast.world.person(phase.user), None
    if person.manager:
        manager = cast.world.person(person.manager)

    def failed(why: str, **facts: Any) -> PhaseResult:
        return PhaseResult(number=phase.number, name=phase.name, ok=False, outcome=f"Not executed: {why}.",
                           facts=facts)

    if why := refused_approval(cast, agent=phase.agent):
        return failed(why)
    tools = cast.vault.tools.get(phase.agent)
    if tools is None or cast.vault.vault is None or manager is None:
        return failed("the world has no vault, no integrations for this agent, or no manager for the user")
    providers = sorted({cast.vault.integrations[name].provider for name in ("salesforce", "google-drive", "gmail",
                                                                             "google-calendar")})
    try:
        connections = await connect_accounts(cast, user=phase.user, agent=phase.agent, providers=providers)
        if any(state != ACTIVE for state in connections.values()):
            raise PhaseFailure(f"accounts not connected: {connections}")
        delegation = await ensure_signed_in(cast, user=phase.user, agent=phase.agent)
        context = await read_customer_context(tools, user=delegation.subject, account=CUSTOMER)
        proposal = Proposal(customer=str(context.account["name"]), title=PROPOSAL_TITLE, lines=PROPOSAL_ITEMS,
                            author=person.name, date=cast.runtime.clock.iso()[:10])
        team = f"{person.team}@{cast.world.domain}"
        report = await execute_proposal(tools, user=delegation.subject, context=context, proposal=proposal,
                                        folder=FOLDER, file_name=FILE_NAME,
                                        sender={"email": person.email, "name": person.name},
                                        team_group=team, manager=manager.email)
    except (PhaseFailure, OAuthError, OutputBlocked, DelegationExpired, LookupError) as error:
        return failed(f"{type(error).__name__}: {error}", tokens=len(tools.tokens_used))
    served = [f"{t['integration']} [{t['scope']}] {t['expires_in']}s" for t in tools.tokens_used]
    event = report.event
    return PhaseResult(
        number=phase.number, name=phase.name, ok=True,
        outcome=(f"With {len(served)} short-lived vault tokens the agent saved {report.path} to Drive (shared with "
                 f"{' and '.join(report.shared_with)}), e-mailed it from {person.email} to "
                 f"{' and '.join(report.recipients)} and booked \"{event['summary']}\" at "
                 f"{event['start']['dateTime']}; it never held a refresh token."),
        facts={
            "connections": ", ".join(f"{p}: {s}" for p, s in sorted(connections.items())),
            "proposal total": f"{proposal.total:,} EUR".replace(",", " "),
            "customer contacts": ", ".join(f"{c['name']} ({c['title']})" for c in context.contacts),
            "drive file": f"{report.path} ({report.file['size']} bytes, id {report.file['id']})",
            "shared with": ", ".join(report.shared_with),
            "e-mail": f"{report.message['id']} to {', '.join(report.recipients)}, PDF sha256 "
                      f"{report.attachment_sha256[:16]}",
            "free slots found": report.slots_found,
            "meeting": f"{event['summary']}: {event['start']['dateTime']} → {event['end']['dateTime']}",
            "vault tokens": "; ".join(served),
            "agent reply": report.reply,
        })
