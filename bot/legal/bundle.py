"""The case bundle of an account handed to legal: the same data as JSON and as a readable PDF. Pure: no database.

`data` is what `bot.services.legal.bundle_data` gathers. Every key is optional to the renderer, and a section with
nothing in it says so instead of vanishing, so a reader knows it was looked for:

    agency, generated_at (datetime), account_ref, debtor_name, creditor, original_creditor, currency,
    balance (Decimal), why, moved_by, moved_at (datetime), note,
    account: the account JSON of SPEC section 5,
    agreements: [{kind, status, agreed_at, terms, authorized_by, ended_on, end_reason, conversation_id}],
    payments: [{paid_on, amount, reference, source, applied}],
    contact_history: [{at, channel, what, conversation_id}],
    notes: [{at, author, text}],
    audit_log: [{at, actor, action, conversation_id, details}],
    transcripts: [{conversation_id, kind ("chat" | "call"), channel, lines: [{at, speaker, text}]}]

Text from debtors (what they wrote or said, contact details they gave, notes quoting them) is untrusted. ReportLab's
Paragraph parses a mini-HTML (`<font size=...>`, `<a href=...>`, `<img src=...>`), so every text is escaped before it
becomes a Paragraph (a debtor's `<font size=100>` is printed, not obeyed), and control characters are dropped. The
PDF is set in the standard Helvetica fonts: nothing to embed, and its text stays searchable; a character they lack
is drawn as a box rather than failing the bundle. Long sections run on over as many pages as they need: tables
repeat their header row, a transcript line splits between pages.

The same data gives the same bytes (ReportLab's `invariant`: no creation time or random id in the file), so a bundle
can be checked against its hash.
"""
from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from bot.domain.money import MoneyError, format_money

MARGIN = 18 * mm
WIDTH = A4[0] - 2 * MARGIN  # of the text frame
CELL_CHARS = 800  # a table row cannot split between pages: a cell is cut short well before it fills one
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

_SHEET = getSampleStyleSheet()
TITLE = ParagraphStyle("BundleTitle", parent=_SHEET["Title"], fontSize=20, leading=24, spaceAfter=6 * mm)
H1 = ParagraphStyle("BundleH1", parent=_SHEET["Heading1"], fontSize=15, leading=18, spaceBefore=4 * mm)
H2 = ParagraphStyle("BundleH2", parent=_SHEET["Heading3"], fontSize=11, leading=14, spaceBefore=3 * mm)
BODY = ParagraphStyle("BundleBody", parent=_SHEET["BodyText"], fontSize=9.5, leading=12)
CELL = ParagraphStyle("BundleCell", parent=BODY, fontSize=8, leading=9.6, spaceBefore=0, spaceAfter=0)
HEAD = ParagraphStyle("BundleHead", parent=CELL, fontName="Helvetica-Bold")
LINE = ParagraphStyle("BundleLine", parent=BODY, fontSize=8.5, leading=10.5, leftIndent=12, firstLineIndent=-12,
                      spaceAfter=1.5)
EMPTY = ParagraphStyle("BundleEmpty", parent=BODY, textColor=colors.grey, fontName="Helvetica-Oblique")

_GRID = TableStyle([
    ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#BBBBBB")),
    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E8E8E8")),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("TOPPADDING", (0, 0), (-1, -1), 2),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ("LEFTPADDING", (0, 0), (-1, -1), 3),
    ("RIGHTPADDING", (0, 0), (-1, -1), 3),
])
_FACTS = TableStyle([
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("LINEBELOW", (0, 0), (-1, -1), 0.4, colors.HexColor("#DDDDDD")),
    ("TOPPADDING", (0, 0), (-1, -1), 3),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
])


# ---- JSON ------------------------------------------------------------------------------------------------------

def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):  # a datetime too
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} has no place in a case bundle")


def bundle_json(data: dict[str, Any]) -> str:
    """The bundle as JSON: keys sorted, amounts as strings (never floats), dates and times in ISO 8601."""
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False, default=_json_value) + "\n"


# ---- text --------------------------------------------------------------------------------------------------------

