"""The report's files from figures already computed (no database): report.html and one CSV per figure.

The page is self-contained: charts are inline SVG drawn by matplotlib (text as paths, no fonts to load), the style
sheet is inline, there is no script. Every chart sits in a <figure> with its caption and is followed by a table of
the same numbers, which are also the CSV file's rows. Names come from imported files, so all text is escaped.

The same figures give the same bytes: the SVG ids come from a fixed `svg.hashsalt`, the SVG carries no metadata
(no date), matplotlib's settings are reset to its defaults for the drawing, and nothing else varies (no clock).
"""
from __future__ import annotations

import csv
import html
import io
import re
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # never a GUI backend: reports are written by a command or a server

import matplotlib.style  # noqa: E402  (after choosing the backend)
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from bot.domain.money import format_money  # noqa: E402

REPORT_HTML = "report.html"

# Okabe & Ito's palette, told apart with the common colour-vision deficiencies; yellow last (weak on white).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442")
OTHER_COLOUR = "#999999"
KEPT_COLOURS = {"kept": "#009E73", "broken": "#D55E00", "pending": "#BBBBBB"}

CHANNELS = ("web", "sms", "rest", "console", "call")
TIERS = ("bot", "agent", "supervisor")
KINDS = ("plan", "settlement", "promise", "pay_in_full")
MAX_STACKED_CREDITORS = 7  # more creditors than colours: the smallest are drawn together as one

# matplotlib's defaults, then what the report needs: the bundled font (same glyphs everywhere), glyphs as paths
# (nothing to load), fixed ids, no mathtext ("$" in money and names is text).
_RC: dict[str, Any] = {
    "svg.hashsalt": "bot.reports",
    "svg.fonttype": "path",
    "svg.image_inline": True,
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "text.parse_math": False,
    "text.usetex": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_NO_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}
_SVG_COMMENT = re.compile(r"<!--.*?-->\n?", re.DOTALL)
_SVG_REFERENCE = re.compile(r'(\sid="|xlink:href="#|url\(#)')

_HUNDRED = Decimal(100)
_TENTH = Decimal("0.1")


@dataclass(frozen=True)
class ReportFigures:
    """What the report shows for one period, computed by the caller; money in `currency`."""

    date_from: date
    date_to: date
    currency: str
    collected_by_month_and_creditor: list[tuple[str, str, Decimal]]  # (YYYY-MM, creditor name, amount)
    recovery_rate: list[tuple[str, Decimal, Decimal, Decimal]]  # (creditor, collected, placed balance, rate 0..1)
    agreements_by_channel: list[tuple[str, str, int]]  # (channel: web|sms|rest|console|call, kind, count)
    agreements_by_tier: list[tuple[str, str, int]]  # (tier: bot|agent|supervisor, kind, count)
    kept_rates: list[tuple[str, int, int, int, Decimal]]  # (kind plan|promise, kept, broken, pending, rate 0..1)
    average_discount_pct: Decimal  # over settlements agreed in the period, in percent
    days_to_first_agreement: list[tuple[str, Decimal]]  # (creditor, average days from placement to agreement)
    # (collector login, creditor, collected, commission rate in percent as policy `commission_pct`, commission)
    commission: list[tuple[str, str, Decimal, Decimal, Decimal]]


@dataclass(frozen=True)
class _Section:
    """One figure of the report: its CSV file, its table, its chart (None: table only) and what it says if empty."""

    key: str
    title: str
    caption: str
    csv_header: tuple[str, ...]
    csv_rows: list[tuple[object, ...]]
    table_header: tuple[str, ...]
    table_rows: list[tuple[str, ...]]
    numeric: tuple[int, ...]  # table columns aligned as numbers
    chart: Callable[[], Figure] | None
    empty: str
    lead: str = ""  # a sentence above the chart, if the figure has a headline number

    @property
    def csv_name(self) -> str:
        return f"{self.key}.csv"


