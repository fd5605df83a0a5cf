"""Governance rules, sans-IO: role templates for common agent types, JIT elevation limits, what a
certification campaign reviews, the owner-only decisions and revocation at the deadline."""

import pytest

from protocols.governance import (
    AlreadyDecided, CampaignClosed, Decision, ElevationRefused, Entitlement, NotTheReviewer, UnknownEntitlement,
    close, decide, elevate, next_campaign_at, open_campaign, reminder_due, QUARTER,
)
from protocols.oauth.errors import InvalidRequest
from protocols.role_templates import ROLE_TEMPLATES, template_for

DB = Entitlement(system="customer-db", kind="database_grant", resource="table customers",
                 scopes=("select:customers",), grant="svc/customers")
GMAIL = Entitlement(system="token-vault", kind="vault_integration", resource="gmail", scopes=("gmail.send",),
                    grant="gmail")
SLACK_ADMIN = Entitlement(system="token-vault", kind="vault_integration", resource="slack", scopes=("admin",),
                          grant="slack")
IDENTITY = Entitlement(system="acme-idp", kind="sign_in_identity", resource="client a", scopes=("openid",),
                       grant="a")
CREDENTIAL = Entitlement(system="privileged-vault", kind="credential", resource="customer-db/svc",
                         scopes=("database_password", "rotation:90d"), grant="cred-1")


def test_templates_exist_for_common_agent_types_and_flag_what_they_do_not_cover():
    assert {"sales-assistant", "marketing-assistant", "data-pipeline", "customer-service",
            "procurement"} <= set(ROLE_TEMPLATES)
    marketing = template_for("marketing-assistant")
    assert marketing is not None and template_for("unknown") is None and template_for(None) is None
    assert marketing.outside([DB, GMAIL, CREDENTIAL]) == []  # "*" covers any vaulted secret
    assert marketing.outside([SLACK_ADMIN]) == ["token-vault:admin"]


def test_elevation_only_from_the_template_within_its_limit_and_justified():
    template = ROLE_TEMPLATES["marketing-assistant"]
    common = {"elevation_id": "e1", "agent": "m", "template": template, "system": "customer-db",
              "scope": "select:purchases", "reason": "segment", "now": 1000}
    granted = elevate(**common, ttl=1800, requested_by="lucas")
    assert (granted.granted_at, granted.expires_at, granted.requested_by) == (1000, 2800, "lucas")
    with pytest.raises(ElevationRefused, match="not available just in time"):
        elevate(**{**common, "scope": "insert:customers"}, ttl=60)
    with pytest.raises(ElevationRefused, match="at most 7200 seconds"):
        elevate(**common, ttl=7201)
    with pytest.raises(ElevationRefused):
        elevate(**common, ttl=0)
    with pytest.raises(InvalidRequest, match="justification"):
        elevate(**{**common, "reason": " "}, ttl=60)
    with pytest.raises(ElevationRefused, match="no role template"):
        elevate(**{**common, "template": None}, ttl=60)
    assert ElevationRefused("x").status == 403


def test_campaign_reviews_grants_not_the_sign_in_identity_and_only_the_owner_decides():
    campaign = open_campaign(campaign_id="c1", agent="m", reviewer="emma", entitlements=[DB, GMAIL, IDENTITY],
                             now=0, remind_after=7, review_period=14)
    assert [i.entitlement.id for i in campaign.items] == [DB.id, GMAIL.id]
    with pytest.raises(InvalidRequest):
        open_campaign(campaign_id="c2", agent="m", reviewer="emma", entitlements=[IDENTITY], now=0, remind_after=7,
                      review_period=14)
    with pytest.raises(NotTheReviewer) as refused:
        decide(campaign, entitlement_id=DB.id, decision="revoke", reviewer="lucas", now=1)
    assert refused.value.status == 403 and "owner is emma" in refused.value.description
    campaign = decide(campaign, entitlement_id=DB.id, decision="revoke", reviewer="emma", now=1, comment="unused")
    with pytest.raises(AlreadyDecided):
        decide(campaign, entitlement_id=DB.id, decision="certify", reviewer="emma", now=2)
    with pytest.raises(UnknownEntitlement):
        decide(campaign, entitlement_id="nope", decision="certify", reviewer="emma", now=2)
    assert not reminder_due(campaign, now=6) and reminder_due(campaign, now=7)
    closed, revoked = close(campaign, now=14)
    assert [i.entitlement.id for i in revoked] == [DB.id, GMAIL.id]
    assert closed.items[1].decided_by == "deadline" and closed.items[1].decision is Decision.REVOKED
    with pytest.raises(CampaignClosed):
        decide(closed, entitlement_id=GMAIL.id, decision="certify", reviewer="emma", now=15)


def test_quarterly_schedule():
    assert next_campaign_at(first=100, every=QUARTER, now=50) == 100
    assert next_campaign_at(first=100, every=QUARTER, now=101) == 100 + QUARTER
