"""Phase 6 over both transports, then Drive, Gmail and Calendar read back through the providers'
own APIs (an administrator's service-account token): the file, its sharing, the sent message with
its PDF, and the booked event on both calendars."""

import hashlib

import pytest

from protocols.calendar import parse_rfc3339
from protocols.oauth.errors import NotFound
from protocols.pdf import extract_text
from scenarios.phases.multi_system_execution import (
    FILE_NAME, FOLDER, crm_via_vault, phase_6_multi_system_execution,
)
from tests.actors.vault_helpers import (  # noqa: F401 (fixtures)
    AGENT, admin_token, api_get, cast, channel_cast, fast_crypto, sign_in,
)

SARAH, JOHN = "sarah.johnson@acmecorp.example", "john.smith@acmecorp.example"
CTO, CFO = "julie.martinez@acme-customer.example", "robert.chen@acme-customer.example"


def phase6(cast):
    return next(p for p in cast.world.phases if p.number == 6)


async def test_phase_6_leaves_drive_gmail_and_calendar_as_the_scenario_says(cast):
    await sign_in(cast)
    result = await phase_6_multi_system_execution(cast, phase6(cast))
    assert result.ok, result.outcome

    workspace = cast.vault.providers["google-workspace"]
    token = await admin_token(cast, "google-workspace")
    admin = workspace.url("/admin/v1/users")

    # Drive: Sales/Proposals/2025/Acme-Corp-Q1.pdf, owned by Sarah, shared with her team and John.
    files = {f["id"]: f for f in (await api_get(cast, f"{admin}/{SARAH}/files", token))["files"]}
    (pdf,) = [f for f in files.values() if f["name"] == FILE_NAME]
    path, parent = [pdf["name"]], pdf["parents"][0]
    while parent in files:
        path.insert(0, files[parent]["name"])
        parent = files[parent]["parents"][0]
    assert path == [*FOLDER, FILE_NAME] and pdf["mimeType"] == "application/pdf"
    shared = {(p["type"], p["emailAddress"]): p["role"] for p in pdf["permissions"]}
    assert shared == {("group", "sales-emea@acmecorp.example"): "reader", ("user", JOHN): "commenter"}
    content = workspace.files[pdf["id"]].content
    assert hashlib.sha256(content).hexdigest() == pdf["content_sha256"]
    text = "\n".join(extract_text(content))
    for fact in ("Julie Martinez (CTO)", "Robert Chen (CFO)", "2024: AI training programme (280 000 €)",
                 "Premium support: 2023-04-01 to 2026-03-31", "Total: 450 000 €"):
        assert fact in text

    # Gmail: one message sent from Sarah's mailbox to the CTO and CFO with that PDF attached.
    sent = [m for m in (await api_get(cast, f"{admin}/{SARAH}/messages", token))["messages"] if "SENT" in m["labelIds"]]
    (message,) = sent
    assert message["from"] == SARAH and set(message["to"]) == {CTO, CFO}
    (attachment,) = message["attachments"]
    assert (attachment["filename"], attachment["mimeType"]) == (FILE_NAME, "application/pdf")
    assert attachment["sha256"] == pdf["content_sha256"]
    activity = await api_get(cast, workspace.url("/admin/v1/reports/activity"), token)
    outbound = {tuple(sorted(m["to"])) for m in activity["outbound_mail"] if m["from"] == SARAH}
    assert tuple(sorted((CTO, CFO))) in outbound  # the mail left the domain to both customers
    john_inbox = await api_get(cast, f"{admin}/{JOHN}/messages", token)
    assert any(FILE_NAME in m["subject"] for m in john_inbox["messages"])  # Drive's sharing notice

    # Calendar: a 30-minute "Acme Corp proposal review" within two weeks, on a slot both were free.
    events = (await api_get(cast, f"{admin}/{SARAH}/events", token))["events"]
    (review,) = [e for e in events if e["summary"] == "Acme Corp proposal review"]
    start, end = parse_rfc3339(review["start"]["dateTime"]), parse_rfc3339(review["end"]["dateTime"])
    now = cast.runtime.clock.now()
    assert end - start == 1800 and now < start < now + 14 * 86400
    assert {a["email"] for a in review["attendees"]} == {JOHN, CTO, CFO}
    for owner in (SARAH, JOHN):
        others = [e for e in (await api_get(cast, f"{admin}/{owner}/events", token))["events"]
                  if e["id"] != review["id"]]
        assert all(parse_rfc3339(e["end"]["dateTime"]) <= start or parse_rfc3339(e["start"]["dateTime"]) >= end
                   for e in others), f"the review overlaps {owner}'s calendar"
    john_events = (await api_get(cast, f"{admin}/{JOHN}/events", token))["events"]
    assert any(e["id"] == review["id"] and e["responseStatus"] == "needsAction" for e in john_events)
    # It is the first common free slot: the seeded calendars leave nothing earlier.
    assert review["start"]["dateTime"] == "2025-01-08T10:30:00Z"

    # The agent worked with four least-scoped tokens and never received a refresh token.
    tools = cast.vault.tools[AGENT]
    assert [(t["integration"], t["scope"]) for t in tools.tokens_used] == [
        ("salesforce", "crm.read"), ("google-drive", "drive.file"), ("gmail", "gmail.send"),
        ("google-calendar", "calendar.freebusy calendar.events")]
    served = [e for e in cast.runtime.audit.store.entries() if e.event == "vault.token_served"]
    assert len(served) == 4 and all(e.agent == AGENT and e.details["kind"] == "vault_token" for e in served)


