"""The all-day subset of iCalendar read strictly: dates, ranges, yearly dates, folded lines;
everything else that would change the closed days is refused with its line."""

from __future__ import annotations

from datetime import date

import pytest

from ccmon.streams.icalendar import HolidayFileError, parse_holidays

FEED = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//example//holidays//FR\r
BEGIN:VTIMEZONE\r
TZID:Europe/Paris\r
END:VTIMEZONE\r
BEGIN:VEVENT\r
UID:1@example\r
DTSTART;VALUE=DATE:20261111\r
SUMMARY:Armistice\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:2@example\r
DTSTART;VALUE=DATE:20261224\r
DTEND;VALUE=DATE:20261227\r
SUMMARY:Long week-\r
 end\r
END:VEVENT\r
BEGIN:VEVENT\r
DTSTART:20260501\r
RRULE:FREQ=YEARLY\r
DURATION:P1D\r
BEGIN:VALARM\r
TRIGGER:-PT15M\r
END:VALARM\r
END:VEVENT\r
END:VCALENDAR\r
"""


def test_a_holiday_feed() -> None:
    holidays = parse_holidays(FEED)
    assert holidays.dates == {date(2026, 11, 11), date(2026, 12, 24), date(2026, 12, 25),
                              date(2026, 12, 26)}  # fmt: skip
    assert holidays.yearly == {(5, 1)}


def event(*lines: str) -> str:
    body = "\n".join(lines)
    return f"BEGIN:VCALENDAR\nBEGIN:VEVENT\n{body}\nEND:VEVENT\nEND:VCALENDAR\n"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (event("DTSTART:20261225T090000Z"), 3, "only all-day events"),
        (event("DTSTART;VALUE=DATE-TIME:20261225T090000"), 3, "only all-day events"),
        (event("DTSTART;VALUE=DATE:20261325"), 3, "not a calendar date"),
        (event("DTSTART;VALUE=DATE:20261225", "RRULE:FREQ=WEEKLY;BYDAY=MO"), 4, "FREQ=YEARLY"),
        (event("DTSTART;VALUE=DATE:20261225", "RDATE;VALUE=DATE:20261226"), 4, "RDATE"),
        (event("DTSTART;VALUE=DATE:20261225", "EXDATE;VALUE=DATE:20261226"), 4, "EXDATE"),
        (event("DTSTART;VALUE=DATE:20261225", "DURATION:PT4H"), 4, "whole days"),
        (event("DTSTART;VALUE=DATE:20261225", "DTEND;VALUE=DATE:20261225"), 2, "covers 0 days"),
        (event("SUMMARY:no start"), 2, "without DTSTART"),
        (event("this is not a content line"), 3, "not a content line"),
        ("BEGIN:VEVENT\nEND:VEVENT\n", 1, "it starts with BEGIN:VCALENDAR"),
        ("BEGIN:VCALENDAR\nBEGIN:VEVENT\nEND:VCALENDAR\n", 3, "closes VEVENT"),
        ("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20261225\n", None, "never closed"),
        ("holidays: [2026-12-25]\n", 1, "not an iCalendar file"),
        ("", None, "not an iCalendar file"),
    ],
)
def test_what_is_refused_and_where(text: str, line: int | None, words: str) -> None:
    with pytest.raises(HolidayFileError) as caught:
        parse_holidays(text)
    assert caught.value.line == line
    assert words in str(caught.value)
    assert "\n" not in str(caught.value)
