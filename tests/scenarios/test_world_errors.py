"""A malformed world file gives one precise line: ``FILE:LINE: FIELD: PROBLEM`` (issue 11).

Each case edits the shipped sales-agent world and expects the error on the line it changed (the
line is computed from the edited text, not written down)."""

import pytest

from scenarios.world import WORLDS_DIR, WorldError, parse_world

SOURCE = WORLDS_DIR / "sales-agent.toml"
TEXT = SOURCE.read_text()
# beside the shipped world, so that its MCP catalogue is found (the file itself is never written)
EDITED = str(WORLDS_DIR / "my-world.toml")


def _edit(old: str, new: str) -> tuple[str, int]:
    """The world with the first ``old`` replaced, and the line ``new`` starts on."""
    assert TEXT.count(old) >= 1, old
    start = TEXT.index(old)
    return TEXT[:start] + new + TEXT[start + len(old):], TEXT[:start].count("\n") + 1


def _error(text: str) -> WorldError:
    with pytest.raises(WorldError) as caught:
        parse_world(text, source=EDITED)
    message = str(caught.value)
    assert "\n" not in message
    return caught.value


@pytest.mark.parametrize(("old", "new", "where", "problem"), [
    ('manager = "john"', 'manager = "bob"', "people[0].manager", "unknown person 'bob'"),
    ('owner = "john"', 'owner = "bob"', "agents[0].owner", "unknown person 'bob'"),
    ('user = "sarah"\nagent', 'user = "sara"\nagent', "phases[2].user", "unknown person 'sara'"),
    ('person = "sarah"', 'person = "nobody"', "approvers[0].person", "unknown person 'nobody'"),
    ("high = 60 ", "high = -5 ", "detection.high", "must be above 0"),
    ("elevated = 35", "elevated = 0", "detection.elevated", "must be above 0"),
    ("window = 600 ", "window = 0 ", "detection.window", "expected an integer >= 1"),
    ('territory = "EMEA"', 'territroy = "EMEA"', "people[0].territroy", "unknown field"),
    ("[routine]", "[routines]", "routines", "unknown section"),
    ('above = "100000.00"', 'above = "lots"', "approval_rules[0].above", "not a number"),
    ("every_days = 90", "every_days = 0", "credential_rotation[0].every_days", "must be positive"),
    ("lease_hours = 1\n", "lease_hours = 48\n", "credential_rotation[0].lease_hours", "must not exceed overlap_hours"),
    ('agent = "sales-agent-prod-001"\nevery_days', 'agent = "sales-agent-prod-002"\nevery_days',
     "credential_rotation[0].agent", "unknown agent 'sales-agent-prod-002'"),
    ('{ user = "user:mike", relation = "member", object = "team:sales-na" }',
     '{ user = "user:mike", relation = "memberz", object = "team:sales-na" }', "fga.tuples[1]", "memberz"),
])
def test_the_error_names_the_file_the_line_and_the_field(old, new, where, problem):
    text, line = _edit(old, new)
    error = _error(text)
    assert str(error).startswith(f"{EDITED}:{line}: {where}: ")
    assert problem in str(error)
    assert (error.source, error.line) == (EDITED, line)


def test_bad_toml_keeps_tomllib_line_and_column():
    text, line = _edit('domain = "acmecorp.example"', 'domain = "acmecorp.example')
    error = _error(text)
    assert str(error).startswith(f"{EDITED}:{line}: invalid TOML: ")
    assert f"(at line {line}, column" in str(error)


@pytest.mark.parametrize(("old", "new", "problem"), [
    ("    define viewer: owner or member from territory", "    define viewer: owner or member from territry",
     "`territry` is not a valid relation for `account`"),
    ("    define member: [user, team#member]", "    define member: [usr, team#member]", "`usr` is not a valid type"),
    ("    define blocked: [user, team#member]", "    define blocked [user, team#member]", "syntax"),
])
def test_an_fga_model_error_points_at_the_models_line_in_the_file(old, new, problem):
    text, line = _edit(old, new)
    error = _error(text)
    assert str(error).startswith(f"{EDITED}:{line}: fga.model: invalid_authorization_model: ")
    assert problem in str(error) or problem == "syntax"


def test_a_missing_field_points_at_its_table():
    text, _ = _edit('title = "Sales agent: from shadow AI to governed, monitored delegation"\n', "")
    assert str(_error(text)).startswith(f"{EDITED}:{TEXT[:TEXT.index('[scenario]')].count(chr(10)) + 1}: "
                                        "scenario.title: missing")


def test_a_missing_section_is_reported_at_line_1():
    start = TEXT.index("[google]")
    end = TEXT.index("[[people]]")
    assert str(_error(TEXT[:start] + TEXT[end:])).startswith(f"{EDITED}:1: google: missing table")


def test_an_mcp_catalogue_error_names_the_catalogue_and_its_line(tmp_path):
    catalogue = (WORLDS_DIR / "sales-agent.mcp.toml").read_text()
    start = catalogue.index('kind = "crm"')
    (tmp_path / "sales-agent.mcp.toml").write_text(catalogue[:start] + 'kind = "crmx"' + catalogue[start + 12:])
    with pytest.raises(WorldError) as caught:
        parse_world(TEXT, source=str(tmp_path / "w.toml"))
    line = catalogue[:start].count("\n") + 1
    assert str(caught.value).startswith(f"{tmp_path / 'sales-agent.mcp.toml'}:{line}: servers[0].kind: ")


def test_the_shipped_world_parses():
    world = parse_world(TEXT, source=str(SOURCE))
    assert world.expectations and world.index is not None
    assert world.rotation_policy("sales-agent-prod-001", default={}) == {"every_days": 90, "overlap_hours": 24,
                                                                          "lease_hours": 1}
    assert world.rotation_policy("someone-else", default={"every_days": 7}) == {"every_days": 7}
    assert world.error("phases[0].number", "x").line == TEXT[:TEXT.index("number = 1")].count("\n") + 1
