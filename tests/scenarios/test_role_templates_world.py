"""``[[role_templates]]`` (scenarios/role_templates_world.py): the organization's own agent types — parsed,
refused with one line naming the file and line, merged by ``name`` in a world that extends another,
and used by governance in a real run (certification flags what is outside the world's template, JIT
elevation is capped by it)."""

from pathlib import Path

import pytest

from actors.runtime.network import Transport
from protocols.http import HttpRequest
from protocols.role_templates import ROLE_TEMPLATES
from scenarios.library import SCENARIOS
from scenarios.marketing_cast import start_marketing_cast
from scenarios.phases.marketing import MARKETING_PHASES
from scenarios.world import WorldError, load_world
from tests.actors.runtime.helpers import running_runtime
from tests.actors.vault_helpers import fast_crypto  # noqa: F401

MARKETING = SCENARIOS["marketing"].world_file

# the built-in marketing-assistant without team chat (slack chat:write), and a 30-minute JIT cap
CAMPAIGN_ASSISTANT = """
[[role_templates]]
name = "campaign-assistant"
description = "Campaign audiences and e-mail; no team chat"
grants = { crm = ["crm.read"], customer-db = ["select:customers"], token-vault = ["gmail.send", "calendar.events"], privileged-vault = ["*"], fga = ["viewer"], acme-idp = ["*"] }
jit = { customer-db = ["select:purchases"] }
max_jit_seconds = 1800
"""


def world_file(tmp_path: Path, body: str, *, base: Path = MARKETING, name: str = "mine.toml") -> Path:
    path = tmp_path / name
    path.write_text(f'[scenario]\nextends = "{base}"\n' + body)
    return path


def agent_type(value: str) -> str:
    return f'\n[[agents]]\nid = "marketing-agent-prod-001"\nagent_type = "{value}"\n'


def test_a_world_adds_and_replaces_templates_and_its_agent_names_one(tmp_path):
    world = load_world(world_file(tmp_path, CAMPAIGN_ASSISTANT + """
[[role_templates]]
name = "procurement"                  # replaces the built-in one
description = "Purchases, and the supplier CRM read-only"
grants = { crm = ["crm.read"] }
""" + agent_type("campaign-assistant")))
    mine = world.role_templates["campaign-assistant"]
    assert ("token-vault", "chat:write") not in mine.grants and mine.covers("privileged-vault", "anything")
    assert mine.jit == frozenset({("customer-db", "select:purchases")}) and mine.max_jit_seconds == 1800
    replaced = world.role_templates["procurement"]
    assert replaced.grants == frozenset({("crm", "crm.read")}) and replaced.jit == frozenset()
    assert replaced.max_jit_seconds == 3600 and replaced != ROLE_TEMPLATES["procurement"]
    assert world.role_templates["sales-assistant"] == ROLE_TEMPLATES["sales-assistant"]     # the others stay
    assert world.agents[0].agent_type == "campaign-assistant"
    assert load_world(MARKETING).agents[0].agent_type == ""                              # the scenario's default
    assert load_world(MARKETING).role_templates == ROLE_TEMPLATES


def test_a_world_extending_another_merges_templates_by_name(tmp_path):
    base = world_file(tmp_path, CAMPAIGN_ASSISTANT, name="base.toml")
    world = load_world(world_file(tmp_path, """
[[role_templates]]
name = "campaign-assistant"
description = "Same grants, a longer JIT window"
max_jit_seconds = 3600
jit = { customer-db = ["select:purchases", "select:returns"] }
""", base=base))
    merged = world.role_templates["campaign-assistant"]
    assert merged.description == "Same grants, a longer JIT window" and merged.max_jit_seconds == 3600
    assert ("crm", "crm.read") in merged.grants and ("token-vault", "chat:write") not in merged.grants  # base's grants
    assert ("customer-db", "select:returns") in merged.jit


