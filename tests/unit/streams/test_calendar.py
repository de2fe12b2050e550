"""Business hours and business time: the worked example of docs/metrics.md (Friday 16:30 +
1 business hour = Monday 09:30), days of 23 and 25 hours, holidays, the edges of a day."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from ccmon.streams.calendar import (
    ALWAYS,
    BusinessHours,
    day_names,
    overlap,
    parse_span,
)

PARIS = "Europe/Paris"
OFFICE = ((((540, 1020),),) * 5) + ((), ())  # Monday-Friday 09:00-17:00


def at(*parts: int, tz: str = PARIS) -> float:
    from zoneinfo import ZoneInfo

    return datetime(*parts, tzinfo=ZoneInfo(tz)).timestamp()  # type: ignore[misc]


def office(**kw: object) -> BusinessHours:
    return BusinessHours(PARIS, OFFICE, **kw)  # type: ignore[arg-type]


def test_friday_afternoon_plus_one_business_hour_is_monday_morning() -> None:
    hours = office()
    created = at(2026, 12, 4, 16, 30)  # a Friday
    assert hours.add(created, 3600) == at(2026, 12, 7, 9, 30)
    assert hours.business_seconds(created, at(2026, 12, 7, 9, 30)) == 3600
    # The elapsed-time rule would have called it late at 17:30 on Friday.
    assert hours.business_seconds(created, at(2026, 12, 4, 17, 30)) == 1800


def test_a_holiday_monday_moves_the_deadline_to_tuesday() -> None:
    hours = office(dates=frozenset({date(2026, 12, 7)}))
    assert hours.add(at(2026, 12, 4, 16, 30), 3600) == at(2026, 12, 8, 9, 30)
    yearly = office(yearly=frozenset({(12, 7)}))
    assert yearly.add(at(2027, 12, 6, 16, 30), 3600) == at(2027, 12, 8, 9, 30)


@pytest.mark.parametrize(
    ("day", "hours"), [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25), (date(2026, 6, 1), 24)]
)
def test_local_days_of_23_and_25_hours(day: date, hours: int) -> None:
    always = BusinessHours(PARIS)
    assert always.open_seconds(day) == hours * 3600


def test_office_hours_keep_their_local_times_across_daylight_saving() -> None:
    hours = office()
    # 09:00 local is 08:00 UTC in winter and 07:00 UTC in summer.
    assert hours.spans(date(2026, 3, 27))[0][0] == at(2026, 3, 27, 8, 0, tz="UTC")
    assert hours.spans(date(2026, 3, 30))[0][0] == at(2026, 3, 30, 7, 0, tz="UTC")
    # Friday before the change, 1 business hour from 16:30: Monday 09:30 local (summer time).
    assert hours.add(at(2026, 3, 27, 16, 30), 3600) == at(2026, 3, 30, 9, 30)


def test_open_and_closed_instants() -> None:
    hours = office()
    assert hours.is_open(at(2026, 12, 4, 9, 0))
    assert hours.is_open(at(2026, 12, 4, 16, 59, 59))
    assert not hours.is_open(at(2026, 12, 4, 17, 0))  # the end is not open
    assert not hours.is_open(at(2026, 12, 5, 12, 0))  # Saturday
    assert ALWAYS.is_open(0.0)


def test_business_time_edges() -> None:
    hours = office()
    friday = at(2026, 12, 4, 10, 0)
    assert hours.business_seconds(friday, friday) == 0
    assert hours.business_seconds(friday, friday - 60) == 0  # never a negative clock
    assert hours.add(friday, 0) == friday
    assert hours.add(at(2026, 12, 5, 10, 0), 0) == at(2026, 12, 7, 9, 0)  # closed: next opening
    assert hours.add(friday, -5) == friday
    assert ALWAYS.add(100.0, 50.0) == 150.0
    assert ALWAYS.business_seconds(100.0, 160.0) == 60.0


def test_a_budget_spent_at_closing_time_lasts_until_the_next_opening() -> None:
    hours = office()
    # 30 business minutes from Friday 16:30 run out at 17:00; nothing more is spent until
    # Monday 09:00, the last instant the promise is still kept.
    assert hours.add(at(2026, 12, 4, 16, 30), 1800) == at(2026, 12, 7, 9, 0)
    assert hours.business_seconds(at(2026, 12, 4, 16, 30), at(2026, 12, 7, 9, 0)) == 1800
    # The first instant they are spent (a promise is at risk from then): Friday 17:00.
    assert hours.add(at(2026, 12, 4, 16, 30), 1800, first=True) == at(2026, 12, 4, 17, 0)


def test_a_calendar_closed_for_good_gives_no_deadline() -> None:
    closed = BusinessHours(PARIS, ((),) * 7)
    assert closed.add(at(2026, 12, 4, 10, 0), 60) is None


def test_fingerprint_follows_what_defines_the_hours() -> None:
    assert office().fingerprint == office().fingerprint
    assert office().fingerprint != office(dates=frozenset({date(2026, 12, 25)})).fingerprint
    assert office().fingerprint != BusinessHours("UTC", OFFICE).fingerprint
    assert ALWAYS.fingerprint == "always"


def test_spans_days_and_overlaps() -> None:
    assert parse_span("09:00-17:30") == (540, 1050)
    assert parse_span("00:00-24:00") == (0, 1440)
    for bad in ("17:00-09:00", "09:00-09:00", "9:00-17:00", "09:00", "09:00-24:30", "25:00-26:00"):
        with pytest.raises(ValueError):
            parse_span(bad)
    assert day_names("mon-fri") == [0, 1, 2, 3, 4]
    assert day_names("sun") == [6]
    for bad in ("fri-mon", "monday", "mon-"):
        with pytest.raises(ValueError):
            day_names(bad)
    assert overlap([(540, 720), (720, 1020)]) is None
    assert overlap([(540, 780), (720, 1020)]) == ((540, 780), (720, 1020))
