"""The case bundle's renderers (no database): JSON as the contract says, and a PDF that prints a debtor's text as
text, runs long sections over pages, and says when a section is empty.

`pdf_text` reads what the PDF shows without a PDF library: ReportLab's page streams, inflated (ASCII85 and Flate, as
it writes them when compressing), their text-showing operators decoded; a line the layout wrapped reads as one.
"""
from __future__ import annotations

import base64
import json
import re
import zlib
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bot.legal.bundle import bundle_json, bundle_pdf, markup

_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\n?endstream", re.S)
_TEXT_BLOCK = re.compile(rb"\bBT\b(.*?)\bET\b", re.S)
_SHOW = re.compile(rb"\(((?:\\.|[^\\()])*)\)\s*Tj|T\*", re.S)
_ESCAPES = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("f"): b"\f"}


def _unescape(raw: bytes) -> bytes:
    """A PDF literal string's bytes: `\\(`, `\\)`, `\\\\`, `\\n`... and octal `\\ddd` undone."""
    out, i = bytearray(), 0
    while i < len(raw):
        if raw[i] == 0x5C and i + 1 < len(raw):
            octal = re.match(rb"[0-7]{1,3}", raw[i + 1:i + 4])
            if octal:
                out.append(int(octal.group(0), 8) & 0xFF)
                i += 1 + len(octal.group(0))
            else:
                out += _ESCAPES.get(raw[i + 1], bytes([raw[i + 1]]))
                i += 2
        else:
            out.append(raw[i])
            i += 1
    return bytes(out)


def _inflated(raw: bytes) -> bytes:
    data = raw.strip()
    if data.endswith(b"~>"):
        data = base64.a85decode(data[:-2])
    try:
        return zlib.decompress(data)
    except zlib.error:
        return raw


def pdf_text(pdf: bytes) -> str:
    """The text the PDF shows, one text object a line (the Helvetica fonts' WinAnsi bytes read as cp1252)."""
    lines = []
    for raw in _STREAM.findall(pdf):
        for block in _TEXT_BLOCK.findall(_inflated(raw)):
            parts = [" " if m.group(0) == b"T*" else _unescape(m.group(1)).decode("cp1252", "replace")
                     for m in _SHOW.finditer(block)]
            lines.append(re.sub(" +", " ", "".join(parts)).strip())
    return "\n".join(lines)


def flat(pdf: bytes) -> str:
    """`pdf_text` on one line: a label and its value (two cells, two text objects) read as "Label value"."""
    return " ".join(pdf_text(pdf).split())


def pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b", pdf))


def render(tmp_path: Path, data: dict, *, compress: bool = False) -> bytes:
    out = tmp_path / "bundle" / "case.pdf"
    bundle_pdf(data, out, compress=compress)
    return out.read_bytes()


MOVED = datetime(2027, 3, 1, 18, 0, tzinfo=UTC)


def case(**more) -> dict:
    return {"agency": "Northgate Services", "account_ref": "ACC-1001", "debtor_name": "Jordan Avery",
            "creditor": "Acme Telecom Ltd", "original_creditor": "Acme Mobile", "currency": "USD",
            "balance": Decimal("1234.56"), "why": "plan broken 2026-12-20; no contact for 96 days; balance $1,234.56",
            "moved_by": "sue", "moved_at": MOVED, "generated_at": MOVED, "note": "", **more}


def chat(*lines: str, conversation: str = "web-1") -> dict:
    return {"conversation_id": conversation, "kind": "chat", "channel": "web chat",
            "lines": [{"at": f"2026-11-25T18:{n // 60 % 60:02d}:{n % 60:02d}.000+00:00",
                       "speaker": "debtor" if n % 2 else "bot", "text": text} for n, text in enumerate(lines)]}


# ---- JSON --------------------------------------------------------------------------------------------------------

def test_the_json_has_sorted_keys_amounts_as_strings_and_iso_dates():
    text = bundle_json({"z": 1, "balance": Decimal("1234.50"), "on": date(2027, 2, 11), "at": MOVED,
                        "items": [{"b": Decimal("0.10"), "a": None}]})
    assert json.loads(text) == {"at": "2027-03-01T18:00:00+00:00", "balance": "1234.50", "items": [
        {"a": None, "b": "0.10"}], "on": "2027-02-11", "z": 1}
    assert text.index('"at"') < text.index('"balance"') < text.index('"items"') < text.index('"on"') < \
        text.index('"z"')
    assert bundle_json({"name": "Zoë <b>"}) == '{\n  "name": "Zoë <b>"\n}\n'


def test_the_json_refuses_what_it_cannot_write_faithfully():
    with pytest.raises(TypeError, match="object"):
        bundle_json({"x": object()})


# ---- escaping ----------------------------------------------------------------------------------------------------

def test_markup_says_exactly_the_text():
    assert markup("a < b & c > d\r\nnext") == "a &lt; b &amp; c &gt; d<br/>next"
    assert markup("bell\x07 and\x00 nul") == "bell  and  nul"
    assert markup("x" * 20, limit=10) == "x" * 9 + "\u2026"
    assert markup(None) == "" and markup(Decimal("1.50")) == "1.50"


