"""The ``calendars`` section of the queue configuration: business hours by name.

::

    calendars:
      office:
        hours:
          mon-fri: ["09:00-12:30", "13:30-17:00"]
          sat: ["09:00-12:00"]
        holidays: ["2026-12-24", "12-25"]       # a date, or MM-DD: every year
        holidays_file: holidays/fr.ics           # relative to the queue file

The hours are local times of the queue that uses the calendar (its ``timezone``): one
calendar serves a Paris and a Montreal queue, each open 09:00-17:00 on its own clock. Every
mistake is one line naming the place (``calendars.office.hours.mon-fri[1]``): inverted or
overlapping hours, a day given twice, a date that is not one, a holiday file that does not
parse (with its line).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import Field, ValidationInfo, model_validator

from ccmon.streams.calendar import (
    WEEKDAYS,
    BusinessHours,
    Span,
    day_names,
    overlap,
    parse_span,
    show_span,
)
from ccmon.streams.configfile import Section, fail
from ccmon.streams.icalendar import HolidayFileError, Holidays, parse_holidays

MAX_HOLIDAY_FILE_BYTES = 1 << 20
_EXAMPLE = 'mon-fri: ["09:00-17:00"]'


class CalendarBlock(Section):
    hours: dict[str, list[str]] = Field(
        description="Open hours per day of the week or range of days (mon, mon-fri, sat, "
        "sun...): lists of HH:MM-HH:MM, local time of the queue. A day not listed is closed.",
        min_length=1,
    )
    holidays: list[str] | None = Field(
        None, description="Closed dates: YYYY-MM-DD, or MM-DD for every year."
    )
    holidays_file: str | None = Field(
        None,
        description="An iCalendar file of all-day events (public holidays), relative to the "
        "queue file; each event's days are closed.",
    )

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> CalendarBlock:
        week(self.hours)
        if not any(self.hours.values()):
            raise fail("no open hours at all: a queue with this calendar is never open",
                       value=self.hours, at=("hours",))  # fmt: skip
        closed(self.holidays or [])
        if self.holidays_file is not None:
            base = (info.context or {}).get("base_dir")
            read_holiday_file(self.holidays_file, Path(base) if base else Path.cwd())
        return self


def week(hours: dict[str, list[str]]) -> tuple[tuple[Span, ...], ...]:
    """The seven days' spans, Monday first; ``fail`` names the key and item at fault."""
    days: list[list[Span] | None] = [None] * 7
    given_by: dict[int, str] = {}
    for key, texts in hours.items():
        try:
            numbers = day_names(key)
        except ValueError as exc:
            raise fail(str(exc), value=key, at=("hours", key)) from None
        spans: list[Span] = []
        for i, text in enumerate(texts):
            try:
                spans.append(parse_span(text))
            except ValueError as exc:
                raise fail(f"{exc} ({_EXAMPLE})", value=text, at=("hours", key, i)) from None
        clash = overlap(spans)
        if clash is not None:
            a, b = (show_span(s) for s in clash)
            raise fail(f"{a} and {b} overlap", value=texts, at=("hours", key))
        for n in numbers:
            if n in given_by:
                problem = f"{WEEKDAYS[n]} is already given by {given_by[n]!r}"
                raise fail(problem, value=key, at=("hours", key))
            given_by[n] = key
            days[n] = sorted(spans)
    return tuple(tuple(spans or ()) for spans in days)


def closed(holidays: list[str]) -> tuple[set[date], set[tuple[int, int]]]:
    dates: set[date] = set()
    yearly: set[tuple[int, int]] = set()
    for i, text in enumerate(holidays):
        try:
            if len(text) == 5 and text[2] == "-":  # MM-DD: every year (2000 has a 29 Feb)
                day = date.fromisoformat(f"2000-{text}")
                yearly.add((day.month, day.day))
            elif len(text) == 10:
                dates.add(date.fromisoformat(text))
            else:
                raise ValueError
        except ValueError:
            problem = "not a date: YYYY-MM-DD, or MM-DD for a date every year"
            raise fail(problem, value=text, at=("holidays", i)) from None
    return dates, yearly


def read_holiday_file(name: str, base_dir: Path) -> Holidays:
    path = Path(name) if Path(name).is_absolute() else base_dir / name
    try:
        data = path.read_bytes()[: MAX_HOLIDAY_FILE_BYTES + 1]
    except OSError as exc:
        problem = f"cannot read {path}: {exc.strerror or exc}"
        raise fail(problem, value=name, at=("holidays_file",)) from None
    if len(data) > MAX_HOLIDAY_FILE_BYTES:
        raise fail(f"{path} is over 1 MiB", value=name, at=("holidays_file",))
    try:
        return parse_holidays(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        problem = f"{path}: not UTF-8 text (offset {exc.start})"
        raise fail(problem, value=name, at=("holidays_file",)) from None
    except HolidayFileError as exc:
        raise fail(f"{path}: {exc}", value=name, at=("holidays_file",)) from None


def build_hours(name: str, block: CalendarBlock, timezone: str, base_dir: Path) -> BusinessHours:
    """The business hours of a calendar in one queue's zone (checked already)."""
    dates, yearly = closed(block.holidays or [])
    if block.holidays_file is not None:
        from_file = read_holiday_file(block.holidays_file, base_dir)
        dates |= from_file.dates
        yearly |= from_file.yearly
    return BusinessHours(timezone, week(block.hours), frozenset(dates), frozenset(yearly), name)
