"""The MCP catalogue of a world (scenarios/mcp_world.py) and what the cast derives from it
(scenarios/mcp_cast.py): data sources — ``content``, ``crm`` through the vault, and the Workspace
calendars — and the one-line problems a bad catalogue gets."""

import pytest

from scenarios.library import SCENARIOS
from scenarios.mcp_cast import calendar_content
from scenarios.mcp_world import McpSectionError, parse_mcp
from scenarios.saas_seed import workspace_seed
from scenarios.world import load_world
from protocols.calendar import rfc3339

WORLD = load_world(SCENARIOS["sales-agent"].world_file)
SERVER = '''
[[servers]]
name = "crm"
title = "CRM"
kind = "crm"
scope = "mcp:crm:read"
{vault}
[[servers.resources]]
uri = "crm://contacts/acme-corp"
name = "contacts"
title = "Contacts"
{data}
'''


def catalogue(tmp_path, *, data, vault=""):
    (tmp_path / "c.toml").write_text(SERVER.format(vault=vault, data=data))
    return parse_mcp({"catalogue": "c.toml"}, base_dir=tmp_path)


def test_the_sales_agent_crm_and_calendar_read_their_systems_not_the_catalogue():
    crm, calendar = WORLD.mcp.server("mcp-crm"), WORLD.mcp.server("mcp-calendar")
    assert (crm.vault.integration, crm.vault.scope) == ("salesforce", ("crm.read",))
    assert {r.uri: r.source for r in crm.resources if r.live} == {
        "crm://contacts/acme-corp": "crm", "crm://accounts/acme-corp/purchases": "crm",
        "crm://accounts/acme-corp/contracts": "crm", "crm://contacts/globex": "crm"}
    assert all(r.content is None for r in crm.resources if r.live)
    assert {r.source for r in calendar.resources} == {"workspace-calendar"}


def test_calendars_are_the_workspace_seed():
    sarah = WORLD.person("sarah")
    events = sorted((e for e in workspace_seed(WORLD).events if e.calendar == sarah.email), key=lambda e: e.start)
    mine = calendar_content(WORLD, "calendar://users/sarah")
    assert mine["busy"] == [{"title": e.summary, "start": rfc3339(e.start), "end": rfc3339(e.end)} for e in events]
    team = calendar_content(WORLD, "calendar://availability/sales-team")
    assert team["working_hours"] == {"start": "09:00", "end": "17:00", "days": ["Mon", "Tue", "Wed", "Thu", "Fri"]}
    assert set(team["members"]) == {p.email for p in WORLD.people if p.team.startswith("sales-")} != set()
    assert all("title" not in b for periods in team["members"].values() for b in periods)  # free/busy only


@pytest.mark.parametrize("data, vault, problem", [
    ('source = "crm"', "", "a crm source needs the server's vault binding"),
    ('source = "ldap"', 'vault = { integration = "salesforce", scope = ["crm.read"] }', "must be one of"),
    ("", "", "give either content or source"),
    ('source = "crm"\ncontent = { a = 1 }', 'vault = { integration = "salesforce", scope = ["crm.read"] }',
     "give either content or source"),
    ('source = "crm"', 'vault = { integration = "salesforce", scope = [] }', "non-empty array of scopes"),
])
def test_bad_sources_are_one_line_problems(tmp_path, data, vault, problem):
    with pytest.raises(McpSectionError) as caught:
        catalogue(tmp_path, data=data, vault=vault)
    assert problem in str(caught.value) and "\n" not in str(caught.value)


def test_content_and_crm_sources_parse(tmp_path):
    static = catalogue(tmp_path, data='content = { a = 1 }').servers[0]
    assert static.resources[0].content == {"a": 1} and not static.resources[0].live and static.vault is None
    live = catalogue(tmp_path, data='source = "crm"',
                     vault='vault = { integration = "salesforce", scope = ["crm.read"] }').servers[0]
    assert live.resources[0].live and live.vault.scope == ("crm.read",)


def test_references_to_the_world_are_checked(tmp_path):
    world = {"integrations": [{"name": "salesforce"}], "people": [{"id": "sarah", "team": "sales-emea"}]}
    (tmp_path / "c.toml").write_text(SERVER.format(vault='vault = { integration = "crm-x", scope = ["crm.read"] }',
                                                   data='source = "crm"'))
    with pytest.raises(McpSectionError, match="no integration 'crm-x' in the world"):
        parse_mcp({"catalogue": "c.toml"}, base_dir=tmp_path, world=world)
    calendars = SERVER.replace("crm://contacts/acme-corp", "calendar://users/{who}")
    (tmp_path / "c.toml").write_text(calendars.format(vault="", data='source = "workspace-calendar"', who="nobody"))
    with pytest.raises(McpSectionError, match="calendar://users/<person id>"):
        parse_mcp({"catalogue": "c.toml"}, base_dir=tmp_path, world=world)
    (tmp_path / "c.toml").write_text(calendars.format(vault="", data='source = "workspace-calendar"', who="sarah"))
    assert parse_mcp({"catalogue": "c.toml"}, base_dir=tmp_path, world=world).servers[0].resources[0].uri == \
        "calendar://users/sarah"
