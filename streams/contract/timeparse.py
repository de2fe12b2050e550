"""RFC 3339 timestamp parsing for the event contract.

The contract is stricter than ISO 8601 (an offset is mandatory; week dates, ordinal dates,
space separators and comma fractions are refused), so a regex fixes the shape and the C
``datetime.fromisoformat`` does the calendar work: this runs once per event.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

# Mirrors the `pattern` of `$defs/timestamp` in streams/contract/schemas/*.schema.json
# (anchored there, `fullmatch` here). RFC 3339 section 5.6 allows lowercase "t" and "z".
RFC3339_PATTERN = (
    "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\\.[0-9]+)?"
    "(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_SHAPE = re.compile(RFC3339_PATTERN)
# Only used to explain a rejection: a local time without offset is the most common mistake.
_NAIVE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_rfc3339(text: str) -> float:
    """Return epoch seconds for an RFC 3339 date-time with offset; ValueError says what is wrong."""
    if _SHAPE.fullmatch(text) is None:
        if _NAIVE.fullmatch(text):
            raise ValueError("no UTC offset: add 'Z' or '+hh:mm' (a local time is ambiguous)")
        raise ValueError("not an RFC 3339 date-time such as 2024-05-01T09:30:00Z")
    if text[10] == "t" or text[-1] == "z":
        text = text.upper()
    try:
        return (datetime.fromisoformat(text) - _EPOCH).total_seconds()
    except ValueError as exc:
        # RFC 3339 allows second 60 (leap second); datetime does not, so fold it forward.
        if text[17:19] == "60":
            return parse_rfc3339(text[:17] + "59" + text[19:]) + 1.0
        raise ValueError(f"date or time out of range ({exc})") from None
