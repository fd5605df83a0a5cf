"""scenarios.toml_lines: the line of every key path of a TOML document."""

import tomllib

import pytest

from scenarios.toml_lines import index_toml, key_lines, line_of, parse_path, toml_error_line

DOCUMENT = '''# a comment with [brackets] and key = "value"
[scenario]
name = "x"   # trailing [comment]

[[people]]
id = "sarah"

[[people]]
id = "john"
"quoted key" = 'literal # not a comment'
manager = "sarah"

[[agents]]
id = "a1"

[agents.integrations]
salesforce = ["crm.read"]
"google-drive" = [
  "drive.file",   # a comment inside an array
  "drive.readonly",
]

[fga]
model = """
model
  schema 1.1
type user   # "quotes" and [brackets] inside the string
"""
tuples = [
  { user = "user:sarah", relation = "member", object = "team:a" },
  { user = "user:john", relation = "member", object = "team:b" },
]

[pricing]
site.name = "dotted"

[[pricing.prices]]
sku = "A"

[[pricing.prices]]
sku = "B"
'''


def _line(text: str, needle: str) -> int:
    return text[:text.index(needle)].count("\n") + 1


@pytest.fixture(scope="module")
def index():
    tomllib.loads(DOCUMENT)  # the walk assumes a document tomllib accepts
    return index_toml(DOCUMENT)


@pytest.mark.parametrize(("where", "needle"), [
    ("scenario", "[scenario]"),
    ("scenario.name", 'name = "x"'),
    ("people[0]", '[[people]]\nid = "sarah"'),
    ("people[1].id", 'id = "john"'),
    ("people[1].quoted key", '"quoted key"'),
    ("people[1].manager", 'manager = "sarah"'),
    ("agents[0].integrations", "[agents.integrations]"),
    ("agents[0].integrations.google-drive", '"google-drive"'),
    ("agents[0].integrations.google-drive[1]", '"drive.readonly"'),
    ("fga.model", "model = "),
    ("fga.tuples[0]", '{ user = "user:sarah"'),
    ("fga.tuples[1].object", 'object = "team:b"'),
    ("pricing.site.name", "site.name"),
    ("pricing.prices[1].sku", 'sku = "B"'),
])
def test_each_path_is_found_on_its_line(index, where, needle):
    assert index.line_of(where) == _line(DOCUMENT, needle)


def test_a_missing_key_points_at_its_table(index):
    assert index.line_of("people[1].email") == _line(DOCUMENT, 'id = "john"') - 1  # the [[people]] header
    assert index.line_of("detection.high") is None


def test_a_line_inside_a_multiline_string(index):
    # TOML drops the newline right after the opening quotes: line 0 of the model is "model"
    assert index.string_line("fga.model", 0) == _line(DOCUMENT, "model\n  schema")
    assert index.string_line("fga.model", 2) == _line(DOCUMENT, "type user")


def test_the_shipped_worlds_are_indexed_to_their_last_key():
    from scenarios.world import WORLDS_DIR

    for path in sorted(WORLDS_DIR.glob("*.toml")):
        text = path.read_text()
        lines = key_lines(text)
        last = max(i for i, line in enumerate(text.splitlines(), 1) if "=" in line.split("#")[0])
        assert max(lines.values()) >= last - 1, path.name  # the walk did not stop early


def test_parse_path():
    assert parse_path("people[1].manager") == ("people", 1, "manager")
    assert parse_path("fga.tuples[12]") == ("fga", "tuples", 12)
    assert line_of({("a",): 3}, "a.b[2].c") == 3


def test_the_line_of_a_toml_syntax_error():
    text = 'a = 1\nb = "open\n'
    with pytest.raises(tomllib.TOMLDecodeError) as caught:
        tomllib.loads(text)
    assert toml_error_line(caught.value, text) == 2
