"""The ``[rag]`` and ``[consent]`` world sections: the shipped worlds parse; a malformed one is one
line ``FILE:LINE: FIELD: PROBLEM`` at the line that was changed."""

import pytest

from scenarios.world import WORLDS_DIR, WorldError, parse_world

RAG = (WORLDS_DIR / "financial-rag.toml").read_text()
CONSENT = (WORLDS_DIR / "b2c-consent.toml").read_text()


def test_the_shipped_worlds_parse():
    rag = parse_world(RAG, source="financial-rag.toml").rag
    assert rag is not None and rag.divisions() == ("energy", "logistics", "retail") and len(rag.reports) == 6
    consent = parse_world(CONSENT, source="b2c-consent.toml").consent
    assert consent is not None and consent.decision("emma", "travelbot").grant == ("calendar.readonly",)
    assert consent.policy.approved == {"acme-scheduler": ("calendar.readonly", "calendar.events")}


@pytest.mark.parametrize(("text", "old", "new", "where", "problem"), [
    (RAG, 'agent = "finance-rag-agent"\nservice', 'agent = "nobody"\nservice', "rag.agent", "unknown agent"),
    (RAG, "k = 6", "k = 0", "rag.k", "from 1 to 20"),
    (RAG, 'id = "retail-q2-2025"', 'id = "retail-q3-2025"', "rag.reports[1].id", "share the id"),
    (RAG, 'id = "energy-q3-2025"', 'id = "energy q3"', "rag.reports[2].id", "not a valid FGA object id"),
    (RAG, "sentences_per_chunk = 2", "sentences = 2", "rag.sentences", "unknown"),
    (CONSENT, 'grant = ["calendar.readonly"]', 'grant = ["calendar.admin"]', "consent.decisions[0].grant",
     "unknown google scope 'calendar.admin'"),
    (CONSENT, 'person = "liam"', 'person = "noah"', "consent.decisions[1].person", "unknown person 'noah'"),
    (CONSENT, 'provider = "fitness"', 'provider = "strava"', "consent.apps[1].provider", "must be one of"),
    (CONSENT, "users_may_consent = false", 'users_may_consent = "no"', "consent.policy.users_may_consent",
     "true or false"),
])
def test_a_bad_section_is_one_precise_line(text, old, new, where, problem):
    assert text.count(old) >= 1, old
    start = text.index(old)
    edited, line = text[:start] + new + text[start + len(old):], text[:start].count("\n") + 1
    with pytest.raises(WorldError) as caught:
        parse_world(edited, source="my-world.toml")
    message = str(caught.value)
    assert message.startswith(f"my-world.toml:{line}: {where}: ") and problem in message and "\n" not in message
