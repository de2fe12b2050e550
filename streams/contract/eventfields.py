"""Field-level checks behind `streams.contract.events.validate` (kept apart to keep
both modules small).

Each check returns the normalised value or raises `FieldError(reason, detail)`; raising keeps
the valid path free of result checks, and the exception never leaves `validate`.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from ccmon.streams.contract.timeparse import parse_rfc3339

SCHEMA_VERSIONS = frozenset({1})
SCORE_RANGES: dict[str, tuple[int, int]] = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}
_VALUE_MAX = 60
# fmt: off
_JSON_KINDS = {bool: "boolean", int: "integer", float: "number", str: "string",
               list: "array", dict: "object"}
# fmt: on


@dataclass(frozen=True)
class ValidationLimits:
    max_message_bytes: int = 65536
    max_future_skew_seconds: float = 300.0
    max_duration_seconds: float = 86400.0
    min_timestamp: float = 946684800.0  # 2000-01-01T00:00:00Z
    max_id_length: int = 200
    max_queue_length: int = 100


DEFAULT_LIMITS = ValidationLimits()


class FieldError(Exception):
    """Internal to streams.contract.events: lets checks return plain values on the valid path."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _VALUE_MAX else text[: _VALUE_MAX - 3] + "..."


def kind(value: object) -> str:
    return _JSON_KINDS.get(type(value), type(value).__name__)


def wrong_type(name: str, expected: str, value: object) -> FieldError:
    return FieldError("wrong_type", f"{name} must be {expected}, got {kind(value)} {show(value)}")


# C0 and C1 controls and DEL; the schemas' `$defs/id` pattern excludes the same range.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def text(obj: dict[str, Any], name: str, max_len: int) -> str:
    value = obj.get(name)
    if type(value) is not str:
        if value is None:
            raise FieldError("missing_field", f"{name} is required")
        raise wrong_type(name, "a string", value)
    if not value:
        raise FieldError("empty_field", f"{name} must not be empty")
    if len(value) > max_len:
        raise FieldError("field_too_long", f"{name} has {len(value)} characters, max {max_len}")
    # Fast path: printable ASCII has no controls, so the regex only runs for other text.
    if (not (value.isascii() and value.isprintable()) and _CONTROL.search(value) is not None) or (
        value[0].isspace() or value[-1].isspace()
    ):
        raise FieldError(
            "control_characters_in_id",
            f"{name} has control characters or leading/trailing whitespace: {show(value)}",
        )
    return value


def one_of(
    obj: dict[str, Any],
    name: str,
    allowed: Collection[str],
    invalid: str,
    missing: tuple[str, str] | None = None,
) -> str | None:
    """A field whose value is a word of a closed list (a block reason, a destination, a
    priority): ``invalid`` is the rejection reason of any other value, ``missing`` the
    (reason, detail) of an absent one where the type requires it (None: optional). The
    message lists the words sorted, so that it reads the same whatever the set's order."""
    value = obj.get(name)
    if value is None:
        if missing is not None:
            raise FieldError(*missing)
        return None
    if type(value) is not str or value not in allowed:
        raise FieldError(
            invalid, f"{name} {show(value)} is not one of {', '.join(sorted(allowed))}"
        )
    return value


def agent_id(obj: dict[str, Any], limits: ValidationLimits) -> str | None:
    # "" is read as "no agent yet": producers commonly send it on offered events, and
    # rejecting those would lose the contact for a field ccmon never aggregates.
    value = obj.get("agent_id")
    if value is None or value == "":
        return None
    return text(obj, "agent_id", limits.max_id_length)


def integral(value: object) -> int | None:
    """JSON Schema semantics: an integer is any number without fractional part (not a bool)."""
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    return None


def schema_version(obj: dict[str, Any]) -> int:
    value = obj.get("schema_version")
    if value is None:
        return 1
    version = integral(value)
    if version is None:
        raise wrong_type("schema_version", "an integer", value)
    if version not in SCHEMA_VERSIONS:
        raise FieldError(
            "unsupported_schema_version",
            f"schema_version {version} is not supported (supported: {sorted(SCHEMA_VERSIONS)})",
        )
    return version


def occurred_at(obj: dict[str, Any], now: float, limits: ValidationLimits) -> float:
    value = obj.get("occurred_at")
    if type(value) is str:
        try:
            ts = parse_rfc3339(value)
        except ValueError as exc:
            raise FieldError("invalid_timestamp", f"occurred_at {show(value)}: {exc}") from None
    elif value is None:
        raise FieldError("missing_field", "occurred_at is required")
    else:
        millis = integral(value)
        if millis is None:
            raise FieldError(
                "invalid_timestamp",
                f"occurred_at must be an RFC 3339 string with offset or integer epoch "
                f"milliseconds, got {kind(value)} {show(value)}",
            )
        ts = millis / 1000.0
    if ts < limits.min_timestamp:
        raise FieldError(
            "timestamp_too_old",
            f"occurred_at {show(value)} is before {limits.min_timestamp:.0f} (epoch s); "
            "milliseconds sent as seconds?",
        )
    if ts > now + limits.max_future_skew_seconds:
        raise FieldError(
            "future_timestamp",
            f"occurred_at {show(value)} is {ts - now:.0f}s ahead of now "
            f"(max skew {limits.max_future_skew_seconds:.0f}s); producer clock or units?",
        )
    return ts


def duration(obj: dict[str, Any], name: str, limits: ValidationLimits) -> float | None:
    value = obj.get(name)
    if value is None:
        return None
    if type(value) is not float and type(value) is not int:
        raise wrong_type(name, "a number", value)
    if value < 0:
        raise FieldError("negative_duration", f"{name} is negative: {show(value)}")
    if value > limits.max_duration_seconds:
        raise FieldError(
            "absurd_duration",
            f"{name} {show(value)} exceeds {limits.max_duration_seconds:.0f}s; milliseconds?",
        )
    return float(value)


def boolean(obj: dict[str, Any], name: str) -> bool | None:
    value = obj.get(name)
    if value is None or type(value) is bool:
        return value
    raise FieldError("invalid_boolean", f"{name} must be true or false, got {show(value)}")


def score(obj: dict[str, Any], name: str) -> int | None:
    value = obj.get(name)
    if value is None:
        return None
    if type(value) is not int:
        if type(value) is not float:
            raise wrong_type(name, "an integer", value)
        if not value.is_integer():
            raise FieldError("score_not_integer", f"{name} must be a whole number, got {value!r}")
        value = int(value)
    low, high = SCORE_RANGES[name]
    if not low <= value <= high:
        raise FieldError("score_out_of_range", f"{name} must be in {low}..{high}, got {value}")
    return value
