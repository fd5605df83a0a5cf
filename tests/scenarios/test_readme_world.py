"""The README's annotated world file (section "World files") is a valid world that covers every section."""

import re
import tomllib
from pathlib import Path

from scenarios.world import WORLDS_DIR, parse_world
from scenarios.world_schema import SECTIONS

README = Path(__file__).resolve().parents[2] / "README.md"


def _example() -> str:
    text = README.read_text()
    section = text[text.index("\n## World files"):]
    return re.search(r"```toml\n(.*?)```", section, re.S).group(1)


def test_the_readme_world_parses_and_uses_every_section():
    text = _example()
    world = parse_world(text, source=str(WORLDS_DIR / "readme-example.toml"))  # beside the MCP catalogue
    used = set(tomllib.loads(text))
    assert used >= {"people", "agents", "phases", "idp", "pricing", "managed_connections", "fga", "mcp", "vault",
                    "providers", "integrations", "approval_rules", "approvers", "credential_rotation", "detection",
                    "expectations"}
    readme = README.read_text()
    # a section only some scenario uses is at least named in the README (with its scenario)
    assert [s for s in set(SECTIONS) - used if f"[{s}]" not in readme and f"[[{s}]]" not in readme] == []
    assert {x.kind for x in world.expectations} >= {"access", "scope", "approval", "containment", "phase"}
    assert world.rotation_policy("sales-agent-prod-001", default={})["every_days"] == 90
    assert world.security.detection.policy.high == 60 and world.approvals.approver("sarah").default.delay == 240
    sales = world.role_templates[world.agent("sales-agent-prod-001").agent_type]
    assert sales.covers("crm", "crm.write") and not sales.covers("token-vault", "calendar.events")
