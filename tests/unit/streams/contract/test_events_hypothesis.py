"""Property tests: validate() never raises, and every event the contract allows is accepted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccmon.streams.contract.events import (
    BLOCK_REASONS,
    CHANNELS,
    DESTINATIONS,
    PRIORITIES,
    REASONS,
    TYPES_BY_CHANNEL,
    Event,
    Rejection,
    validate,
)
from ccmon.streams.contract.timeparse import parse_rfc3339

NOW = 1717200000.0  # 2024-06-01T00:00:00Z
MIN_TS = 946684800.0

channels = st.sampled_from(CHANNELS)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)
FIELDS = [
    "event_id",
    "type",
    "occurred_at",
    "queue",
    "contact_id",
    "agent_id",
    "schema_version",
    "wait_seconds",
    "reason",
    "talk_seconds",
    "hold_seconds",
    "wrap_seconds",
    "response_seconds",
    "resolved_first_contact",
    "priority",
    "csat",
    "nps",
    "ces",
    "target_queue",
    "destination",
    "callback_within_seconds",
]


def never_crashes(result: Event | Rejection) -> None:
    assert isinstance(result, Event | Rejection)
    if isinstance(result, Rejection):
        assert result.reason in REASONS
        assert result.reason != "internal_error", result.detail
        assert len(result.detail) <= 200


@given(st.binary(max_size=2000), channels)
def test_arbitrary_bytes_never_raise(data: bytes, channel: str) -> None:
    never_crashes(validate(data, channel, NOW))


@given(json_values, channels)
def test_arbitrary_json_values_never_raise(value: Any, channel: str) -> None:
    never_crashes(validate(orjson.dumps(value), channel, NOW))


@given(st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=len(FIELDS)), channels)
def test_arbitrary_objects_with_contract_keys_never_raise(obj: dict[str, Any], ch: str) -> None:
    never_crashes(validate(orjson.dumps(obj), ch, NOW))


# Identifiers the contract allows: no control characters, no surrounding whitespace (built
# from whitespace-free words rather than filtered, which would make hypothesis slow).
words = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp")), min_size=1, max_size=30
)
id_text = st.lists(words, min_size=1, max_size=3).map(" ".join)
durations = st.floats(min_value=0, max_value=86400, allow_nan=False) | st.integers(0, 86400)
offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59)
instants = st.floats(min_value=MIN_TS, max_value=NOW + 299, allow_nan=False)


def rfc3339(ts: float, offset_minutes: int, micros: bool) -> str:
    tz = timezone(timedelta(minutes=offset_minutes))
    moment = datetime.fromtimestamp(ts, UTC).astimezone(tz)
    if not micros:
        moment = moment.replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


@st.composite
def valid_events(draw: st.DrawFn) -> tuple[str, dict[str, Any], float]:
    channel = draw(channels)
    type_ = draw(st.sampled_from(sorted(TYPES_BY_CHANNEL[channel])))
    occurred: int | str
    if draw(st.booleans()):
        millis = draw(st.integers(int(MIN_TS * 1000), int((NOW + 299) * 1000)))
        occurred, expected = millis, millis / 1000
    else:
        text = rfc3339(draw(instants), draw(offsets), draw(st.booleans()))
        occurred, expected = text, parse_rfc3339(text)
    obj: dict[str, Any] = {
        "event_id": draw(id_text),
        "type": type_,
        "occurred_at": occurred,
        "queue": draw(id_text),
        "contact_id": draw(id_text),
    }
    if draw(st.booleans()):
        obj["agent_id"] = draw(id_text | st.just("") | st.none())
    exits = ("answered", "abandoned", "callback_requested", "flowed_out")
    if type_ in exits and draw(st.booleans()):
        obj["wait_seconds"] = draw(durations)
    if type_ == "callback_requested" and draw(st.booleans()):
        obj["callback_within_seconds"] = draw(durations)
    if type_ == "flowed_out":
        obj["destination"] = draw(st.sampled_from(sorted(DESTINATIONS)))
    if type_ == "transferred" or obj.get("destination") == "queue":
        obj["target_queue"] = draw(id_text)
    if type_ == "abandoned_on_hold" and draw(st.booleans()):
        obj["hold_seconds"] = draw(durations)
    if type_ == "blocked":
        obj["reason"] = draw(st.sampled_from(sorted(BLOCK_REASONS)))
    if type_ == "ended":
        obj["talk_seconds"] = draw(durations)
        for name in ("hold_seconds", "wrap_seconds"):
            if draw(st.booleans()):
                obj[name] = draw(durations)
    if type_ in ("ended", "resolved") and draw(st.booleans()):
        obj["resolved_first_contact"] = draw(st.booleans())
    if type_ == "first_response" and channel == "chat" and draw(st.booleans()):
        obj["response_seconds"] = draw(durations)
    if type_ == "created" and draw(st.booleans()):
        obj["priority"] = draw(st.sampled_from(sorted(PRIORITIES)))
    if type_ == "survey":
        scores = {"csat": st.integers(1, 5), "nps": st.integers(0, 10), "ces": st.integers(1, 7)}
        chosen = draw(st.lists(st.sampled_from(sorted(scores)), min_size=1, unique=True))
        obj.update({name: draw(scores[name]) for name in chosen})
    obj.update(draw(st.dictionaries(st.text(max_size=8).map(lambda k: "x-" + k), json_values)))
    return channel, obj, expected


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(valid_events())
def test_valid_generated_events_are_accepted(case: tuple[str, dict[str, Any], float]) -> None:
    channel, obj, expected_ts = case
    result = validate(orjson.dumps(obj), channel, NOW)
    assert isinstance(result, Event), (result, obj)
    assert (result.channel, result.type, result.event_id) == (channel, obj["type"], obj["event_id"])
    assert (result.queue, result.contact_id) == (obj["queue"], obj["contact_id"])
    assert result.occurred_at == expected_ts
    assert result.agent_id == (obj.get("agent_id") or None)
    for name in ("wait_seconds", "talk_seconds", "response_seconds", "csat", "nps", "ces"):
        if name in obj:
            assert getattr(result, name) == obj[name]
    assert Event.from_dict(result.to_dict()) == result


@given(valid_events(), st.sampled_from(FIELDS), json_values)
def test_valid_events_with_one_arbitrary_field_never_raise(
    case: tuple[str, dict[str, Any], float], name: str, value: Any
) -> None:
    channel, obj, _ = case
    never_crashes(validate(orjson.dumps({**obj, name: value}), channel, NOW))


@given(instants, offsets, st.booleans())
def test_rfc3339_parsing_matches_datetime(ts: float, offset: int, micros: bool) -> None:
    text = rfc3339(ts, offset, micros)
    expected = datetime.fromisoformat(text).timestamp()
    assert abs(parse_rfc3339(text) - expected) < 1e-6
    assert abs(parse_rfc3339(text.lower()) - expected) < 1e-6
