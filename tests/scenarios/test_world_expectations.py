"""``[[expectations]]`` in a world file: parsed and validated with the file's line (scenarios.expectations)."""

from decimal import Decimal

import pytest

from scenarios.world import WORLDS_DIR, WorldError, parse_world

BASE = (WORLDS_DIR / "procurement.toml").read_text()
BASE = BASE[:BASE.index("# --- Expectations")]  # the shipped world without its own expectations
SOURCE = str(WORLDS_DIR / "w.toml")


def _world(block: str):
    return parse_world(BASE + block, source=SOURCE)


def _error_at(block: str) -> tuple[str, int]:
    """The error message and the line (in the whole text) it must name: the line marked ``# <-``."""
    text = BASE + block
    line = text[:text.index("# <-")].count("\n") + 1
    with pytest.raises(WorldError) as caught:
        parse_world(text, source=SOURCE)
    assert caught.value.line == line, str(caught.value)
    return str(caught.value), line


def test_each_kind_parses_with_its_line_and_sentence():
    world = _world('''
[[expectations]]
kind = "access"
user = "tom"
resource = "crm://contacts/acme-corp"
decision = "deny"

[[expectations]]
kind = "approval"
amount = 5000
outcome = "approved"
type = "purchase_approval"

[[expectations]]
kind = "scope"
scope = "purchase:order"
decision = "granted"
description = "the approval grants purchase:order"

[[expectations]]
kind = "event"
event = "action.executed"
at_most = 0

[[expectations]]
kind = "containment"
within = 300
''')
    access, approval, scope, event, containment = world.expectations
    assert access.fields["subject"] == "user:tom" and access.fields["object"] == "resource:crm/contacts/acme-corp"
    assert access.text == "FGA denies user:tom viewer on crm://contacts/acme-corp"
    assert approval.fields["amount"] == Decimal("5000") and approval.fields["currency"] == "EUR"
    assert approval.text == "a purchase approval of 5 000.00 EUR needs approval and is approved"
    assert scope.text == "the approval grants purchase:order"
    assert event.text == "action.executed never recorded" and event.fields["at_least"] == 0
    assert containment.text == "an incident contained within 300 s of detection"
    text = BASE
    first = text.count("\n") + 2  # the blank line, then [[expectations]]
    assert [x.line for x in world.expectations][0] == first
    assert [x.where for x in world.expectations] == [f"expectations[{i}]" for i in range(5)]


@pytest.mark.parametrize(("block", "problem"), [
    ('[[expectations]]\nkind = "acess"  # <-\n', "expectations[0].kind: must be one of access,"),
    ('[[expectations]]  # <-\nscope = "x"\n', "expectations[0].kind: missing"),
    ('[[expectations]]\nkind = "scope"\nscope = "x"\ndecision = "refused"\nwho = "tom"  # <-\n',
     "expectations[0].who: unknown field for the scope kind"),
    ('[[expectations]]\nkind = "access"\nuser = "bob"  # <-\nresource = "crm://a/b"\ndecision = "allow"\n',
     "expectations[0].user: unknown person 'bob'"),
    ('[[expectations]]\nkind = "scope"\nscope = "x"\ndecision = "refused"\nagent = "nobody"  # <-\n',
     "expectations[0].agent: unknown agent 'nobody'"),
    ('[[expectations]]\nkind = "phase"\nphase = 9  # <-\n', "expectations[0].phase: the world has no phase 9"),
    ('[[expectations]]  # <-\nkind = "containment"\n', "expectations[0].within: missing"),
    ('[[expectations]]\nkind = "containment"\nwithin = -1  # <-\n', "expectations[0].within: expected a number >= 0"),
    ('[[expectations]]\nkind = "containment"\nwithin = 1\nmeasured_from = "theft"  # <-\n',
     "expectations[0].measured_from: must be one of detection, first_read"),
    ('[[expectations]]\nkind = "approval"\namount = "a lot"  # <-\noutcome = "approved"\n',
     "expectations[0].amount: not a number"),
    ('[[expectations]]\nkind = "approval"\namount = "10"\noutcome = "maybe"  # <-\n',
     "expectations[0].outcome: must be one of requested, approved"),
    ('[[expectations]]  # <-\nkind = "access"\nresource = "crm://a/b"\ndecision = "allow"\n',
     "expectations[0].user: give either user"),
    ('[[expectations]]\nkind = "access"\nuser = "tom"\nresource = "not a uri"  # <-\ndecision = "allow"\n',
     "expectations[0].resource: not a scheme://path resource URI"),
    ('[[expectations]]  # <-\nkind = "fact"\nphase = 1\nfact = "calls"\n',
     "expectations[0]: a fact expectation needs equals, at_least or at_most"),
    ('[[expectations]]\nkind = "event"\nevent = "x.y"\nat_least = 2\nat_most = 1  # <-\n',
     "expectations[0].at_most: is below at_least"),
])
def test_a_malformed_expectation_is_a_world_error_at_its_line(block, problem):
    message, line = _error_at("\n" + block)
    assert message.startswith(f"{SOURCE}:{line}: {problem}")
