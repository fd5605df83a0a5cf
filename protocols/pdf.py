"""A minimal, deterministic PDF 1.4 writer for one-page text documents (ISO 32000-1 §7.5 file
structure: header, body objects, cross-reference table, trailer; §9 text with the standard
Helvetica font in WinAnsiEncoding), and the matching text extraction used to read documents back.

Enough for the agent's proposal: a title and lines of text. The bytes depend only on the input
(the creation date is passed in), so runs with the same seed produce the same file.
"""

from __future__ import annotations

import re

PAGE_WIDTH, PAGE_HEIGHT = 595, 842  # A4 in points
MARGIN, LEADING, MAX_LINES = 56, 16, 44


def _escape(text: str) -> bytes:
    """A PDF literal string (§7.3.4.2) in WinAnsiEncoding; characters outside it become ``?``."""
    raw = text.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def render_pdf(*, title: str, lines: list[str], creation_date: str) -> bytes:
    """``creation_date`` in PDF date form (``D:20250106103000Z``, §7.9.4)."""
    if len(lines) > MAX_LINES:
        raise ValueError(f"at most {MAX_LINES} lines fit on the page")
    text = [b"BT", b"/F1 16 Tf", f"{MARGIN} {PAGE_HEIGHT - MARGIN} Td".encode(), b"(" + _escape(title) + b") Tj",
            b"/F1 10 Tf", f"0 -{LEADING * 2} Td".encode()]
    for line in lines:
        text += [b"(" + _escape(line) + b") Tj", f"0 -{LEADING} Td".encode()]
    text.append(b"ET")
    stream = b"\n".join(text)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] "
        f"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream",
        b"<< /Title (" + _escape(title) + b") /Producer (trustbench) /CreationDate (" + creation_date.encode() + b") >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {len(objects)} 0 R >>\n"
            f"startxref\n{xref}\n%%EOF\n").encode()
    return bytes(out)


_SHOWN = re.compile(rb"\(((?:\\.|[^\\)])*)\)\s*Tj")


def extract_text(pdf: bytes) -> list[str]:
    """The strings shown with ``Tj`` in the content streams, in order (title first)."""
    if not pdf.startswith(b"%PDF-"):
        raise ValueError("not a PDF file")
    found = []
    for match in _SHOWN.finditer(pdf):
        raw = re.sub(rb"\\(.)", rb"\1", match.group(1))
        found.append(raw.decode("cp1252", errors="replace"))
    return found
