"""The report from day records: per day whether each promise was kept, monthly totals, days
met out of days open; CSV, JSON and self-contained HTML; ranges refused or said empty."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from ccmon.agents.domain import records
from ccmon.agents.domain.contacts import apply_contact
from ccmon.agents.domain.effects import Effects, StateLimits
from ccmon.agents.domain.state import PartitionState
from ccmon.agents.report.reader import Latest, Want, keep, parse_key
from ccmon.agents.report.render import csv_text, html_text, json_text
from ccmon.agents.report.summary import summarise
from ccmon.streams.calendar import BusinessHours
from ccmon.streams.config import QueuePolicy
from tests.support.cli import run_ccmon

PARIS = ZoneInfo("Europe/Paris")
OFFICE = BusinessHours("Europe/Paris", ((((540, 1020),),) * 5) + ((), ()), name="office")
POLICY = QueuePolicy(threshold_seconds=20, timezone="Europe/Paris", calendar="office",
                     hours=OFFICE, target_ratio=0.8)  # fmt: skip


def at(day: int, hour: int, minute: int = 0) -> float:
    return datetime(2026, 11, day, hour, minute, tzinfo=PARIS).timestamp()


def month_of_records() -> Latest:
    """Five weekdays and a weekend of November: the 2nd (Monday) to the 8th (Sunday); good
    service but on Wednesday the 4th; Saturday and Sunday closed."""
    state = PartitionState(0)
    n = 0
    for day in range(2, 7):
        for i in range(10):
            n += 1
            wait = 60.0 if day == 4 and i < 5 else 5.0
            t = at(day, 10, i)
            for kind, when, extra in (
                ("offered", t - wait, {}),
                ("answered", t, {"wait_seconds": wait}),
            ):
                from ccmon.streams.contract.events import Event

                e = Event(f"{kind}{n}", "call", kind, when, "sales", f"c{n}", **extra)
                fx = Effects(state, StateLimits(record_revision_days=35))
                fx.src = f"call:0:{n}"
                apply_contact(e, fx, POLICY, t)
                state.merge(fx.writes)
    state.progress.ev = at(6, 11)
    fx = Effects(state, StateLimits(record_revision_days=35))
    decided = records.close(fx, at(9, 0), lambda c, q: POLICY, ["call|sales"], 1.0)
    latest = Latest()
    want = Want("2026-11-01", "2026-11-30")
    for d in decided:
        parsed = parse_key(d.key)
        assert parsed is not None
        if want(parsed[0]):
            keep(latest, parsed[0], parsed[1], d.value)
    return latest


def test_days_months_and_days_met_out_of_days_open() -> None:
    (report,) = summarise(month_of_records())
    assert [d.date for d in report.days] == [f"2026-11-0{d}" for d in range(2, 9)]
    met = {d.date: (d.open, d.met) for d in report.days}
    assert met["2026-11-04"] == (True, False)  # 5 of 10 within 20 s
    assert met["2026-11-03"] == (True, True)
    assert met["2026-11-07"][0] is False  # Saturday: closed
    (month,) = report.months
    assert (month.days_open, month.days_met) == (5, 4)
    sl = month.figures["service_level"]
    assert (sl.good, sl.total, sl.target) == (45, 50, 0.8)
    assert month.worst[0]["start"] == "2026-11-04T10:00+01:00"


def test_csv_json_and_html() -> None:
    reports = summarise(month_of_records())
    rows = list(csv.DictReader(io.StringIO(csv_text(reports))))
    wednesday = next(r for r in rows if r["period"] == "2026-11-04")
    assert (wednesday["kept"], wednesday["counted"], wednesday["met"]) == ("5", "10", "missed")
    assert next(r for r in rows if r["period"] == "2026-11-08")["met"] == "closed"
    month = next(r for r in rows if r["row"] == "month")
    assert (month["days_open"], month["days_met"], month["met"]) == ("5", "4", "met")
    doc: dict[str, Any] = json.loads(json_text(reports, "2026-11-01", "2026-11-30"))
    assert doc["queues"][0]["months"][0]["days_met"] == 4
    page = html_text(reports, "2026-11-01", "2026-11-30", "now")
    assert page.count("<svg") == 1 and "4 / 5" in page and "<script" not in page
    assert "src=" not in page and "href=" not in page  # nothing fetched: self-contained


def test_a_later_revision_wins_whatever_the_order() -> None:
    latest = Latest()
    key = ("call", "sales", "day", "2026-11-02T00:00+01:00")
    keep(latest, key, 2, orjson.dumps({"revision": 2}))
    keep(latest, key, 1, orjson.dumps({"revision": 1}))
    assert latest.records[key]["revision"] == 2


def test_ranges_refused_before_anything_is_read() -> None:
    decade = run_ccmon("report", "--from", "2016-01-01", "--to", "2025-12-31")
    assert decade.returncode == 2 and "3653 days asked" in decade.stderr
    assert "split the range" in decade.stderr and decade.stdout == ""
    inverted = run_ccmon("report", "--from", "2026-11-30", "--to", "2026-11-01")
    assert inverted.returncode == 2 and "is before --from" in inverted.stderr
    bad = run_ccmon("report", "--from", "2026-11-31", "--to", "2026-12-01")
    assert bad.returncode == 2 and "'2026-11-31' is not a date" in bad.stderr