BAD = [
    (agent_type("campaign-assistent"), 6, "agents[0].agent_type: unknown role template 'campaign-assistent' "
                                          "(known: customer-service, data-pipeline, marketing-assistant, "
                                          "procurement, sales-assistant)"),
    ('[[role_templates]]\nname = "x"\ndescription = "d"\n', 3,
     "role_templates[0].grants: missing"),
    ('[[role_templates]]\nname = "x"\ndescription = "d"\ngrants = ["crm:crm.read"]\n', 6,
     'role_templates[0].grants: expected a table of systems to lists of scopes: { crm = ["crm.read"] }'),
    ('[[role_templates]]\nname = "x"\ndescription = "d"\ngrants = { crm = "crm.read" }\n', 6,
     "role_templates[0].grants.crm: expected a non-empty list of scope strings"),
    ('[[role_templates]]\nname = "x"\ndescription = "d"\ngrants = { crm = [] }\n', 6,
     "role_templates[0].grants.crm: expected a non-empty list of scope strings"),
    ('[[role_templates]]\nname = "x"\ndescription = "d"\ngrants = { crm = ["*"] }\njit = { crm = ["*"] }\n', 7,
     "role_templates[0].jit.crm: '*' cannot be granted just in time: name the scope"),
    ('[[role_templates]]\nname = "x"\ndescription = "d"\ngrants = { crm = ["*"] }\nmax_jit_seconds = 0\n', 7,
     "role_templates[0].max_jit_seconds: must be positive, got 0"),
    ('[[role_templates]]\nname = "x"\ngrants = { crm = ["*"] }\n', 3, "role_templates[0].description: missing"),
    ('[[role_templates]]\nname = "x"\ndescription = "d"\ngrants = { crm = ["*"] }\nscopes = ["a"]\n', 7,
     "role_templates[0].scopes: unknown field (known here: name, description, max_jit_seconds, grants, jit)"),
]


@pytest.mark.parametrize(("body", "line", "message"), BAD, ids=[m.split(":")[0] + str(i) for i, (_b, _l, m)
                                                                 in enumerate(BAD)])
def test_bad_templates_and_unknown_agent_types_are_one_line_errors(tmp_path, body, line, message):
    path = world_file(tmp_path, body)
    with pytest.raises(WorldError) as raised:
        load_world(path)
    assert str(raised.value) == f"{path}:{line}: {message}"


def test_two_templates_with_one_name_in_one_file(tmp_path):
    path = tmp_path / "twice.toml"
    path.write_text(MARKETING.read_text() + CAMPAIGN_ASSISTANT + CAMPAIGN_ASSISTANT)
    with pytest.raises(WorldError) as raised:
        load_world(path)
    line = len(MARKETING.read_text().splitlines()) + len(CAMPAIGN_ASSISTANT.splitlines()) + 3
    assert str(raised.value) == f"{path}:{line}: role_templates[1].name: a second role template named " \
                                "'campaign-assistant'"


async def test_the_world_template_decides_what_certification_flags_and_how_long_jit_lasts(
        tmp_path, autojump_clock, fast_crypto):  # noqa: F811
    """Marketing phases 1-3 with the agent registered as the world's ``campaign-assistant``: the
    quarterly campaign flags Slack (outside that template, inside the built-in marketing-assistant),
    and an elevation longer than the template's 30 minutes is refused."""
    world = load_world(world_file(tmp_path, CAMPAIGN_ASSISTANT + agent_type("campaign-assistant")))
    agent = world.agents[0].id
    async with running_runtime(Transport.CHANNEL) as (runtime, nursery, _log):
        cast = await start_marketing_cast(world=world, runtime=runtime, nursery=nursery)
        results = {}
        for phase in (p for p in world.phases if p.number <= 3):
            await runtime.clock.sleep_until(phase.at.timestamp())
            results[phase.number] = await MARKETING_PHASES[phase.number](cast, phase)
            assert results[phase.number].ok, (phase.number, results[phase.number].outcome)
        long_elevation = await runtime.network.send(HttpRequest.json_post(
            url=cast.control.governance.url(f"/agents/{agent}/elevations"),
            payload={"system": "customer-db", "scope": "select:purchases", "minutes": 31, "requested_by": "emma",
                     "reason": "a longer segment run"},
            headers={"authorization": f"Bearer {cast.control.governance_token}"}))
        entries = runtime.audit.store.entries()
        campaign = next(iter(cast.control.governance.campaigns.values()))

    assert "type campaign-assistant" in results[1].outcome
    assert results[3].facts["role template"] == "campaign-assistant"
    assert results[3].facts["outside the template"] == "token-vault:chat:write"
    (opened,) = [e for e in entries if e.event == "certification.campaign_opened"]
    assert opened.details["template"] == "campaign-assistant" and opened.details["outside_template"] == \
        ["token-vault:chat:write"]
    # the same entitlements under the built-in marketing-assistant: nothing flagged
    assert ROLE_TEMPLATES["marketing-assistant"].outside(item.entitlement for item in campaign.items) == []
    assert long_elevation.status == 403
    (refused,) = [e for e in entries
                  if e.event == "access.elevation_refused" and e.details["scope"] == "select:purchases"]
    assert refused.reason == "a campaign-assistant elevation lasts at most 1800 seconds"