def plain(value: Any) -> str:
    """How a value reads in the bundle: times in UTC to the second, amounts as given, mappings as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value
        return f"{moment:%Y-%m-%d %H:%M:%S} UTC"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=_json_value)
    if isinstance(value, list | tuple):
        return ", ".join(plain(item) for item in value)
    return str(value)


def when(value: Any) -> str:
    """A time given as a datetime or as ISO 8601 text (the transcripts'), as `plain` writes it."""
    if isinstance(value, str):
        try:
            return plain(datetime.fromisoformat(value))
        except ValueError:
            return value
    return plain(value)


def markup(text: Any, limit: int | None = None) -> str:
    """Untrusted text as Paragraph markup that says exactly that text: control characters dropped, `& < >`
    escaped, line breaks kept; cut to `limit` characters (with an ellipsis) if given."""
    clean = _CONTROL.sub(" ", plain(text)).replace("\r\n", "\n").replace("\r", "\n")
    if limit is not None and len(clean) > limit:
        clean = clean[:limit - 1].rstrip() + "\u2026"
    return escape(clean).replace("\n", "<br/>")


def money(amount: Any, currency: str) -> str:
    """'$1,234.56' for an amount as a Decimal or its string; what it was given if it is not an amount."""
    try:
        return format_money(Decimal(str(amount)), currency)
    except (InvalidOperation, MoneyError, ValueError, KeyError):
        return plain(amount)


# ---- flowables ---------------------------------------------------------------------------------------------------

def _para(text: Any, style: ParagraphStyle = BODY, limit: int | None = None) -> Paragraph:
    return Paragraph(markup(text, limit), style)


def _empty(what: str) -> Paragraph:
    return Paragraph(escape(what), EMPTY)


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]], widths: Sequence[float]) -> Table:
    """A table with a header row repeated on every page it runs over; each cell escaped and cut to CELL_CHARS."""
    body = [[_para(cell, CELL, CELL_CHARS) for cell in row] for row in rows]
    scale = WIDTH / sum(widths)
    table = Table([[_para(title, HEAD) for title in header], *body], colWidths=[w * scale for w in widths],
                  repeatRows=1, hAlign="LEFT")
    table.setStyle(_GRID)
    return table


def _facts(pairs: Iterable[tuple[str, Any]]) -> Table:
    """Label and value, one pair a row: the title page and the account's summary."""
    rows = [[_para(label, HEAD), _para(value, BODY, CELL_CHARS * 2)] for label, value in pairs]
    table = Table(rows, colWidths=[WIDTH * 0.28, WIDTH * 0.72], hAlign="LEFT")
    table.setStyle(_FACTS)
    return table


def _title_page(data: dict[str, Any]) -> list[Flowable]:
    currency = str(data.get("currency") or "")
    creditor = data.get("creditor") or ""
    original = data.get("original_creditor")
    if original and original != creditor:
        creditor = f"{creditor} (original creditor: {original})"
    facts = [
        ("Agency", data.get("agency")),
        ("Account", data.get("account_ref")),
        ("Debtor", data.get("debtor_name")),
        ("Creditor", creditor),
        ("Balance", money(data.get("balance"), currency) if data.get("balance") is not None else ""),
        ("Why it went to legal", data.get("why")),
        ("Moved by", data.get("moved_by")),
        ("When", data.get("moved_at")),
    ]
    if data.get("note"):
        facts.append(("Supervisor's note", data["note"]))
    facts.append(("Bundle made", data.get("generated_at")))
    return [Paragraph("Case file for legal review", TITLE), _facts(facts), Spacer(1, 8 * mm),
            _para("Sections: account; agreements; payments; contact history; staff notes; audit log; transcripts. "
                  "Dates of birth given in conversations are withheld. Times are UTC.", EMPTY), PageBreak()]


def _account_section(data: dict[str, Any]) -> list[Flowable]:
    account = data.get("account") or {}
    flow: list[Flowable] = [Paragraph("Account", H1)]
    if not account:
        return [*flow, _empty("No account data.")]
    currency = str(account.get("currency") or data.get("currency") or "")
    creditor = account.get("creditor") or {}
    debtor = account.get("debtor") or {}
    flags = [name for name, on in (account.get("flags") or {}).items() if on]
    disputes = [f"{d.get('reference')}: {d.get('reason')}, {d.get('status')} (opened {when(d.get('opened_at'))})"
                for d in account.get("disputes") or []]
    points = [f"{p.get('kind')} {p.get('value')} ({p.get('status')}{', verified' if p.get('verified') else ''}"
              f"{', opted out of texts' if p.get('sms_opt_out') else ''})" for p in account.get("contact_points") or []]
    flow.append(_facts([
        ("Reference", account.get("account_ref")),
        ("Status", account.get("status")),
        ("Creditor", f"{creditor.get('name', '')} ({creditor.get('id', '')})"),
        ("Original creditor", account.get("original_creditor")),
        ("Placed on", account.get("placed_on")),
        ("Validation period ends", account.get("validation_ends_on")),
        ("Principal", money(account.get("principal"), currency)),
        ("Interest", money(account.get("interest"), currency)),
        ("Fees", money(account.get("fees"), currency)),
        ("Paid", money(account.get("paid"), currency)),
        ("Written off", money(account.get("written_off"), currency)),
        ("Balance", money(account.get("balance"), currency)),
        ("Debtor", f"{debtor.get('name', '')} (time zone {debtor.get('timezone', '')})"),
        ("Flags", ", ".join(flags) or "none"),
        ("Disputes", "\n".join(disputes) or "none"),
        ("Contact points", "\n".join(points) or "none"),
    ]))
    return flow


