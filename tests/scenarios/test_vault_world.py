"""Phase 6 in the scenario run over both transports, the vault's store in the run directory, and
the world-file sections of the vault (each mistake a one-line error naming the field)."""

import re
import sqlite3

import pytest

from scenarios.library import SCENARIOS
from scenarios.toml_lines import index_toml
from scenarios.world import WorldError, parse_world

BASE = SCENARIOS["sales-agent"].world_file.read_text()
SOURCE = str(SCENARIOS["sales-agent"].world_file.parent / "w.toml")  # beside the MCP catalogue


def test_phase_6_passes_over_both_transports_with_the_same_outcome(channel_run, http_run):
    phases = [next(p for p in run.phases if p.number == 6) for run in (channel_run, http_run)]
    assert all(p.ok for p in phases), [p.outcome for p in phases]
    channel, http = phases
    for fact in ("proposal total", "shared with", "free slots found", "meeting", "vault tokens"):
        assert channel.facts[fact] == http.facts[fact], fact
    assert channel.facts["meeting"].startswith("Acme Corp proposal review: 2025-01-08T10:30:00Z")
    assert channel.facts["drive file"].startswith("Sales/Proposals/2025/Acme-Corp-Q1.pdf")
    assert "refresh" not in channel.facts["vault tokens"]


def test_the_vault_store_in_the_run_directory_holds_only_ciphertext(channel_run):
    path = channel_run.out_dir / "vault.sqlite"
    db = sqlite3.connect(path)
    connections = db.execute("SELECT provider, status, kek_id, length(ciphertext) FROM connections").fetchall()
    tokens = db.execute("SELECT slot, kek_id, length(ciphertext) FROM access_tokens").fetchall()
    db.close()
    assert sorted(c[0] for c in connections) == ["crm", "google-workspace"]
    assert all(status == "active" and kek == "kek-1" and size > 32 for _, status, kek, size in connections)
    # phase 7's review revoked Google Calendar: its live token was revoked at Google and left the store
    assert sorted(slot for slot, *_ in tokens) == ["gmail|gmail.send", "google-drive|drive.file", "salesforce|crm.read"]
    assert all(size > 100 for *_, size in tokens)
    data = path.read_bytes()
    secrets = [s for s in channel_run.secrets if len(s) >= 16]
    assert [s[:6] for s in secrets if s.encode() in data] == []


def world_with(old: str, new: str) -> str:
    assert BASE.count(old) == 1, old
    return BASE.replace(old, new)


EGRESS = 'internal_sources = ["docs://pricing/", "pricing://", "finance://"]'
BAD = [
    (('salesforce = ["crm.read"]', 'salesforce = ["crm.read", "crm.admin"]'),
     "agents[0].integrations.salesforce: scopes not offered by the integration: crm.admin"),
    (('google-drive = ["drive.file"]', 'dropbox = ["files"]'),
     "agents[0].integrations.dropbox: unknown integration 'dropbox'"),
    (('kind = "crm"', 'kind = "erp"'), "providers[0].kind: must be one of crm, google-workspace, slack, got 'erp'"),
    (('api = "/crm/v1"', 'api = "/crm/v2"'), "integrations[0].api: a crm provider serves /crm/v1, not /crm/v2"),
    (('scopes = ["crm.read", "crm.write"]', 'scopes = ["crm.read", "drive.file"]'),
     "integrations[0].scopes: /crm/v1 has no scope drive.file"),
    (('refresh_margin = 300', 'refresh_margin = 900'),
     "vault.refresh_margin: must be shorter than the access-token lifetime of crm"),
    (('provider = "crm"', 'provider = "sap"'), "integrations[0].provider: unknown provider 'sap'"),
    (('consent = "admin"', 'consent = "maybe"'), "providers[0].consent: must be one of admin, user, got 'maybe'"),
    (('name = "token-vault"', 'name = "crm"'), "vault.name: the actor name 'crm' is already used"),
    ((EGRESS, 'internal_sources = ["price list"]'),
     "vault.egress.internal_sources: expected URI prefixes such as docs://pricing/, got 'price list'"),
    ((EGRESS, 'internal_sources = []'), "vault.egress.internal_sources: expected a non-empty list of strings"),
    ((EGRESS, 'internal_domains = ["acme-eu.example"]'), "vault.egress.internal_sources: missing"),
    ((EGRESS, EGRESS + '\ninternal_domains = ["Acme EU"]'),
     "vault.egress.internal_domains: expected lower-case domain names, got 'Acme EU'"),
    ((EGRESS, EGRESS + '\ninternal_classes = ["pricing"]'),
     "vault.egress.internal_classes: unknown field (known here: internal_domains, internal_sources)"),
]


