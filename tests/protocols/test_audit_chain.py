"""The audit hash chain: every change, deletion or reordering is detected and located."""

import attrs

from protocols.audit_chain import GENESIS_HASH, AuditEntry, verify_chain


def chain(n=4):
    entries, previous = [], GENESIS_HASH
    for seq in range(1, n + 1):
        entry = AuditEntry(seq=seq, time=f"2025-01-06T09:00:0{seq}Z", actor="idp", event="token.issued",
                           subject="sarah", decision="allow", details={"n": seq}, prev_hash=previous).sealed()
        entries.append(entry)
        previous = entry.hash
    return entries


def test_an_intact_chain_verifies():
    report = verify_chain(chain())
    assert report.ok and report.entries == 4 and report.broken_seq is None


def test_an_altered_entry_is_named():
    entries = chain()
    entries[2] = attrs.evolve(entries[2], decision="deny")
    report = verify_chain(entries)
    assert not report.ok and report.broken_seq == 3 and "altered" in report.problem


def test_a_resealed_entry_breaks_the_next_link():
    entries = chain()
    entries[1] = attrs.evolve(entries[1], details={"n": 99}).sealed()
    report = verify_chain(entries)
    assert not report.ok and report.broken_seq == 3 and "link" in report.problem


def test_deletion_and_reordering_are_detected():
    entries = chain()
    assert verify_chain(entries[:1] + entries[2:]).broken_seq == 3
    assert not verify_chain([entries[1], entries[0], *entries[2:]]).ok


def test_entries_round_trip_through_json():
    entry = chain(1)[0]
    assert AuditEntry.from_json(entry.to_json()) == entry