def _rows_section(title: str, items: Sequence[dict[str, Any]] | None, empty: str,
                  columns: Sequence[tuple[str, float, Any]]) -> list[Flowable]:
    """A section of one table; `columns` are (header, relative width, how a cell is read from an item)."""
    flow: list[Flowable] = [Paragraph(escape(title), H1)]
    if not items:
        return [*flow, _empty(empty)]
    rows = [[read(item) if callable(read) else item.get(read) for _title, _width, read in columns] for item in items]
    return [*flow, _table([c[0] for c in columns], rows, [c[1] for c in columns])]


def _transcripts(data: dict[str, Any]) -> list[Flowable]:
    flow: list[Flowable] = [Paragraph("Transcripts", H1)]
    transcripts = data.get("transcripts") or []
    if not transcripts:
        return [*flow, _empty("No conversation on record.")]
    for transcript in transcripts:
        kind = "phone call" if transcript.get("kind") == "call" else "conversation"
        flow.append(Paragraph(f"{escape(kind.capitalize())} {markup(transcript.get('conversation_id'))}", H2))
        lines = transcript.get("lines") or []
        if not lines:
            flow.append(_empty("Nothing was said, or it is no longer kept."))
        for line in lines:
            # A line may be as long as a debtor made it: it runs on to the next page (a Paragraph splits), and
            # a word longer than the line is broken.
            flow.append(Paragraph(f"<font color='#555555'>{markup(when(line.get('at')))}</font> "
                                  f"<b>{markup(line.get('speaker'))}:</b> {markup(line.get('text'))}", LINE))
    return flow


def _footer(data: dict[str, Any]) -> Any:
    label = f"{plain(data.get('agency'))} \u00b7 case file {plain(data.get('account_ref'))}"
    label = _CONTROL.sub(" ", label)[:120]

    def draw(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7.5)
        canvas.setFillColor(colors.grey)
        canvas.drawString(MARGIN, 10 * mm, label)  # canvas text is drawn as given: no markup to escape
        canvas.drawRightString(A4[0] - MARGIN, 10 * mm, f"page {doc.page}")
        canvas.restoreState()

    return draw


def story(data: dict[str, Any]) -> list[Flowable]:
    """The bundle's flowables, title page first."""
    currency = str(data.get("currency") or "")

    def amount(key: str) -> Any:
        return lambda item: money(item.get(key), currency)

    return [
        *_title_page(data),
        *_account_section(data),
        *_rows_section("Agreements", data.get("agreements"), "No agreement was ever made.", [
            ("Kind", 1.0, "kind"), ("Status", 1.0, "status"), ("Agreed", 1.5, lambda i: plain(i.get("agreed_at"))),
            ("Terms", 2.6, "terms"), ("Authorised by", 1.3, "authorized_by"), ("Ended", 1.0, "ended_on"),
            ("Why it ended", 2.0, "end_reason")]),
        *_rows_section("Payments", data.get("payments"), "No payment was received.", [
            ("Paid on", 1.0, "paid_on"), ("Amount", 1.0, amount("amount")), ("Reference", 2.2, "reference"),
            ("Source", 1.0, "source")]),
        *_rows_section("Contact history", data.get("contact_history"), "No contact on record.", [
            ("When", 1.5, lambda i: plain(i.get("at"))), ("Channel", 1.0, "channel"), ("What", 5.0, "what")]),
        *_rows_section("Staff notes", data.get("notes"), "No note was written.", [
            ("When", 1.5, lambda i: plain(i.get("at"))), ("Author", 1.0, "author"), ("Note", 5.0, "text")]),
        *_rows_section("Audit log", data.get("audit_log"), "The audit log is empty.", [
            ("When", 1.5, lambda i: plain(i.get("at"))), ("Actor", 1.0, "actor"), ("Action", 1.4, "action"),
            ("Conversation", 1.3, "conversation_id"), ("Details", 3.3, lambda i: plain(i.get("details") or ""))]),
        *_transcripts(data),
    ]


def bundle_pdf(data: dict[str, Any], out: Path, *, compress: bool = True) -> None:
    """Write the bundle as a PDF to `out` (its folder made if need be). `compress=False` leaves the page
    content readable as text (what the tests search)."""
    buffer = io.BytesIO()
    ref = plain(data.get("account_ref"))
    document = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=MARGIN + 4 * mm,
        title=f"Case file {ref}", author=plain(data.get("agency")), subject="Case file for legal review",
        creator="python -m bot legal", invariant=1, pageCompression=1 if compress else 0)
    footer = _footer(data)
    document.build(story(data), onFirstPage=footer, onLaterPages=footer)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(buffer.getvalue())  # whole or not at all: nothing half-written if the layout fails
