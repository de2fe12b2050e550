"""Durations and the other scalar types of the simulator's configuration file (kept apart
from :mod:`ccmon.agents.devkit.simulator.config` so that its sections stay small)."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema

_DURATION = re.compile(
    r"^(?:(\d+(?:\.\d*)?)d)?(?:(\d+(?:\.\d*)?)h)?(?:(\d+(?:\.\d*)?)m)?"
    r"(?:(\d+(?:\.\d*)?)s)?$"
)
_EXAMPLES = "examples: 2h, 90m, 3600s, 1h30m"


def _seconds(value: object) -> float:
    """Seconds from a number or a string like ``2h``; ValueError says what is wrong (the
    value itself is shown by whoever names the place)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"must be a duration ({_EXAMPLES})")
    if isinstance(value, str):
        text = value.strip().lower()
        try:
            seconds = float(text)
        except ValueError:
            match = _DURATION.match(text)
            if not text or match is None:
                raise ValueError(f"is not a duration ({_EXAMPLES})") from None
            d, h, m, s = (float(g) if g else 0.0 for g in match.groups())
            seconds = d * 86_400 + h * 3600 + m * 60 + s
    else:
        seconds = float(value)
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError("must be a finite duration >= 0")
    return seconds


def parse_duration(value: object, where: str = "duration") -> float:
    """Seconds from a number or a string like ``2h``, ``90m``, ``3600s``, ``1h30m``, ``1d``
    (command-line flags; ValueError names ``where``)."""
    try:
        return _seconds(value)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc} (got {value!r})") from None


# What _seconds accepts (a number in a string too, any case, outer blanks), for editors.
_NUMBER = r"\d+(\.\d*)?"
_DURATION_PATTERN = (
    rf"^\s*({_NUMBER}|({_NUMBER}[dD])?({_NUMBER}[hH])?({_NUMBER}[mM])?({_NUMBER}[sS])?)\s*$"
)
_DURATION_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "number", "minimum": 0},
        {"type": "string", "minLength": 1, "pattern": _DURATION_PATTERN},
    ],
    "description": "seconds, or a duration such as 90s, 15m, 2h, 1h30m, 1d",
}
# A ValueError of _seconds is a problem of the file (pydantic's "value_error").
Duration = Annotated[float, BeforeValidator(_seconds), WithJsonSchema(_DURATION_SCHEMA)]
PositiveDuration = Annotated[Duration, Field(gt=0)]
Count = Annotated[int, Field(ge=0)]
Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Rate = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Name = Annotated[str, Field(min_length=1, max_length=100)]
