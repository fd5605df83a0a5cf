"""Base worlds (``[scenario] extends``): the merge rules, ``drop``, errors named at the file and line
the value is in, a missing base, a cycle, too many bases, and a hash that covers every file."""

import hashlib
import os
import shutil

import attrs
import pytest

from protocols.jose.keys import Algorithm
from scenarios.cli import main
from scenarios.world import WORLDS_DIR, WorldError, load_world, parse_world

SALES = WORLDS_DIR / "sales-agent.toml"
SALES_TEXT = SALES.read_text()


def _line(text: str, fragment: str) -> int:
    assert text.count(fragment) == 1, fragment
    return text[:text.index(fragment)].count("\n") + 1


@pytest.fixture
def base(tmp_path):
    """A copy of the sales world (and its MCP catalogue) as ``base.toml`` in a temporary directory."""
    shutil.copy(WORLDS_DIR / "sales-agent.mcp.toml", tmp_path / "sales-agent.mcp.toml")
    (tmp_path / "base.toml").write_text(SALES_TEXT)
    return tmp_path / "base.toml"


def _world(directory, body: str, *, extends: str = "base.toml", name: str = "mine.toml"):
    path = directory / name
    path.write_text(f'[scenario]\nextends = "{extends}"\n{body}')
    return path


def _error(path) -> WorldError:
    with pytest.raises(WorldError) as caught:
        load_world(path)
    assert "\n" not in str(caught.value)
    return caught.value


def test_a_file_with_only_extends_is_the_base_world(base):
    mine, sales = load_world(_world(base.parent, "")), load_world(SALES)
    for field in attrs.fields(type(sales)):
        if field.name not in ("source", "sha256", "index"):
            assert getattr(mine, field.name) == getattr(sales, field.name), field.name


def test_tables_merge_key_by_key_and_other_values_replace(base):
    mine = load_world(_world(base.parent, 'title = "Ours"\n[idp]\nsigning_alg = "ES256"\n'
                                          '[[agents]]\nid = "sales-agent-prod-001"\nscopes = ["openid"]\n'
                                          '[agents.integrations]\nslack = ["chat:write"]\n'))
    sales = load_world(SALES)
    assert mine.title == "Ours" and mine.name == sales.name and mine.epoch == sales.epoch
    assert mine.idp == attrs.evolve(sales.idp, signing_alg=Algorithm.ES256)  # the other [idp] keys are the base's
    agent, base_agent = mine.agents[0], sales.agents[0]
    assert agent.scopes == ("openid",)  # an array of values replaces the base's
    assert agent.integrations == {**base_agent.integrations, "slack": ("chat:write",)}  # a table merges
    assert agent.name == base_agent.name and len(mine.agents) == len(sales.agents)


def test_arrays_of_tables_merge_by_identity_or_replace_wholesale(base):
    mine = load_world(_world(base.parent, '[[phases]]\nnumber = 8\nname = "Day 45"\n'
                                          '[[people]]\nid = "mike"\nname = "Mike"\nemail = "mike@acmecorp.example"\n'
                                          'login = "password"\nrole = "sales_rep"\nterritory = "NA"\n'
                                          '[[expectations]]\nkind = "audit_intact"\n'))
    sales = load_world(SALES)
    assert [p.number for p in mine.phases] == [p.number for p in sales.phases]
    assert mine.phases[-1] == attrs.evolve(sales.phases[-1], name="Day 45")  # merged into phase 8
    assert [p.id for p in mine.people] == [p.id for p in sales.people] + ["mike"]  # a new id is added
    assert [x.kind for x in mine.expectations] == ["audit_intact"]  # no identity: replaced wholesale


