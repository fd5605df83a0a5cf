"""What the agent sends through the Workspace APIs: RFC 5322/MIME messages with attachments,
RFC 2387 uploads, a deterministic one-page PDF, and free/busy arithmetic."""

import pytest

from protocols.calendar import WorkingHours, free_slots, merge, parse_rfc3339, rfc3339
from protocols.mime import (
    Attachment, MailMessage, MalformedMessage, build_message, build_related, decode_raw, encode_raw, mailbox,
    parse_message, parse_related,
)
from protocols.pdf import extract_text, render_pdf

NOW = 1736159400  # 2025-01-06T10:30:00Z, a Monday
PDF = render_pdf(title="Proposal (Q1)", lines=["Total: 450 000 €", r"a\b"], creation_date="D:20250106103000Z")


def test_message_with_attachment_round_trips_through_gmail_raw():
    message = MailMessage(sender=mailbox("sarah@acme.example", "Sarah Johnson"), to=("julie@cust.example",),
                          cc=("robert@cust.example",), subject="Acme Corp — proposal", text="Hello Julie,\nSee attached.",
                          attachments=(Attachment(filename="Acme-Corp-Q1.pdf", content_type="application/pdf",
                                                  content=PDF),), message_id="<m1@acme.example>")
    raw = build_message(message, boundary="=_b1", now=NOW)
    assert raw == build_message(message, boundary="=_b1", now=NOW)  # deterministic
    parsed = parse_message(decode_raw(encode_raw(raw)))
    assert (parsed.sender, parsed.to, parsed.cc) == ("sarah@acme.example", ("julie@cust.example",),
                                                      ("robert@cust.example",))
    assert parsed.subject == "Acme Corp — proposal" and parsed.text.strip() == "Hello Julie,\nSee attached."
    (attachment,) = parsed.attachments
    assert attachment.filename == "Acme-Corp-Q1.pdf" and attachment.content == PDF
    assert "Mon, 06 Jan 2025 10:30:00" in parsed.date


@pytest.mark.parametrize("raw", [b"Subject: x\r\n\r\nno sender", b"From: nobody\r\nTo: a@b.c\r\n\r\nx",
                                 b"From: a@b.c\r\n\r\nno recipient"])
def test_unusable_messages_are_refused(raw):
    with pytest.raises(MalformedMessage):
        parse_message(raw)
    with pytest.raises(MalformedMessage):
        decode_raw("###")


def test_related_upload_round_trips_and_bad_bodies_are_refused():
    content_type, body = build_related(metadata={"name": "f.pdf", "parents": ["p1"]}, content=PDF,
                                       content_type="application/pdf", boundary="b42")
    metadata, content, mime = parse_related(content_type=content_type, body=body)
    assert metadata == {"name": "f.pdf", "parents": ["p1"]} and content == PDF and mime == "application/pdf"
    with pytest.raises(MalformedMessage):
        parse_related(content_type="application/json", body=b"{}")
    with pytest.raises(MalformedMessage):
        parse_related(content_type='multipart/related; boundary="x"', body=b"--x\r\n\r\nonly one part\r\n--x--")


def test_pdf_is_a_valid_deterministic_file_with_its_text():
    assert PDF.startswith(b"%PDF-1.4") and PDF.rstrip().endswith(b"%%EOF")
    assert render_pdf(title="Proposal (Q1)", lines=["Total: 450 000 €", r"a\b"],
                      creation_date="D:20250106103000Z") == PDF
    xref = int(PDF.rsplit(b"startxref\n", 1)[1].split()[0])
    assert PDF[xref:xref + 4] == b"xref"
    offsets = [int(line[:10]) for line in PDF[xref:].split(b"\n")[3:9]]
    assert all(PDF[o:].split(b" ", 1)[0].isdigit() and b" 0 obj" in PDF[o:o + 12] for o in offsets)
    assert extract_text(PDF)[:3] == ["Proposal (Q1)", "Total: 450 000 €", r"a\b"]
    with pytest.raises(ValueError):
        render_pdf(title="t", lines=["x"] * 100, creation_date="D:2025")


def test_free_slots_skip_busy_periods_nights_and_weekends():
    day = parse_rfc3339("2025-01-07T00:00:00Z")  # Tuesday
    busy = [(parse_rfc3339("2025-01-07T09:00:00Z"), parse_rfc3339("2025-01-07T11:30:00Z")),
            (parse_rfc3339("2025-01-07T11:00:00Z"), parse_rfc3339("2025-01-07T17:00:00Z"))]
    assert merge(busy) == [(busy[0][0], busy[1][1])]
    slots = free_slots(busy=busy, start=day, end=day + 5 * 86400, duration=1800, hours=WorkingHours())
    assert rfc3339(slots[0][0]) == "2025-01-08T09:00:00Z"
    assert not [s for s, _ in slots if rfc3339(s)[:10] in ("2025-01-11", "2025-01-12")]  # the weekend
    assert all("09:00:00" <= rfc3339(s)[11:19] <= "16:30:00" for s, _ in slots)
    assert len([s for s, _ in slots if rfc3339(s)[:10] == "2025-01-08"]) == 16  # 09:00..16:30, every 30 minutes
    odd = [(parse_rfc3339("2025-01-08T09:10:00Z"), parse_rfc3339("2025-01-08T09:20:00Z"))]
    first = free_slots(busy=odd, start=day + 86400, end=day + 2 * 86400, duration=1800, hours=WorkingHours())[0]
    assert rfc3339(first[0]) == "2025-01-08T09:30:00Z"  # aligned after the busy period
    with pytest.raises(ValueError):
        parse_rfc3339("2025-01-08T09:00:00")
