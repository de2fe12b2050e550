"""A report as CSV, JSON or one self-contained HTML page (inline CSS and SVG charts: no
script, no font, nothing fetched; it opens offline and prints as it shows)."""

from __future__ import annotations

import csv
import html
import io
from typing import Any

import orjson

from ccmon.agents.report.summary import SL, Day, Figure, Month, QueueReport

LABELS = {
    SL: "service level",
    "first_reply": "first reply",
    "next_reply": "next reply",
    "resolution": "resolution",
}
COLUMNS = (
    "row",
    "channel",
    "queue",
    "period",
    "promise",
    "kept",
    "counted",
    "ratio",
    "target",
    "met",
    "days_open",
    "days_met",
    "revision",
    "reason",
)


def _pct(value: float | None) -> str:
    # Floored, as the wall does: 79.96 % is not a met 80 %.
    return "-" if value is None else f"{int(value * 1000) / 10:.1f} %"


def _verdict(kept: bool | None) -> str:
    return {True: "met", False: "missed", None: "no volume"}[kept]


def csv_text(reports: list[QueueReport]) -> str:
    """One row per queue, day and promise, then one per queue, month and promise."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in reports:
        for day in r.days:
            for name, f in day.figures.items():
                verdict = _verdict(f.kept) if day.open else "closed"
                tail = ["", "", day.revision, day.reason]
                writer.writerow(_row("day", r, day.date, name, f, verdict, tail))
        for month in r.months:
            for name, f in month.figures.items():
                tail = [month.days_open, month.days_met, "", ""]
                writer.writerow(_row("month", r, month.month, name, f, _verdict(f.kept), tail))
    return out.getvalue()


def _row(
    kind: str, r: QueueReport, period: str, name: str, f: Figure, verdict: str, tail: list[object]
) -> list[object]:
    """A CSV row in COLUMNS' order: the period, the promise's figures, then ``tail`` (days
    open and met for a month, revision and reason for a day)."""
    figures = [f.good, f.total, _ratio(f), f.target, verdict]
    return [kind, r.channel, r.queue, period, name, *figures, *tail]


def _ratio(f: Figure) -> str:
    return "" if f.ratio is None else repr(f.ratio)


def _figure(f: Figure) -> dict[str, Any]:
    return {"kept": f.good, "counted": f.total, "ratio": f.ratio, "target": f.target, "met": f.kept}


def json_text(reports: list[QueueReport], first: str, last: str) -> str:
    def day(d: Day) -> dict[str, Any]:
        return {
            "date": d.date,
            "open": d.open,
            "met": d.met if d.open else None,
            "promises": {n: _figure(f) for n, f in d.figures.items()},
            "counts": d.counts,
            "revision": d.revision,
            "reason": d.reason,
        }

    def month(m: Month) -> dict[str, Any]:
        return {
            "month": m.month,
            "promises": {n: _figure(f) for n, f in m.figures.items()},
            "counts": m.counts,
            "days_open": m.days_open,
            "days_met": m.days_met,
            "worst_intervals": m.worst,
        }

    doc = {
        "from": first,
        "to": last,
        "queues": [
            {
                "channel": r.channel,
                "queue": r.queue,
                "days": [day(d) for d in r.days],
                "months": [month(m) for m in r.months],
            }
            for r in reports
        ],
    }
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n"


# ---- HTML ---------------------------------------------------------------------------------

STYLE = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#1d232a}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 6px;border-top:1px solid #ccd;
padding-top:16px}.muted{color:#5b6470}table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #ccd;padding:3px 8px;text-align:right}th{background:#eef1f5}
td:first-child,th:first-child{text-align:left}.met{color:#17663a;font-weight:600}
.missed{color:#b3261e;font-weight:600}svg{display:block;margin:8px 0}
"""
COLOURS = {
    SL: "#1f5fa8",
    "first_reply": "#1f5fa8",
    "next_reply": "#7a4fb3",
    "resolution": "#b06a00",
}
W, H, PAD = 760, 220, 40


