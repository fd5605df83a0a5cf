"""Chunking and the deterministic stand-in embedding of the financial RAG scenario."""

import math

import pytest

from protocols.retrieval import Report, chunk_report, cosine, embed, features

REPORT = Report(id="retail-q3", division="retail", quarter="2025-Q3", title="Retail Q3",
                text="Revenue was 184.2 million euros.  Margin was 7.8 percent! Outlook is stable? Stores grew.")


def test_chunks_keep_whole_sentences_and_their_report():
    chunks = chunk_report(REPORT, sentences_per_chunk=2)
    assert [c.id for c in chunks] == ["retail-q3#1", "retail-q3#2"]
    assert chunks[0].text == "Retail Q3: Revenue was 184.2 million euros. Margin was 7.8 percent!"
    assert {c.report for c in chunks} == {"retail-q3"}
    with pytest.raises(ValueError):
        chunk_report(REPORT, sentences_per_chunk=0)


def test_embedding_is_deterministic_normalised_and_lexical():
    a, b = embed("Q3 results revenue margin"), embed("Q3 results revenue margin")
    assert a == b and math.isclose(math.sqrt(sum(v * v for v in a)), 1.0)
    assert "184.2" in features("revenue of 184.2 million") and "the" not in features("the revenue")
    near, far = embed("Q3 revenue and operating margin"), embed("parcel volumes grew in the warehouse")
    assert cosine(a, near) > cosine(a, far)
    assert embed("") == [0.0] * len(a)
