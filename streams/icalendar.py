"""Holidays from an iCalendar file (RFC 5545): the all-day subset, read strictly.

What public holiday feeds and office calendars export for days off is all-day events::

    BEGIN:VEVENT
    DTSTART;VALUE=DATE:20261225
    DTEND;VALUE=DATE:20261226        (optional, exclusive: a range of days)
    RRULE:FREQ=YEARLY                (optional: the same date every year)
    SUMMARY:Noël
    END:VEVENT

That is what is read. Anything that would change which days are closed and is not in that
subset (a timed event, another RRULE, RDATE, EXDATE, a DURATION in hours) is refused with
its line number rather than read halfway: a holiday file that silently lost half its days
would make the compliance report count closed days as days the promise was missed. Other
components (VTIMEZONE, VTODO, ...) and properties (SUMMARY, UID, ...) do not close anything
and are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

MAX_DAYS_PER_EVENT = 366  # a DTEND further out is a typo, not a holiday
_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_DURATION_DAYS = re.compile(r"^\+?P(\d+)D$")
# What changes the days an event covers, and is not read: refused rather than ignored.
_REFUSED = {
    "RDATE": "RDATE (extra dates) is not supported; write one VEVENT per date",
    "EXDATE": "EXDATE (excluded dates) is not supported; write the dates that are holidays",
    "EXRULE": "EXRULE is not supported",
    "RECURRENCE-ID": "RECURRENCE-ID (a changed occurrence) is not supported",
}


class HolidayFileError(ValueError):
    """A holiday file that cannot be used: the line and what is wrong, in one line."""

    def __init__(self, line: int | None, message: str) -> None:
        self.line = line
        self.message = message
        super().__init__(f"line {line}: {message}" if line else message)


@dataclass
class Holidays:
    """Closed dates, and dates closed every year (month, day)."""

    dates: set[date] = field(default_factory=set)
    yearly: set[tuple[int, int]] = field(default_factory=set)


def _unfold(text: str) -> list[tuple[int, str]]:
    """Content lines with their first physical line number: a line that starts with a space
    or a tab continues the previous one (RFC 5545, 3.1)."""
    lines: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] = (lines[-1][0], lines[-1][1] + raw[1:])
        elif raw.strip():
            lines.append((number, raw))
    return lines


def _split(line: str) -> tuple[str, dict[str, str], str]:
    """``NAME;PARAM=V;...:value`` -> (NAME, {PARAM: V}, value); a colon inside a quoted
    parameter value does not end the name."""
    quoted = False
    for i, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == ":" and not quoted:
            head, value = line[:i], line[i + 1 :]
            break
    else:
        raise ValueError("not a content line (NAME:value)")
    name, *params = head.split(";")
    parsed = {}
    for param in params:
        key, sep, val = param.partition("=")
        if not sep:
            raise ValueError(f"parameter {param!r} has no value")
        parsed[key.upper()] = val.strip('"').upper()
    return name.upper(), parsed, value


def _day(value: str, params: dict[str, str], prop: str) -> date:
    if params.get("VALUE") not in (None, "DATE") or not _DATE.match(value):
        raise ValueError(
            f"{prop} {value!r} is not a date: only all-day events are read "
            f"({prop};VALUE=DATE:YYYYMMDD); a timed event does not close a whole day"
        )
    match = _DATE.match(value)
    assert match is not None
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError:
        raise ValueError(f"{prop} {value!r} is not a calendar date") from None


class _Event:
    def __init__(self, line: int) -> None:
        self.line = line
        self.start: date | None = None
        self.end: date | None = None
        self.days: int | None = None
        self.yearly = False

    def take(self, name: str, params: dict[str, str], value: str) -> None:
        if name == "DTSTART":
            self.start = _day(value, params, name)
        elif name == "DTEND":
            self.end = _day(value, params, name)
        elif name == "DURATION":
            found = _DURATION_DAYS.match(value.upper())
            if not found:
                raise ValueError(f"DURATION {value!r}: only whole days are read (P1D, P2D...)")
            self.days = int(found.group(1))
        elif name == "RRULE":
            if value.upper().replace(" ", "") != "FREQ=YEARLY":
                raise ValueError(
                    f"RRULE {value!r} is not supported: only FREQ=YEARLY (the same date every "
                    "year); write the other dates as events of their own"
                )
            self.yearly = True
        elif name in _REFUSED:
            raise ValueError(_REFUSED[name])

    def into(self, holidays: Holidays) -> None:
        if self.start is None:
            raise HolidayFileError(self.line, "VEVENT without DTSTART")
        if self.end is not None and self.days is not None:
            raise HolidayFileError(self.line, "VEVENT with both DTEND and DURATION")
        days = 1 if self.end is None else (self.end - self.start).days
        if self.days is not None:
            days = self.days
        if days < 1 or days > MAX_DAYS_PER_EVENT:
            raise HolidayFileError(
                self.line,
                f"VEVENT from {self.start} covers {days} days; DTEND is exclusive and comes "
                f"after DTSTART, at most {MAX_DAYS_PER_EVENT} days",
            )
        for n in range(days):
            day = self.start + timedelta(days=n)
            if self.yearly:
                holidays.yearly.add((day.month, day.day))
            else:
                holidays.dates.add(day)


def parse_holidays(text: str) -> Holidays:
    """The closed days of an iCalendar document, or HolidayFileError naming the line."""
    holidays = Holidays()
    stack: list[str] = []
    event: _Event | None = None
    seen_calendar = False
    for number, line in _unfold(text.lstrip("\ufeff")):
        try:
            name, params, value = _split(line)
        except ValueError as exc:
            raise HolidayFileError(number, str(exc)) from None
        if name == "BEGIN":
            component = value.upper()
            if not stack and component != "VCALENDAR":
                raise HolidayFileError(
                    number, "not an iCalendar file: it starts with BEGIN:VCALENDAR"
                )
            seen_calendar = True
            stack.append(component)
            if component == "VEVENT" and stack == ["VCALENDAR", "VEVENT"]:
                event = _Event(number)
            continue
        if name == "END":
            if not stack or stack[-1] != value.upper():
                opened = stack[-1] if stack else "nothing"
                raise HolidayFileError(number, f"END:{value} closes {opened}")
            if stack == ["VCALENDAR", "VEVENT"] and event is not None:
                event.into(holidays)
                event = None
            stack.pop()
            continue
        if not stack:
            where = "after END:VCALENDAR" if seen_calendar else "before BEGIN:VCALENDAR"
            raise HolidayFileError(number, f"not an iCalendar file: content {where}")
        if event is not None and stack == ["VCALENDAR", "VEVENT"]:
            try:
                event.take(name, params, value)
            except ValueError as exc:
                raise HolidayFileError(number, str(exc)) from None
    if not seen_calendar:
        raise HolidayFileError(None, "no BEGIN:VCALENDAR: not an iCalendar file")
    if stack:
        raise HolidayFileError(None, f"BEGIN:{stack[-1]} is never closed (truncated file?)")
    return holidays