def test_drop_removes_sections_keys_and_selected_elements(base):
    drop = ["pricing", "managed_connections", "vault.egress", "expectations[kind=access]",
            "agents[id=sales-agent-prod-001].integrations.gmail", "phases[number=4]"]
    mine = load_world(_world(base.parent, f"drop = {drop}\n"))
    sales = load_world(SALES)
    assert mine.pricing is None and mine.managed_connections == () and sales.pricing is not None
    assert mine.connected.vault.egress is None and sales.connected.vault.egress is not None
    assert [x.kind for x in mine.expectations] == [x.kind for x in sales.expectations if x.kind != "access"]
    assert "gmail" not in mine.agents[0].integrations and "gmail" in sales.agents[0].integrations
    assert [p.number for p in mine.phases] == [p.number for p in sales.phases if p.number != 4]


def test_dropping_and_declaring_replaces_an_array_with_identities(base):
    mine = load_world(_world(base.parent, 'drop = ["phases", "expectations"]\n[[phases]]\nnumber = 2\n'
                                          'name = "Sign-in"\nat = "2025-01-06T09:00:00Z"\nuser = "sarah"\n'
                                          'agent = "sales-agent-prod-001"\n'))
    assert [(p.number, p.name) for p in mine.phases] == [(2, "Sign-in")]


@pytest.mark.parametrize(("drop", "problem"), [
    ('["phases[number=9]"]', "'phases[number=9]' matches nothing in the base world"),
    ('["vault.egres"]', "'vault.egres' matches nothing in the base world"),
    ('["phases[number]"]', "not a path: 'phases[number]'"),
    ('"pricing"', "expected a list of paths"),
])
def test_a_bad_drop_is_an_error_at_its_line(base, drop, problem):
    path = _world(base.parent, f"title = 'x'\ndrop = {drop}\n")
    error = _error(path)
    assert str(error).startswith(f"{path}:4: scenario.drop") and problem in str(error)


def test_drop_needs_a_base(tmp_path):
    path = tmp_path / "w.toml"
    path.write_text(SALES_TEXT.replace('[scenario]\n', '[scenario]\ndrop = ["pricing"]\n', 1))
    line = _line(SALES_TEXT, "[scenario]") + 1
    assert str(_error(path)) == f"{path}:{line}: scenario.drop: drops from a base world: needs scenario.extends"


def test_an_error_in_a_value_from_the_base_names_the_base_file_and_line(base):
    base.write_text(SALES_TEXT.replace('manager = "john"', 'manager = "bob"', 1))
    error = _error(_world(base.parent, 'title = "Ours"\n'))
    line = _line(base.read_text(), 'manager = "bob"')
    assert (error.source, error.line) == (str(base), line)
    assert str(error) == f"{base}:{line}: people[0].manager: unknown person 'bob'"


def test_an_error_from_the_base_names_the_field_as_the_base_says_it(base):
    base.write_text(SALES_TEXT.replace('kind = "phase"\nphase = 8', 'kind = "phase"\nphase = 9', 1))
    error = _error(_world(base.parent, 'drop = ["expectations[kind=access]"]\n'))  # 4 fewer before it
    line = _line(base.read_text(), "phase = 9")
    assert str(error).startswith(f"{base}:{line}: expectations[10].phase: the world has no phase 9")


def test_an_error_in_a_value_from_the_extending_file_names_it(base):
    path = _world(base.parent, '[idp]\nsigning_alg = "HS1"\n')
    assert str(_error(path)).startswith(f"{path}:4: idp.signing_alg: unsupported algorithm 'HS1'")
    path = _world(base.parent, '\n[[phases]]\nnumber = 8\nuser = "bob"\n')  # merged into the base's 8th
    assert str(_error(path)) == f"{path}:6: phases[0].user: unknown person 'bob'"  # as this file says it
    path = _world(base.parent, '[[people]]\nid = "sarah"\nterritroy = "NA"\n')
    assert str(_error(path)).startswith(f"{path}:5: people[0].territroy: unknown field")
    path = _world(base.parent, '[[phases]]\nnumber = 8\n[[phases]]\nnumber = 8\n')
    assert str(_error(path)) == f"{path}:6: phases[1].number: 8 is declared twice in this file"