def chart(report: QueueReport) -> str:
    """Each promise's share kept per day (open days), against its target (dashed)."""
    days = [d for d in report.days if d.open]
    if not days:
        return '<p class="muted">No open day in the range.</p>'
    step = (W - 2 * PAD) / max(1, len(days) - 1) if len(days) > 1 else 0

    def x(i: int) -> float:
        return PAD + i * step if len(days) > 1 else W / 2

    def y(v: float) -> float:
        return H - PAD + (v * -(H - 2 * PAD))

    parts = [
        f'<svg width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" '
        f'aria-label="{html.escape(report.queue)}: share kept per day">'
    ]
    for v in (0.0, 0.5, 1.0):
        parts.append(
            f'<line x1="{PAD}" x2="{W - PAD}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
            f'stroke="#dde" /><text x="4" y="{y(v) + 4:.1f}" font-size="11">'
            f"{int(v * 100)} %</text>"
        )
    for name in report.promises:
        colour = COLOURS[name]
        targets = {t for d in days if (t := d.figures[name].target) is not None}
        for target in sorted(targets):
            parts.append(
                f'<line x1="{PAD}" x2="{W - PAD}" y1="{y(target):.1f}" '
                f'y2="{y(target):.1f}" stroke="{colour}" stroke-dasharray="5 4" />'
            )
        points = [
            (x(i), y(r)) for i, d in enumerate(days) if (r := d.figures[name].ratio) is not None
        ]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2" />'
            )
        for i, d in enumerate(days):
            f = d.figures[name]
            if f.ratio is None:
                continue
            fill = "#17663a" if f.kept else "#b3261e"
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(f.ratio):.1f}" r="3.5" fill="{fill}">'
                f"<title>{d.date} {LABELS[name]} {_pct(f.ratio)}</title></circle>"
            )
    for i, d in enumerate(days):
        if len(days) <= 12 or i % max(1, len(days) // 10) == 0:
            parts.append(
                f'<text x="{x(i):.1f}" y="{H - 12}" font-size="10" '
                f'text-anchor="middle">{d.date[5:]}</text>'
            )
    legend = " ".join(
        f'<tspan fill="{COLOURS[n]}">&#9632; {LABELS[n]}</tspan>' for n in report.promises
    )
    parts.append(f'<text x="{PAD}" y="14" font-size="12">{legend} (dashed: target)</text></svg>')
    return "".join(parts)


def _month_table(report: QueueReport) -> str:
    rows = [
        "<tr><th>month</th><th>promise</th><th>kept</th><th>counted</th><th>share</th>"
        "<th>target</th><th></th><th>days met / open</th></tr>"
    ]
    for m in report.months:
        for name, f in m.figures.items():
            verdict = _verdict(f.kept)
            rows.append(
                f"<tr><td>{m.month}</td><td>{LABELS[name]}</td><td>{f.good}</td>"
                f"<td>{f.total}</td><td>{_pct(f.ratio)}</td><td>{_pct(f.target)}</td>"
                f'<td class="{verdict}">{verdict}</td>'
                f"<td>{m.days_met} / {m.days_open}</td></tr>"
            )
    return "<table>" + "".join(rows) + "</table>"


def _days_table(report: QueueReport) -> str:
    head = "".join(f"<th>{LABELS[n]}</th>" for n in report.promises)
    rows = [f"<tr><th>day</th>{head}<th>revision</th></tr>"]
    for d in report.days:
        cells = []
        for name in report.promises:
            f = d.figures[name]
            verdict = _verdict(f.kept) if d.open else "closed"
            cells.append(f'<td class="{verdict}">{_pct(f.ratio)} {verdict}</td>')
        note = "" if d.revision == 1 else f' title="{html.escape(d.reason)}"'
        rows.append(f"<tr><td>{d.date}</td>{''.join(cells)}<td{note}>{d.revision}</td></tr>")
    return "<table>" + "".join(rows) + "</table>"


def _worst_table(report: QueueReport) -> str:
    worst = [w for m in report.months for w in m.worst]
    if not worst:
        return ""
    rows = ["<tr><th>interval</th><th>share kept</th><th>counted</th></tr>"]
    rows += [
        f"<tr><td>{html.escape(w['start'])}</td><td>{_pct(w['ratio'])}</td>"
        f"<td>{w['volume']}</td></tr>"
        for w in worst
    ]
    return "<h3>Worst intervals of the month</h3><table>" + "".join(rows) + "</table>"


def html_text(reports: list[QueueReport], first: str, last: str, generated: str) -> str:
    sections = []
    for r in reports:
        title = html.escape(f"{r.channel} / {r.queue}")
        sections.append(
            f"<h2>{title}</h2>{_month_table(r)}{chart(r)}{_worst_table(r)}"
            f"<details><summary>Days</summary>{_days_table(r)}</details>"
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>ccmon compliance report {first} to {last}</title><style>{STYLE}</style>"
        f"</head><body><h1>Compliance report, {first} to {last}</h1>"
        f'<p class="muted">From the closed day records of ccmon (latest revision of each '
        f"day); generated {html.escape(generated)}. A day is met when none of its promises "
        "was missed.</p>" + "".join(sections) + "</body></html>\n"
    )