async def test_crm_via_vault_reads_the_customer_with_a_read_only_token(cast):
    await sign_in(cast)
    context = await crm_via_vault(cast, user="sarah", agent=AGENT)
    assert context.contact("CTO")["name"] == "Julie Martinez" and context.contact("CFO")["name"] == "Robert Chen"
    assert context.spend(year=2024, product_contains="AI training") == 280000
    assert context.contracts[0]["end"] == "2026-03-31"
    crm = cast.vault.providers["crm"]
    calls = [c for c in crm.api_log if c.client_id == cast.vault.vault.name]
    assert calls and all(c.scope == "crm.read" and c.status == 200 for c in calls)
    # The CRM connection is admin-approved (B2B): no consent screen was shown.
    assert not [e for e in crm.auth_log if e.event.startswith("consent.")]


async def test_crm_sharing_by_territory_and_the_provider_api_log_for_discovery(channel_cast):
    """Sarah (EMEA) cannot see the North American Globex account; the CRM's administrator service
    account sees everything and reads the CRM's own log of every API call and token grant."""
    cast = channel_cast
    subject = await sign_in(cast)
    tools = cast.vault.tools[AGENT]
    await crm_via_vault(cast, user="sarah", agent=AGENT)
    sarah_api = tools.api("salesforce", await tools.token(user=subject, integration="salesforce", scope=("crm.read",)))
    with pytest.raises(NotFound):
        await sarah_api.get("/accounts/globex/opportunities")
    visible = await sarah_api.get("/accounts", limit="200")
    assert {a["territory"] for a in visible["records"]} == {"EMEA"}
    crm = cast.vault.providers["crm"]
    admin = await admin_token(cast, "crm")
    everything = await api_get(cast, crm.url("/crm/v1/accounts?limit=200"), admin)
    assert everything["total"] == len(crm.accounts) and everything["total"] > visible["total"]
    log = await api_get(cast, crm.url("/crm/v1/audit-log"), admin)
    mine = [c for c in log["api_calls"] if c["client_id"] == cast.vault.vault.name]
    assert {c["path"] for c in mine} >= {"/crm/v1/accounts/acme-corp/contacts", "/crm/v1/accounts/globex/opportunities"}
    assert [c["status"] for c in mine if "globex" in c["path"]] == [404]
    assert any(e["event"] == "token.refreshed" and e["grant_type"] == "refresh_token" for e in log["auth_events"])
    assert any(c["service_account"] for c in log["api_calls"])