def test_a_debtors_markup_is_printed_not_obeyed(tmp_path):
    said = ("<font size=100 color=red>HUGE</font> <a href=\"javascript:alert(1)\">pay here</a> "
            "<img src=\"/etc/passwd\"/> &amp; <b>bold</b>")
    pdf = render(tmp_path, case(transcripts=[chat("Hello", said)], note="<para>note</para>",
                                debtor_name="Jordan <i>Avery</i>"))
    text = pdf_text(pdf)
    assert said in text
    assert "<para>note</para>" in text and "Jordan <i>Avery</i>" in text
    assert b" 100 Tf" not in _inflated_all(pdf)  # no text was set at size 100
    assert b"/URI" not in pdf and b"/Annot" not in pdf and b"/Subtype /Image" not in pdf


def _inflated_all(pdf: bytes) -> bytes:
    return b"\n".join(_inflated(raw) for raw in _STREAM.findall(pdf))


def test_characters_the_fonts_lack_do_not_fail_the_bundle(tmp_path):
    text = pdf_text(render(tmp_path, case(transcripts=[chat("Hi", "café 中文 😀 ok")]), compress=True))
    assert "café" in text and "ok" in text


# ---- layout ------------------------------------------------------------------------------------------------------

def test_the_title_page_says_who_what_why_and_when(tmp_path):
    text = flat(render(tmp_path, case(note="Letters returned unopened.")))
    for shown in ("Case file for legal review", "Northgate Services", "ACC-1001", "Jordan Avery",
                  "Acme Telecom Ltd (original creditor: Acme Mobile)", "$1,234.56",
                  "plan broken 2026-12-20; no contact for 96 days; balance $1,234.56", "sue",
                  "When 2027-03-01 18:00:00 UTC", "Moved by sue", "Letters returned unopened.", "page 1"):
        assert shown in text, shown


def test_a_long_transcript_runs_over_pages_and_keeps_every_line(tmp_path):
    lines = [f"line {n} of what the debtor said" for n in range(1500)]
    pdf = render(tmp_path, case(transcripts=[chat(*lines)]))
    text = pdf_text(pdf)
    assert pages(pdf) > 20
    assert "line 0 of what" in text and "line 1499 of what the debtor said" in text
    assert f"page {pages(pdf)}" in text


def test_a_line_longer_than_a_page_and_a_word_longer_than_a_line_still_fit(tmp_path):
    endless = " ".join(["words"] * 12000)  # more than a page of one paragraph
    pdf = render(tmp_path, case(transcripts=[chat("x" * 5000, endless)]))
    assert pages(pdf) > 3
    assert pdf_text(pdf).count("words") == 12000


def test_long_tables_repeat_their_header_and_a_huge_cell_is_cut_to_fit(tmp_path):
    log = [{"at": MOVED, "actor": "assistant", "action": "hardship_noted", "conversation_id": "web-1",
            "details": {"circumstances": f"entry {n} " + "lost my job " * 3}} for n in range(400)]
    log.append({"at": MOVED, "actor": "assistant", "action": "hardship_noted", "conversation_id": "web-1",
                "details": {"circumstances": "y " * 20000}})  # one row taller than a page, if it were not cut
    pdf = render(tmp_path, case(audit_log=log))
    text = pdf_text(pdf)
    assert "entry 399 lost my job" in text and "\u2026" in text
    assert text.count("Conversation") >= 4  # the audit table's header on each of its pages


def test_every_table_shows_its_rows(tmp_path):
    text = flat(render(tmp_path, case(
        account={"account_ref": "ACC-1001", "status": "legal", "currency": "USD", "balance": "1234.56",
                 "principal": "1100.00", "flags": {"attorney": True, "cease": False},
                 "contact_points": [{"kind": "phone", "value": "+15551230001", "status": "active"}]},
        agreements=[{"kind": "plan", "status": "broken", "agreed_at": MOVED, "terms": "6 instalments",
                     "authorized_by": "assistant (bot)", "ended_on": date(2026, 12, 20),
                     "end_reason": "the instalment due 2026-12-01 was not paid"}],
        payments=[{"paid_on": date(2026, 12, 1), "amount": Decimal("50.00"), "reference": "PAY-1",
                   "source": "csv"}],
        contact_history=[{"at": MOVED, "channel": "call", "what": "call by ana to +15551230001: conversation"}],
        notes=[{"at": MOVED, "author": "ana", "text": "Promised to call back."}])))
    for shown in ("Status legal", "$1,100.00", "attorney", "+15551230001 (active)", "6 instalments",
                  "2026-12-20", "the instalment due 2026-12-01 was not paid", "PAY-1", "$50.00",
                  "call by ana to +15551230001: conversation", "Promised to call back."):
        assert shown in text, shown


def test_empty_sections_say_they_were_looked_for(tmp_path):
    text = pdf_text(render(tmp_path, {}))
    for said in ("No account data.", "No agreement was ever made.", "No payment was received.",
                 "No contact on record.", "No note was written.", "The audit log is empty.",
                 "No conversation on record."):
        assert said in text, said
    text = pdf_text(render(tmp_path, case(transcripts=[{"conversation_id": "call-3", "kind": "call", "lines": []}])))
    assert "Phone call call-3" in text and "Nothing was said, or it is no longer kept." in text


def test_the_same_data_gives_the_same_bytes_and_compression_is_the_default(tmp_path):
    data = case(transcripts=[chat("Hello", "I can pay 50 a month")])
    first, second = tmp_path / "a.pdf", tmp_path / "b.pdf"
    bundle_pdf(data, first)
    bundle_pdf(data, second)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes().startswith(b"%PDF-") and b"I can pay 50" not in first.read_bytes()
    assert "I can pay 50 a month" in pdf_text(first.read_bytes())
