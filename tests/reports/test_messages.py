"""Audit entries as sequence-diagram messages (reports/messages.py)."""

from __future__ import annotations

from reports.messages import lifelines, message_for, messages
from tests.reports.helpers import entry, numbered


def test_the_client_sends_to_the_actor_that_recorded():
    message = message_for(entry("token.issued", actor="idp", agent="agent", decision="allow"))
    assert (message.sender, message.receiver, message.outcome, message.is_note) == ("agent", "idp", "allow", False)


def test_details_client_overrides_agent_and_peer_makes_an_outgoing_call():
    assert (lambda m: (m.sender, m.receiver))(message_for(
        entry("authz.allowed", actor="fga", agent="agent", client="mcp-crm"))) == ("mcp-crm", "fga")
    assert (lambda m: (m.sender, m.receiver))(message_for(
        entry("vault.refreshed", actor="vault", agent="agent", peer="salesforce"))) == ("vault", "salesforce")


def test_urls_never_become_lifelines_and_lone_events_are_notes():
    message = message_for(entry("federation.configured", actor="idp", peer="https://google.example", client="a b"))
    assert message.is_note and message.sender == "idp"


def test_denials_are_labelled_with_their_reason():
    message = message_for(entry("authz.denied", actor="fga", agent="agent", decision="deny", reason="no relation"))
    assert message.outcome == "deny" and message.label == "✗ authz.denied — no relation"


def test_runner_events_are_not_messages_and_lifelines_keep_first_appearance():
    flow = messages(numbered(entry("run.started", actor="runner"), entry("a.b", actor="y", agent="x"),
                             entry("c.d", actor="z", agent="y")))
    assert [m.seq for m in flow] == [2, 3] and lifelines(flow) == ("x", "y", "z")