@pytest.mark.parametrize("change,message", BAD, ids=[b[1].split(":")[0] for b in BAD])
def test_vault_world_mistakes_are_one_line_errors(change, message):
    with pytest.raises(WorldError) as error:
        parse_world(world_with(*change), source=SOURCE)
    where = message.split(":")[0]
    assert re.fullmatch(rf"{re.escape(SOURCE)}:\d+: {re.escape(message)}", str(error.value))
    assert error.value.line == index_toml(world_with(*change)).line_of(where)


def test_a_world_without_a_vault_has_none_and_agents_cannot_list_integrations():
    start = BASE.index("[vault]")
    no_vault = BASE[:start]
    grants = no_vault[no_vault.index("[agents.integrations]"):no_vault.index("[[credential_rotation]]")]
    mcp = no_vault[no_vault.index("\n[mcp]\n"):no_vault.index("\n[fga]\n")]  # its CRM server reads through the vault
    world = parse_world(no_vault.replace(grants, "").replace(mcp, ""), source=SOURCE)
    assert world.connected.vault is None and world.connected.providers == ()
    with pytest.raises(WorldError, match="agents list integrations but the world has no \\[vault\\]"):
        parse_world(no_vault + BASE[BASE.index("[[providers]]"):], source=SOURCE)


def test_refresh_token_idle_lifetime_defaults_to_the_absolute_one():
    world = parse_world(BASE, source=SOURCE)
    crm = world.connected.provider("crm")
    assert crm.refresh_token_idle_days == crm.refresh_token_days == 90  # day-45 phases still refresh
    idle = parse_world(world_with('refresh_token_days = 90       # refresh', 'refresh_token_idle_days = 7\n'
                                  'refresh_token_days = 90       # refresh'), source=SOURCE)
    assert idle.connected.provider("crm").refresh_token_idle_days == 7


def test_the_egress_policy_is_on_in_the_sales_world_and_lists_extra_internal_domains():
    egress = parse_world(BASE, source=SOURCE).connected.vault.egress
    assert egress is not None and egress.internal_sources == ("docs://pricing/", "pricing://", "finance://")
    assert egress.internal_domains == ()  # [organization].domain is inside without being listed
    more = parse_world(world_with(EGRESS, EGRESS + '\ninternal_domains = ["acme-eu.example"]'), source=SOURCE)
    assert more.connected.vault.egress.internal_domains == ("acme-eu.example",)
    without = parse_world(BASE.replace("[vault.egress]", "").replace(EGRESS, ""), source=SOURCE)
    assert without.connected.vault.egress is None


def test_phase_6_proposal_reaches_the_customer_because_the_approval_names_them(channel_run):
    """The deployed egress policy is on in the run: the proposal e-mail carries price-list content
    to outside addresses and goes out only as the recipients of Sarah's phase-5 approval."""
    import json

    entries = [json.loads(line) for line in (channel_run.out_dir / "audit.jsonl").read_text().splitlines()]
    egress = [e for e in entries if e["event"].startswith("output_filter.egress")]
    approved = next(e for e in entries if e["event"] == "agent.approval_granted")
    recipients = approved["details"]["authorization_details"][0]["recipients"]
    assert [(e["event"], e["details"]["approved"], e["details"]["sources"]) for e in egress] == \
        [("output_filter.egress_allowed", recipients, ["docs://pricing/price-list"])]
    assert egress[0]["seq"] > approved["seq"] and next(p for p in channel_run.phases if p.number == 6).ok
