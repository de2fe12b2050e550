"""Reporting periods of a queue: its local intervals (15 or 30 minutes) and local days, and
the names of their record markers in a partition's live entries. Pure.

An interval is named by its first epoch minute and lasts ``interval_minutes`` of absolute
time (local intervals start at :00, :15, :30, :45 local time, DST included); a day is named
by its local date and runs from one local midnight to the next: 23, 24 or 25 hours.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache

from ccmon.agents.domain import buckets as b

INTERVAL, DAY = "interval", "day"
# Marker entries live among a channel x queue's live entries under these names; contact ids
# cannot start with a control character (the contract refuses them), so they never collide.
MARKER = "\x00r|"


def interval_bounds(start_minute: int, length: int) -> tuple[float, float]:
    return start_minute * 60.0, (start_minute + length) * 60.0


@lru_cache(maxsize=4096)
def day_bounds(day: str, tz: str) -> tuple[float, float]:
    """[local midnight, next local midnight) of a local date, as epoch seconds."""
    first = date.fromisoformat(day)
    zone = b.zone(tz)
    start = datetime.combine(first, datetime.min.time(), zone).timestamp()
    end = datetime.combine(first + timedelta(days=1), datetime.min.time(), zone).timestamp()
    return start, end


def day_of_minute(minute: int, tz: str) -> str:
    return b.local_day(minute * 60.0, tz)


def marker_key(kind: str, name: str) -> str:
    """``kind`` INTERVAL with the first minute, or DAY with the local date."""
    return f"{MARKER}{kind}|{name}"


def parse_marker(key: str) -> tuple[str, str] | None:
    if not key.startswith(MARKER):
        return None
    kind, _, name = key[len(MARKER) :].partition("|")
    return kind, name


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def month_marker(month: str) -> str:
    """The marker of a month's tally of closed days (``2026-11``)."""
    return marker_key("month", month)