def write_report(figures: ReportFigures, out: Path) -> list[Path]:
    """Write report.html and one CSV per figure into `out` (created if missing); return the files written.

    Only these files are replaced; anything else in `out` is left alone.
    """
    out.mkdir(parents=True, exist_ok=True)
    sections = _sections(figures)
    files = [(REPORT_HTML, render_html(figures, sections).encode("utf-8"))]
    files += [(section.csv_name, _csv_bytes(section.csv_header, section.csv_rows)) for section in sections]
    written = []
    for name, content in files:
        path = out / name
        path.write_bytes(content)
        written.append(path)
    return written


def csv_files(figures: ReportFigures) -> dict[str, bytes]:
    """Each CSV file's name and content, as `write_report` writes them."""
    return {s.csv_name: _csv_bytes(s.csv_header, s.csv_rows) for s in _sections(figures)}


# --- the figures, section by section ---------------------------------------------------------------------

def _agreements_section(key: str, title: str, caption: str, by: str, rows: list[tuple[str, str, int]],
                        order: Sequence[str]) -> _Section:
    """Agreements counted by one thing (channel, tier) and kind: the two figures share their shape."""
    return _Section(
        key=key, title=title, caption=caption, csv_header=(by, "kind", "count"), csv_rows=list(rows),
        table_header=(by.capitalize(), "Kind", "Agreements"),
        table_rows=[(what, _label(kind), str(n)) for what, kind, n in rows], numeric=(2,),
        chart=(lambda: _grouped_chart(rows, order, by.capitalize())) if rows else None,
        empty="No agreements were made in this period.",
    )


def _sections(f: ReportFigures) -> list[_Section]:
    money = _money(f.currency)
    settlements = sum(count for _, kind, count in f.agreements_by_channel if kind == "settlement")
    has_discount = settlements > 0 or f.average_discount_pct != 0
    per_collector = _commission_by_collector(f.commission)
    return [
        _Section(
            key="collected",
            title="Collected per month",
            caption=f"Payments collected per month, stacked by creditor ({f.currency}).",
            csv_header=("month", "creditor", "amount", "currency"),
            csv_rows=[(m, c, a, f.currency) for m, c, a in f.collected_by_month_and_creditor],
            table_header=("Month", "Creditor", "Collected"),
            table_rows=[(m, c, money(a)) for m, c, a in f.collected_by_month_and_creditor],
            numeric=(2,),
            chart=(lambda: _collected_chart(f)) if f.collected_by_month_and_creditor else None,
            empty="No payments were collected in this period.",
            lead=f"Total collected: {money(sum((a for _, _, a in f.collected_by_month_and_creditor), Decimal(0)))}.",
        ),
        _Section(
            key="recovery",
            title="Recovery rate per creditor",
            caption="Share of the placed balance collected, per creditor (percent).",
            csv_header=("creditor", "collected", "placed_balance", "rate", "currency"),
            csv_rows=[(c, col, placed, r, f.currency) for c, col, placed, r in f.recovery_rate],
            table_header=("Creditor", "Collected", "Placed balance", "Recovery rate"),
            table_rows=[(c, money(col), money(placed), _percent(r)) for c, col, placed, r in f.recovery_rate],
            numeric=(1, 2, 3),
            chart=(lambda: _recovery_chart(f.recovery_rate)) if f.recovery_rate else None,
            empty="No placed accounts to measure recovery on in this period.",
        ),
        _agreements_section("agreements_by_channel", "Agreements by channel",
                            "Agreements made in the period by the channel they were made on, by kind.", "channel",
                            f.agreements_by_channel, CHANNELS),
        _agreements_section("agreements_by_tier", "Agreements by authority tier",
                            "Agreements made in the period by the tier that agreed them (bot, agent, supervisor), by "
                            "kind.", "tier", f.agreements_by_tier, TIERS),
        _Section(
            key="kept_rates",
            title="Plans and promises kept",
            caption="Plans and promises kept, broken and still pending; the kept rate is of those decided.",
            csv_header=("kind", "kept", "broken", "pending", "kept_rate"),
            csv_rows=list(f.kept_rates),
            table_header=("Kind", "Kept", "Broken", "Pending", "Kept rate (of decided)"),
            table_rows=[
                (_label(kind), str(kept), str(broken), str(pending), _kept_rate(kept, broken, rate))
                for kind, kept, broken, pending, rate in f.kept_rates
            ],
            numeric=(1, 2, 3, 4),
            chart=(lambda: _kept_chart(f.kept_rates)) if f.kept_rates else None,
            empty="No plans or promises were due in this period.",
        ),
        _Section(
            key="discount",
            title="Settlement discount",
            caption="Average discount of the settlements agreed in the period.",
            csv_header=("settlements", "average_discount_pct"),
            csv_rows=[(settlements, f.average_discount_pct)] if has_discount else [],
            table_header=("Settlements agreed", "Average discount"),
            table_rows=[(str(settlements), _percent_number(f.average_discount_pct))] if has_discount else [],
            numeric=(0, 1),
            chart=None,
            empty="No settlements were agreed in this period.",
        ),
        _Section(
            key="time_to_agreement",
            title="Time to first agreement",
            caption="Average days from an account's placement to its first agreement, per creditor.",
            csv_header=("creditor", "average_days"),
            csv_rows=list(f.days_to_first_agreement),
            table_header=("Creditor", "Average days to first agreement"),
            table_rows=[(c, _days(d)) for c, d in f.days_to_first_agreement],
            numeric=(1,),
            chart=None,
            empty="No first agreements were made in this period.",
        ),
        _Section(
            key="commission",
            title="Commission per collector",
            caption=f"Commission earned per collector on what their agreements collected ({f.currency}).",
            csv_header=("collector", "creditor", "collected", "commission_pct", "commission", "currency"),
            csv_rows=[(who, c, col, rate, com, f.currency) for who, c, col, rate, com in f.commission],
            table_header=("Collector", "Creditor", "Collected", "Commission rate", "Commission"),
            table_rows=[
                (who, c, money(col), _percent_number(rate), money(com)) for who, c, col, rate, com in f.commission
            ],
            numeric=(2, 3, 4),
            chart=(lambda: _commission_chart(per_collector, f.currency)) if f.commission else None,
            empty="No commission was earned in this period.",
            lead=f"Total commission: {money(sum(per_collector.values(), Decimal(0)))}." if f.commission else "",
        ),
    ]


