"""Approvals and certification rows (reports/governance.py)."""

from __future__ import annotations

from reports.governance import certifications, count_approvals
from tests.reports.helpers import entry, numbered


def test_the_authorization_server_entries_count_and_the_device_echo_does_not():
    approvals = count_approvals(numbered(
        entry("ciba.requested"), entry("ciba.pending", decision="deny"), entry("ciba.approved", decision="allow"),
        entry("approval.decided", decision="allow"), entry("ciba.requested"), entry("ciba.expired", decision="deny"),
    ))
    assert (approvals.requested, approvals.approved, approvals.denied, approvals.expired) == (2, 1, 0, 1)


def test_device_entries_count_when_there_is_no_ciba():
    approvals = count_approvals(numbered(entry("approval.requested"), entry("approval.decided", decision="deny")))
    assert (approvals.requested, approvals.denied) == (1, 1)


def test_certification_rows_have_a_verdict_only_for_decisions():
    rows = certifications(numbered(
        entry("certification.campaign_opened", decision="allow", campaign="c1", entitlements=["crm", "mail"]),
        entry("certification.certified", decision="allow", campaign="c1", entitlement="crm"),
        entry("certification.decided", decision="revoke", campaign="c1", entitlement="mail", reviewer="john"),
        entry("authz.allowed", decision="allow"),
    ))
    assert [(r.entitlement, r.verdict, r.reviewer) for r in rows] == [
        ("crm, mail", None, None), ("crm", "certified", None), ("mail", "revoked", "john")]