def test_a_base_that_is_not_toml_names_the_base_line(base):
    base.write_text(SALES_TEXT.replace('name = "Acme Corp"', 'name = "Acme Corp', 1))
    error = _error(_world(base.parent, ""))
    line = _line(SALES_TEXT, 'name = "Acme Corp"')
    assert str(error).startswith(f"{base}:{line}: invalid TOML")


def test_a_missing_base_is_one_line_at_the_extends_line(tmp_path):
    path = _world(tmp_path, "", extends="nowhere.toml")
    assert str(_error(path)) == f"{path}:2: scenario.extends: no such world file {tmp_path / 'nowhere.toml'}"
    path.write_text('[scenario]\nname = "x"\nextends = 3\n')
    assert str(_error(path)).startswith(f"{path}:3: scenario.extends: expected a non-empty string")


def test_a_cycle_is_one_line(tmp_path):
    _world(tmp_path, "", extends="b.toml", name="a.toml")
    b = _world(tmp_path, "", extends="a.toml", name="b.toml")
    assert str(_error(tmp_path / "a.toml")) == f"{b}:2: scenario.extends: a cycle: a.toml -> b.toml -> a.toml"
    itself = _world(tmp_path, "", extends="c.toml", name="c.toml")
    assert str(_error(itself)) == f"{itself}:2: scenario.extends: a cycle: c.toml -> c.toml"


def test_more_than_four_bases_is_one_line(base):
    names = ["w0.toml", "w1.toml", "w2.toml", "w3.toml", "w4.toml", "base.toml"]
    for name, extends in zip(names, names[1:]):
        _world(base.parent, "", extends=extends, name=name)
    assert load_world(base.parent / "w1.toml").name == "sales-agent"  # four bases: fine
    error = _error(base.parent / "w0.toml")
    assert str(error) == (f"{base.parent / 'w4.toml'}:2: scenario.extends: more than 4 base worlds: "
                          "w0.toml -> w1.toml -> w2.toml -> w3.toml -> w4.toml -> ...")


def test_a_base_in_another_directory_keeps_its_relative_paths(tmp_path):
    relative = os.path.relpath(SALES, tmp_path)  # the MCP catalogue is found beside the base
    mine = load_world(_world(tmp_path, 'title = "Elsewhere"\n', extends=relative))
    assert mine.mcp == load_world(SALES).mcp and mine.title == "Elsewhere"


def test_the_hash_covers_the_base(base):
    path = _world(base.parent, 'title = "Ours"\n')
    before = load_world(path).sha256
    assert load_world(SALES).sha256 == hashlib.sha256(SALES_TEXT.encode()).hexdigest()  # one file: its hash
    assert before != load_world(SALES).sha256 and before == load_world(path).sha256
    base.write_text(SALES_TEXT.replace("key_rotation_days = 30", "key_rotation_days = 31", 1))
    assert load_world(path).sha256 != before


def test_the_comparison_world_is_the_sales_world_with_its_differences():
    tvu, sales = load_world(WORLDS_DIR / "traditional-vs-unified.toml"), load_world(SALES)
    assert tvu.name == "traditional-vs-unified" and tvu.phases[-1].name.endswith("the comparison table")
    assert tvu.phases[:-1] == sales.phases[:-1] and tvu.phases[-1].at == sales.phases[-1].at
    assert [x.fields for x in tvu.expectations] == [x.fields for x in sales.expectations]
    same = ("source", "sha256", "index", "name", "title", "phases", "expectations")
    for field in attrs.fields(type(sales)):
        if field.name not in same:
            assert getattr(tvu, field.name) == getattr(sales, field.name), field.name


def test_the_command_line_gives_one_line_and_exit_2(capsys, tmp_path):
    path = _world(tmp_path, "", extends="nowhere.toml")
    code = main(["check", str(path), "--out", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and err.strip() == f"{path}:2: scenario.extends: no such world file " \
                                                      f"{tmp_path / 'nowhere.toml'}"