def _commission_by_collector(rows: Iterable[tuple[str, str, Decimal, Decimal, Decimal]]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for collector, _, _, _, commission in rows:
        totals[collector] = totals.get(collector, Decimal(0)) + commission
    return totals


# --- numbers as people and files read them ---------------------------------------------------------------

def _money(currency: str) -> Callable[[Decimal], str]:
    return lambda amount: format_money(amount, currency)


def _plain(value: object) -> str:
    """A CSV field: Decimals exactly as given, never in scientific notation or through a float."""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _percent(rate: Decimal) -> str:
    return _percent_number(rate * _HUNDRED)


def _percent_number(pct: Decimal) -> str:
    return f"{pct.quantize(_TENTH, ROUND_HALF_UP):f}%"


def _kept_rate(kept: int, broken: int, rate: Decimal) -> str:
    return _percent(rate) if kept + broken else "none decided yet"


def _days(days: Decimal) -> str:
    return f"{days.quantize(_TENTH, ROUND_HALF_UP):f} days"


def _label(kind: str) -> str:
    return kind.replace("_", " ")


def _csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([_cell(value) for value in row] for row in rows)
    return buffer.getvalue().encode("utf-8")


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """A CSV cell; text a spreadsheet would run as a formula (a creditor named "=HYPERLINK(...)", from an imported
    file) gets a leading apostrophe, the OWASP way. Numbers are never text here, so they are left alone."""
    plain = _plain(value)
    return "'" + plain if isinstance(value, str) and plain.startswith(_FORMULA) else plain


# --- the page ----------------------------------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, sans-serif; color: #1a1a1a; margin: 2rem auto; max-width: 64rem; padding: 0 1rem; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2.5rem; border-bottom: 1px solid #ccc; }
figure { margin: 1rem 0; } figure svg { max-width: 100%; height: auto; display: block; }
figcaption { font-style: italic; color: #444; margin-top: .25rem; }
table { border-collapse: collapse; margin: .5rem 0; min-width: 24rem; }
caption { text-align: left; font-weight: bold; padding: .25rem 0; }
th, td { border: 1px solid #bbb; padding: .25rem .6rem; text-align: left; vertical-align: top; }
th { background: #f0f0f0; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.empty { padding: .75rem 1rem; background: #f6f6f6; border-left: 4px solid #999; }
.files { font-size: .9rem; color: #444; }
"""


def render_html(figures: ReportFigures, sections: list[_Section] | None = None) -> str:
    """The whole of report.html for these figures."""
    sections = _sections(figures) if sections is None else sections
    period = f"{figures.date_from.isoformat()} to {figures.date_to.isoformat()}"
    body = [
        f"<h1>Collections report, {_e(period)}</h1>",
        f"<p>Figures for {_e(period)} (inclusive); money in {_e(figures.currency)}. Each chart is followed by a "
        "table of the same numbers, also given as a CSV file.</p>",
        _contents(sections),
    ]
    body += [_section_html(section) for section in sections]
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>Collections report, {_e(period)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(body)
        + "\n</main>\n</body>\n</html>\n"
    )


def _contents(sections: list[_Section]) -> str:
    items = "".join(f'<li><a href="#{s.key}">{_e(s.title)}</a></li>' for s in sections)
    return f'<nav aria-label="Contents"><ul>{items}</ul></nav>'


def _section_html(section: _Section) -> str:
    parts = [f'<section id="{section.key}" aria-labelledby="{section.key}-title">',
             f'<h2 id="{section.key}-title">{_e(section.title)}</h2>']
    if not section.table_rows:
        parts.append(f'<p class="empty">{_e(section.empty)}</p>')
    else:
        if section.lead:
            parts.append(f"<p>{_e(section.lead)}</p>")
        if section.chart is not None:
            parts.append(
                f"<figure>\n{_svg(section.chart(), section.key)}\n"
                f'<figcaption id="{section.key}-caption">{_e(section.caption)} The table below gives the same '
                "numbers.</figcaption>\n</figure>"
            )
        parts.append(_table(section))
    parts.append(f'<p class="files">Data: <a href="{section.csv_name}">{section.csv_name}</a></p>')
    parts.append("</section>")
    return "\n".join(parts)


def _table(section: _Section) -> str:
    head = "".join(f'<th scope="col">{_e(h)}</th>' for h in section.table_header)
    rows = []
    for row in section.table_rows:
        cells = "".join(
            f'<td class="num">{_e(v)}</td>' if i in section.numeric else f"<td>{_e(v)}</td>" for i, v in enumerate(row)
        )
        rows.append(f"<tr>{cells}</tr>")
    return (
        f'<table id="{section.key}-table">\n<caption>{_e(section.title)}</caption>\n<thead><tr>{head}</tr></thead>\n'
        "<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>"
    )


def _e(text: str) -> str:
    return html.escape(text, quote=True)


# --- the charts --------------------------------------------------------------------------------------------

def _svg(figure: Figure, key: str) -> str:
    """The chart as an <svg> element for inlining: ids made unique to the chart, labelled by its caption."""
    buffer = io.StringIO()
    with matplotlib.style.context("default"), matplotlib.rc_context(_RC):
        figure.savefig(buffer, format="svg", metadata=_NO_METADATA)
    text = buffer.getvalue()
    text = text[text.index("<svg"):]  # no XML declaration or doctype inside HTML
    text = _SVG_COMMENT.sub("", text)  # matplotlib notes each label's text in a comment: the table has it
    text = _SVG_REFERENCE.sub(lambda m: f"{m.group(1)}{key}-", text)
    return text.replace("<svg ", f'<svg role="img" aria-labelledby="{key}-caption" ', 1).rstrip()


def _new_figure(width: float = 7.5, height: float = 3.6) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _styled(draw: Callable[[], Figure]) -> Figure:
    # The settings in force when artists are made decide their look, so the drawing runs under them too.
    with matplotlib.style.context("default"), matplotlib.rc_context(_RC):
        return draw()


def _short(name: str, width: int = 28) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def _tick_label(name: str) -> str:
    return textwrap.fill(_short(name, 36), 14)


def _number_axis(value: float, _: object) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def _months(date_from: date, date_to: date, seen: Iterable[str]) -> list[str]:
    """Every month of the period (so a month with nothing collected shows as such), and any month of the data."""
    months = set(seen)
    year, month = date_from.year, date_from.month
    while (year, month) <= (date_to.year, date_to.month):
        months.add(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return sorted(months)


def _collected_chart(f: ReportFigures) -> Figure:
    return _styled(lambda: _draw_collected(f))


def _draw_collected(f: ReportFigures) -> Figure:
    rows = f.collected_by_month_and_creditor
    months = _months(f.date_from, f.date_to, (m for m, _, _ in rows))
    totals: dict[str, Decimal] = {}
    for _, creditor, amount in rows:
        totals[creditor] = totals.get(creditor, Decimal(0)) + amount
    ranked = sorted(totals, key=lambda c: (-totals[c], c))
    shown = ranked if len(ranked) <= MAX_STACKED_CREDITORS + 1 else ranked[:MAX_STACKED_CREDITORS]
    index = {m: i for i, m in enumerate(months)}
    heights = {c: [0.0] * len(months) for c in shown}
    rest = [0.0] * len(months)
    for month, creditor, amount in rows:
        # Floats only to draw; the tables and the CSV keep the Decimals.
        heights.get(creditor, rest)[index[month]] += float(amount)
    layers = [(_short(c), heights[c], PALETTE[i % len(PALETTE)]) for i, c in enumerate(shown)]
    if len(ranked) > len(shown):
        layers.append((f"{len(ranked) - len(shown)} other creditors", rest, OTHER_COLOUR))

    figure = _new_figure(width=max(7.5, min(14.0, 3.5 + 0.5 * len(months))))
    ax = figure.subplots()
    bottom = [0.0] * len(months)
    for name, values, colour in layers:
        ax.bar(months, values, bottom=bottom, color=colour, label=name, edgecolor="white", linewidth=0.5)
        bottom = [b + h for b, h in zip(bottom, values, strict=True)]
    if len(months) <= 12:
        month_totals = [Decimal(0)] * len(months)
        for month, _, amount in rows:
            month_totals[index[month]] += amount
        for x, (height, total) in enumerate(zip(bottom, month_totals, strict=True)):
            if total:
                ax.annotate(format_money(total, f.currency), (x, height), xytext=(0, 2), textcoords="offset points",
                            ha="center", va="bottom", fontsize=7)
    ax.set_ylabel(f"Collected ({f.currency})")
    ax.set_xlabel("Month")
    ax.yaxis.set_major_formatter(FuncFormatter(_number_axis))
    ax.margins(y=0.12)
    if len(months) > 8:
        ax.tick_params(axis="x", labelrotation=45)
    ax.legend(title="Creditor", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
    return figure


def _recovery_chart(rows: list[tuple[str, Decimal, Decimal, Decimal]]) -> Figure:
    return _styled(lambda: _draw_recovery(rows))


def _draw_recovery(rows: list[tuple[str, Decimal, Decimal, Decimal]]) -> Figure:
    figure = _new_figure(width=max(6.0, min(14.0, 2.0 + 0.9 * len(rows))))
    ax = figure.subplots()
    positions = list(range(len(rows)))
    heights = [float(rate * _HUNDRED) for _, _, _, rate in rows]
    bars = ax.bar(positions, heights, color=PALETTE[0], width=0.6)
    ax.bar_label(bars, labels=[_percent(rate) for _, _, _, rate in rows], padding=2, fontsize=8)
    ax.set_xticks(positions, [_tick_label(c) for c, _, _, _ in rows])
    ax.set_ylabel("Recovery rate (% of placed balance)")
    ax.set_ylim(0, max(100.0, *heights) * 1.1)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}%"))
    return figure


def _ordered(values: Iterable[str], known: Sequence[str]) -> list[str]:
    present = set(values)
    return [v for v in known if v in present] + sorted(present - set(known))


def _kind_colours(kinds: Iterable[str]) -> dict[str, str]:
    """The same colour for a kind in every chart: the known kinds' first, then any other's in name order."""
    order = list(KINDS) + sorted(set(kinds) - set(KINDS))
    return {kind: PALETTE[i % len(PALETTE)] for i, kind in enumerate(order)}


def _grouped_chart(rows: list[tuple[str, str, int]], known: Sequence[str], axis_label: str) -> Figure:
    return _styled(lambda: _draw_grouped(rows, known, axis_label))


def _draw_grouped(rows: list[tuple[str, str, int]], known: Sequence[str], axis_label: str) -> Figure:
    groups = _ordered((g for g, _, _ in rows), known)
    kinds = _ordered((k for _, k, _ in rows), KINDS)
    colours = _kind_colours(k for _, k, _ in rows)
    counts: dict[tuple[str, str], int] = {}
    for group, kind, count in rows:
        counts[(group, kind)] = counts.get((group, kind), 0) + count
    figure = _new_figure(width=max(6.0, min(14.0, 2.5 + 1.2 * len(groups))))
    ax = figure.subplots()
    width = 0.8 / len(kinds)
    for i, kind in enumerate(kinds):
        xs = [g + (i - (len(kinds) - 1) / 2) * width for g in range(len(groups))]
        values = [counts.get((group, kind), 0) for group in groups]
        bars = ax.bar(xs, values, width=width, color=colours[kind], label=_label(kind), edgecolor="white",
                      linewidth=0.5)
        ax.bar_label(bars, labels=[str(v) if v else "" for v in values], padding=2, fontsize=8)
    ax.set_xticks(range(len(groups)), [_tick_label(g) for g in groups])
    ax.set_xlabel(axis_label)
    ax.set_ylabel("Agreements")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.margins(y=0.12)
    ax.legend(title="Kind", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
    return figure


def _kept_chart(rows: list[tuple[str, int, int, int, Decimal]]) -> Figure:
    return _styled(lambda: _draw_kept(rows))


def _draw_kept(rows: list[tuple[str, int, int, int, Decimal]]) -> Figure:
    figure = _new_figure(width=7.0, height=max(2.4, 1.0 + 0.8 * len(rows)))
    ax = figure.subplots()
    positions = list(range(len(rows)))
    left = [0.0] * len(rows)
    states = {
        "kept": [float(kept) for _, kept, _, _, _ in rows],
        "broken": [float(broken) for _, _, broken, _, _ in rows],
        "pending": [float(pending) for _, _, _, pending, _ in rows],
    }
    for state, values in states.items():
        bars = ax.barh(positions, values, left=left, height=0.55, color=KEPT_COLOURS[state], label=state,
                       edgecolor="white", linewidth=0.5)
        ax.bar_label(bars, labels=[f"{v:.0f}" if v else "" for v in values], label_type="center", fontsize=8,
                     color="black" if state == "pending" else "white")
        left = [a + b for a, b in zip(left, values, strict=True)]
    for y, (total, (_, kept, broken, _, rate)) in enumerate(zip(left, rows, strict=True)):
        note = f"kept {_percent(rate)}" if kept + broken else "none decided yet"
        ax.annotate(note, (total, y), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=8, fontweight="bold")
    ax.set_yticks(positions, [_label(kind) + "s" for kind, *_ in rows])
    ax.invert_yaxis()
    ax.set_xlabel("Number")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlim(0, max(1.0, *left) * 1.35)  # room for the kept rate
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
    return figure


def _commission_chart(per_collector: dict[str, Decimal], currency: str) -> Figure:
    return _styled(lambda: _draw_commission(per_collector, currency))


def _draw_commission(per_collector: dict[str, Decimal], currency: str) -> Figure:
    collectors = sorted(per_collector, key=lambda c: (-per_collector[c], c))
    figure = _new_figure(width=7.5, height=max(2.2, 1.0 + 0.4 * len(collectors)))
    ax = figure.subplots()
    positions = list(range(len(collectors)))
    values = [float(per_collector[c]) for c in collectors]
    bars = ax.barh(positions, values, height=0.6, color=PALETTE[0])
    ax.bar_label(bars, labels=[format_money(per_collector[c], currency) for c in collectors], padding=3, fontsize=8)
    ax.set_yticks(positions, [_short(c, 32) for c in collectors])
    ax.invert_yaxis()
    ax.set_xlabel(f"Commission ({currency})")
    ax.xaxis.set_major_formatter(FuncFormatter(_number_axis))
    ax.set_xlim(0, max(1.0, *values) * 1.25)
    return figure
