"""The output filter in the agent's path: a token pasted into an e-mail body and a secret in a
generated document are blocked before any provider sees them (proved from the providers' own
logs and state), and the block is audited without the secret."""

import pytest

from actors.output_guard import OutputBlocked
from actors.sales_workflow import save_document, send_email
from scenarios.phases.multi_system_execution import connect_accounts
from tests.actors.vault_helpers import AGENT, channel_cast, fast_crypto, sign_in  # noqa: F401

SARAH = {"email": "sarah.johnson@acmecorp.example", "name": "Sarah Johnson"}


async def prepared(cast):
    subject = await sign_in(cast)
    await connect_accounts(cast, user="sarah", agent=AGENT, providers=["crm", "google-workspace"])
    return subject, cast.vault.tools[AGENT], cast.vault.providers["google-workspace"]


def audit(cast, event):
    return [e for e in cast.runtime.audit.store.entries() if e.event == event]


async def test_token_pasted_into_an_email_body_never_reaches_gmail(channel_cast):
    cast = channel_cast
    subject, tools, workspace = await prepared(cast)
    crm_token = await tools.token(user=subject, integration="salesforce", scope=("crm.read",))
    calls_before, mail_before = len(workspace.api_log), len(workspace.mail)
    with pytest.raises(OutputBlocked) as blocked:
        await send_email(tools, user=subject, sender=SARAH, to=("julie.martinez@acme-customer.example",),
                         subject="CRM access",
                         body=f"Hi Julie, you can use this to look at our CRM: {crm_token.token}")
    assert crm_token.token not in str(blocked.value) and "known_secret" in blocked.value.kinds
    assert workspace.api_log[calls_before:] == [] and len(workspace.mail) == mail_before
    assert workspace.outbound == []
    assert not [e for e in audit(cast, "vault.token_served") if e.details["connection"] == "gmail"]
    (entry,) = audit(cast, "output.blocked")
    assert (entry.agent, entry.decision, entry.details["channel"]) == (AGENT, "deny", "email")
    assert {"known_secret"} <= set(entry.details["kinds"])
    assert crm_token.token not in str(entry.to_json())


async def test_secret_in_a_generated_document_never_reaches_drive(channel_cast):
    cast = channel_cast
    subject, tools, workspace = await prepared(cast)
    files_before, calls_before = set(workspace.files), len(workspace.api_log)
    lines = ["Integration notes for the customer", "Staging access key: AKIAIOSFODNN7EXAMPLE"]
    with pytest.raises(OutputBlocked) as blocked:
        await save_document(tools, user=subject, folder=["Sales"], file_name="notes.pdf", title="Notes", lines=lines)
    assert blocked.value.kinds == ("known_prefix",) and blocked.value.channel == "document"
    assert set(workspace.files) == files_before and workspace.api_log[calls_before:] == []
    assert audit(cast, "output.blocked")[-1].details["kinds"] == ["known_prefix"]
    # The vault's own secret is a known secret too (exact match against the run's registry).
    vault_secret = cast.vault.vault.providers["crm"].client_secret
    with pytest.raises(OutputBlocked) as leaked:
        await save_document(tools, user=subject, folder=["Sales"], file_name="setup.pdf", title="Setup",
                            lines=[f"client secret {vault_secret}"])
    assert "known_secret" in leaked.value.kinds and set(workspace.files) == files_before


async def test_secret_looking_text_in_a_chat_reply_is_redacted_not_blocked(channel_cast):
    cast = channel_cast
    tools = cast.vault.tools[AGENT]
    reply = await tools.guard.release("Your reference is Zx9Qw3Er7Ty1Ui5Op2As8Df4Gh6Jk0Lm, thanks.", channel="chat",
                                      destination="sarah")
    assert reply == "Your reference is [REDACTED], thanks."
    (entry,) = audit(cast, "output.redacted")
    assert entry.details["kinds"] == ["high_entropy"] and entry.decision == "allow"
    plain = "The proposal is in Sales/Proposals/2025/Acme-Corp-Q1.pdf, total 450 000 EUR."
    assert await tools.guard.release(plain, channel="chat", destination="sarah") == plain
