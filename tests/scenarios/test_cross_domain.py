"""Phase 4 of the sales-agent scenario (ID-JAG to the pricing AS) and its world-file sections."""

import json
import re
from pathlib import Path

import pytest

from scenarios.library import SCENARIOS
from scenarios.world import WorldError, parse_world

SOURCE = str(SCENARIOS["sales-agent"].world_file)  # the MCP catalogue is found beside it
WORLD_TEXT = Path(SOURCE).read_text()


def phase_4(result):
    return next(p for p in result.phases if p.number == 4)


def test_phase_4_reads_enterprise_prices_and_refuses_pricing_write(channel_run):
    phase = phase_4(channel_run)
    assert phase.ok, phase.outcome
    facts = phase.facts
    assert facts["ID-JAG typ"] == "oauth-id-jag+jwt"
    assert facts["ID-JAG aud (pricing AS issuer)"] == facts["access token issuer"] == "https://pricing-as.trustbench.test"
    assert facts["ID-JAG client_id (agent at the pricing AS)"] == "acme-sales-agent"
    assert facts["ID-JAG resource"] == facts["access token aud"] == "https://pricing.acmecorp.internal/api"
    assert (facts["ID-JAG scope"], facts["access token scope"], facts["refresh token issued"]) == (
        "pricing:read", "pricing:read", False)
    assert "AI-TRN-ENT" in facts["enterprise-tier prices"]
    assert facts["pricing:write request"].startswith("invalid_scope: managed connection")
    assert facts["PUT with the read token"] == "HTTP 403 (insufficient_scope)"


def test_phase_4_audit_trail_names_agent_user_and_reason(channel_run):
    entries = [json.loads(line) for line in (channel_run.out_dir / "audit.jsonl").read_text().splitlines()]
    sarah = phase_4(channel_run).facts["user"]
    by_event = {}
    for entry in entries:
        by_event.setdefault(entry["event"], []).append(entry)
    for event in ("id_jag.issued", "id_jag.denied", "id_jag.redeemed", "pricing.served", "pricing.denied"):
        for entry in by_event[event]:
            assert (entry["agent"], entry["subject"]) == ("sales-agent-prod-001", sarah), event
            assert entry["reason"], event
    (denied,) = by_event["id_jag.denied"]
    assert "always refuses pricing:write" in denied["reason"] and denied["decision"] == "deny"


def test_phase_4_runs_the_same_over_http(http_run):
    phase = phase_4(http_run)
    assert phase.ok and phase.facts["ID-JAG aud (pricing AS issuer)"].startswith("http://127.0.0.1:")


def edited(old: str, new: str) -> str:
    assert old in WORLD_TEXT
    return WORLD_TEXT.replace(old, new)


@pytest.mark.parametrize("old,new,field", [
    ('refused = ["pricing:write", "pricing:admin"]', 'refused = ["pricing:write", "pricing:read"]',
     "managed_connections[0]"),
    ('target = "pricing-as"', 'target = "crm-as"', "managed_connections[0].target"),
    ('granted = ["pricing:read"]', 'granted = ["pricing:delete"]', "managed_connections[0].granted"),
    ("id_jag_lifetime = 300", "id_jag_lifetime = 3600", "managed_connections[0].id_jag_lifetime"),
    ('trusted_idps = ["acme-idp"]', 'trusted_idps = ["okta"]', "pricing.trusted_idps[0]"),
    ('resource = "https://pricing.acmecorp.internal/api"', 'resource = "pricing-api"', "pricing.resource"),
    ("list_price_eur = 48000", "list_price_eur = -1", "pricing.prices[0].list_price_eur"),
])
def test_bad_cross_domain_sections_are_one_line_world_errors(old, new, field):
    with pytest.raises(WorldError) as info:
        parse_world(edited(old, new), source=SOURCE)
    message = str(info.value)
    assert re.match(rf"{re.escape(str(SOURCE))}:\d+: {re.escape(field)}", message) and "\n" not in message


def without_tables(text: str, headers: tuple[str, ...]) -> str:
    """``text`` minus the TOML tables whose header line is one of ``headers``."""
    kept, skipping = [], False
    for line in text.splitlines():
        if line.startswith("["):
            skipping = line.split("#")[0].strip() in headers
        if not skipping:
            kept.append(line)
    return "\n".join(kept)


def test_a_world_without_pricing_has_no_connections():
    text = without_tables(WORLD_TEXT, ("[pricing]", "[[pricing.prices]]", "[[managed_connections]]"))
    world = parse_world(text, source=SOURCE)
    assert world.pricing is None and world.managed_connections == ()
