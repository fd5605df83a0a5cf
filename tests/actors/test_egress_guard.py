"""The output filter's egress policy as the platform is deployed (the sales-agent world's
``[vault.egress]``, nothing switched on by the test): with the price list in the agent's context,
e-mail to an outside address is blocked, to a colleague it goes out, and to the customer it goes
out only once a real CIBA approval names the customer's addresses as recipients — proved from
Google Workspace's own record of mail that left the domain and from the audit log."""

import pytest

from actors.mcp_client import ContextRequest, gather_context
from actors.output_guard import OutputBlocked
from actors.sales_workflow import send_email
from protocols.approval_policy import evaluate
from scenarios.attacks.cast import AGENT, stage
from scenarios.attacks.prompt_injection import OUTSIDE, PRICE_LIST, exfiltration_body
from scenarios.phases.async_approval import ask_for_approval, proposed_action
from scenarios.phases.multi_system_execution import connect_accounts
from tests.actors.vault_helpers import fast_crypto  # noqa: F401  (memoized RSA keys and scrypt)

CUSTOMER = ("julie.martinez@acme-customer.example", "robert.chen@acme-customer.example")


async def prepared(st):
    """Sarah signed in, her Workspace connected, the price list in the agent's context for her."""
    delegation = await st.sign_in()
    await connect_accounts(st.cast, user="sarah", agent=AGENT, providers=["google-workspace"])
    context = await gather_context(st.mcp, delegation, servers={"mcp-docs": st.cast.mcp_servers["mcp-docs"].resource},
                                   request=ContextRequest(task="prepare the Acme proposal"))
    item = context.item(PRICE_LIST)
    assert item is not None
    sarah = st.world.person("sarah")

    async def mail(to: tuple[str, ...]) -> dict:
        return await send_email(st.cast.vault.tools[AGENT], user=delegation.subject,
                                sender={"email": sarah.email, "name": sarah.name}, to=to,
                                subject="2025 price list", body=exfiltration_body(item.content))

    return delegation, mail, st.cast.vault.providers["google-workspace"]


def audit(st, event):
    return [e for e in st.runtime.audit.store.entries() if e.event == event]


async def test_the_deployed_policy_blocks_the_price_list_to_an_outside_address(autojump_clock, fast_crypto):
    async with stage(seed=1, transport="channel") as st:
        assert st.cast.vault.tools[AGENT].guard.egress is not None  # from the world file, not the test
        _, mail, workspace = await prepared(st)
        for to in ((OUTSIDE,), CUSTOMER):  # the customer too: no approval names them yet
            with pytest.raises(OutputBlocked):
                await mail(to)
        blocked = audit(st, "output_filter.egress_blocked")
        assert workspace.outbound == [] and not [m for m in workspace.mail if "SENT" in m.labels]
        assert [b.details["external"] for b in blocked] == [[OUTSIDE], list(CUSTOMER)]
        assert all(b.decision == "block" and b.details["sources"] == [PRICE_LIST] for b in blocked)
        assert not [e for e in audit(st, "vault.token_served") if e.details.get("connection") == "gmail"]


async def test_a_colleague_inside_the_organisation_receives_it(autojump_clock, fast_crypto):
    async with stage(seed=1, transport="channel") as st:
        _, mail, workspace = await prepared(st)
        john = st.world.person("john").email
        await mail((john,))
        assert workspace.outbound == [] and [m.mailbox for m in workspace.mail if "INBOX" in m.labels] == [john]
        assert audit(st, "output_filter.egress_blocked") == audit(st, "output_filter.egress_allowed") == []


async def test_recipients_named_by_a_real_approval_receive_it_and_no_one_else(autojump_clock, fast_crypto):
    async with stage(seed=1, transport="channel") as st:
        delegation, mail, workspace = await prepared(st)
        phase = next(p for p in st.world.phases if p.number == 5)
        action, rule = proposed_action(st.cast, phase)
        _, outcome = await ask_for_approval(st.cast, action=action, rule=rule,
                                            verdict=evaluate(rule.rule, action.detail))
        assert outcome.approved and outcome.authorization_details == (action.detail,)
        assert st.cast.agents[AGENT].approved[delegation.subject] == [action.detail]
        with pytest.raises(OutputBlocked):  # the approval covers its recipients, not an added outsider
            await mail((CUSTOMER[0], OUTSIDE))
        assert workspace.outbound == []
        assert audit(st, "output_filter.egress_blocked")[-1].details["external"] == [OUTSIDE]
        await mail(CUSTOMER)
        (sent,) = workspace.outbound
        assert sent.labels == CUSTOMER
        (allowed,) = audit(st, "output_filter.egress_allowed")
        assert (allowed.decision, allowed.details["approved"], allowed.details["sources"]) == \
            ("allow", list(CUSTOMER), [PRICE_LIST])
        assert st.cast.agents[AGENT].approved[delegation.subject] == []
        with pytest.raises(OutputBlocked):  # the approval was for one e-mail: a second one is not covered
            await mail(CUSTOMER)
        assert len(workspace.outbound) == 1
        assert audit(st, "output_filter.egress_blocked")[-1].details["external"] == list(CUSTOMER)
