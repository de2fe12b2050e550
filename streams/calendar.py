"""Business hours: a weekly schedule in a queue's time zone, minus holidays, and business time.

A queue with no calendar is always open, and its business time is elapsed time. With one,
the queue is open during the schedule's hours of each local day that is not a holiday, and a
promise kept "within 1 business hour" counts only those hours: a ticket created on Friday at
16:30 in a Monday-Friday 09:00-17:00 calendar has used 30 minutes by 17:00 and breaches on
Monday at 09:30 (tests/unit/streams/test_calendar.py pins it).

Everything is computed from local days: a day's open spans are the schedule's local times on
that date, turned into instants with the zone's offset of that moment, so a day of 23 or 25
hours (daylight saving) is what the clock on the wall says it is. A schedule is stored in
minutes of the local day (``24:00`` = 1440, the next midnight).
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Span = tuple[int, int]  # minutes of the local day: [start, end)
# How far a search for business time looks ahead: a calendar whose every day for a year is
# a holiday has no deadline to give (the promise never falls due), rather than a loop.
HORIZON_DAYS = 400
MINUTES_PER_DAY = 1440


@dataclass(frozen=True, eq=False)
class BusinessHours:
    """Open hours of a queue. ``week[0]`` is Monday's spans, sorted and disjoint."""

    timezone: str = "UTC"
    week: tuple[tuple[Span, ...], ...] | None = None  # None: always open
    dates: frozenset[date] = frozenset()
    yearly: frozenset[tuple[int, int]] = frozenset()  # (month, day) closed every year
    name: str = ""
    _days: dict[date, tuple[tuple[float, float], ...]] = field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def always(self) -> bool:
        return self.week is None

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def fingerprint(self) -> str:
        """What defines the hours, as text: part of a queue's configuration version."""
        if self.week is None:
            return "always"
        days = ";".join(",".join(f"{a}-{b}" for a, b in spans) for spans in self.week)
        closed = ",".join(sorted(d.isoformat() for d in self.dates))
        every = ",".join(f"{m:02d}-{d:02d}" for m, d in sorted(self.yearly))
        text = f"{self.timezone}|{days}|{closed}|{every}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    # ---- days -------------------------------------------------------------------------
    def is_holiday(self, day: date) -> bool:
        return day in self.dates or (day.month, day.day) in self.yearly

    def local_date(self, ts: float) -> date:
        return datetime.fromtimestamp(ts, self.zone).date()

    def spans(self, day: date) -> tuple[tuple[float, float], ...]:
        """The open spans of a local day, as epoch seconds (cached per day)."""
        found = self._days.get(day)
        if found is None:
            if self.week is None:
                found = ((self._instant(day, 0), self._instant(day, MINUTES_PER_DAY)),)
            elif self.is_holiday(day):
                found = ()
            else:
                found = tuple(
                    (self._instant(day, a), self._instant(day, b))
                    for a, b in self.week[day.weekday()]
                )
            if len(self._days) > 4096:  # a long replay walks years of days: keep it bounded
                self._days.clear()
            self._days[day] = found
        return found

    def _instant(self, day: date, minute: int) -> float:
        if minute >= MINUTES_PER_DAY:
            day, minute = day + timedelta(days=1), minute - MINUTES_PER_DAY
        local = datetime.combine(day, time(minute // 60, minute % 60), self.zone)
        return local.timestamp()

    def open_seconds(self, day: date) -> float:
        return sum(b - a for a, b in self.spans(day))

    def is_open(self, ts: float) -> bool:
        if self.week is None:
            return True
        return any(a <= ts < b for a, b in self.spans(self.local_date(ts)))

    # ---- business time ----------------------------------------------------------------
    def business_seconds(self, start: float, end: float) -> float:
        """Open seconds in [start, end]; 0 when end is not after start."""
        if end <= start:
            return 0.0
        if self.week is None:
            return end - start
        total = 0.0
        day, last = self.local_date(start), self.local_date(end)
        while day <= last:
            for a, b in self.spans(day):
                total += max(0.0, min(b, end) - max(a, start))
            day += timedelta(days=1)
        return total

    def add(self, start: float, seconds: float, first: bool = False) -> float | None:
        """The last instant by which at most ``seconds`` of business time have passed since
        ``start`` (a promise of ``seconds`` is kept up to it, breached after); with
        ``first``, the first instant by which they have (a promise is at risk from then on).
        None when the calendar has no such time within ``HORIZON_DAYS``."""
        if self.week is None:
            return start + max(0.0, seconds)
        left = max(0.0, seconds)
        day = self.local_date(start)
        for _ in range(HORIZON_DAYS):
            for a, b in self.spans(day):
                if b <= start:
                    continue
                begin = max(a, start)
                # Strictly: a budget that runs out at a closing time is not spent until the
                # next opening (the clock does not move while closed), so that is the last
                # instant a promise is still kept.
                if left < b - begin or (first and left == b - begin):
                    return begin + left
                left -= b - begin
            day += timedelta(days=1)
        return None


ALWAYS = BusinessHours()


def parse_span(text: str) -> Span:
    """``"09:00-17:30"`` -> (540, 1050); ValueError names what is wrong."""
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError("hours are written HH:MM-HH:MM (09:00-17:00)")
    a, b = _minute(start.strip()), _minute(end.strip())
    if a >= b:
        raise ValueError(
            "starts at or after its end; hours past midnight are two ranges, "
            "e.g. 22:00-24:00 on one day and 00:00-06:00 on the next"
        )
    return a, b


def _minute(text: str) -> int:
    hh, sep, mm = text.partition(":")
    if not sep or len(hh) != 2 or len(mm) != 2 or not (hh + mm).isdigit():
        raise ValueError(f"{text!r} is not a time HH:MM")
    hours, minutes = int(hh), int(mm)
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"{text!r} is not a time of day (00:00 to 24:00)")
    return hours * 60 + minutes


def day_names(key: str) -> list[int]:
    """``"mon"`` -> [0]; ``"mon-fri"`` -> [0..4]; ValueError names the allowed names."""
    first, sep, last = key.partition("-")
    allowed = f"a day ({', '.join(WEEKDAYS)}) or a range of days (mon-fri)"
    if first not in WEEKDAYS or (sep and last not in WEEKDAYS):
        raise ValueError(f"not {allowed}")
    a = WEEKDAYS.index(first)
    b = WEEKDAYS.index(last) if sep else a
    if b < a:
        raise ValueError("a range of days runs forward within the week (mon-fri, not fri-mon)")
    return list(range(a, b + 1))


def overlap(spans: list[Span]) -> tuple[Span, Span] | None:
    """Two spans of one day that overlap, if any (touching ends do not overlap)."""
    ordered = sorted(spans)
    for before, after in itertools.pairwise(ordered):
        if after[0] < before[1]:
            return before, after
    return None


def show_span(span: Span) -> str:
    return "-".join(f"{m // 60:02d}:{m % 60:02d}" for m in span)
