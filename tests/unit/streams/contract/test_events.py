"""streams.contract.events.validate: every type, every rejection reason, timestamp formats."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
import pytest

from ccmon.streams.contract import events
from ccmon.streams.contract.events import (
    DEFAULT_LIMITS,
    REASONS,
    TYPES_BY_CHANNEL,
    Event,
    Rejection,
    ValidationLimits,
    validate,
)

NOW = 1717200000.0  # 2024-06-01T00:00:00Z
T = "2024-05-02T09:30:00+02:00"
T_EPOCH = 1714635000.0

# Minimal valid extra fields per type.
REQUIRED_BY_TYPE: dict[str, dict[str, Any]] = {
    "blocked": {"reason": "queue_full"},
    "ended": {"talk_seconds": 10},
    "survey": {"csat": 4},
    "flowed_out": {"destination": "voicemail"},
    "transferred": {"target_queue": "sales"},
}


def doc(type_: str = "offered", **fields: Any) -> dict[str, Any]:
    base = {
        "event_id": "evt-1",
        "type": type_,
        "occurred_at": T,
        "queue": "billing",
        "contact_id": "c-1",
        **REQUIRED_BY_TYPE.get(type_, {}),
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not ...}


def raw(type_: str = "offered", **fields: Any) -> bytes:
    return orjson.dumps(doc(type_, **fields))


def ok(data: bytes, channel: str = "call", limits: ValidationLimits = DEFAULT_LIMITS) -> Event:
    result = validate(data, channel, NOW, limits)
    assert isinstance(result, Event), result
    return result


def rejected(
    data: bytes, channel: str = "call", limits: ValidationLimits = DEFAULT_LIMITS
) -> Rejection:
    result = validate(data, channel, NOW, limits)
    assert isinstance(result, Rejection), result
    assert result.reason in REASONS
    assert len(result.detail) <= 200
    return result


@pytest.mark.parametrize(
    ("channel", "type_"),
    [
        (c, t)
        for c, types in sorted(TYPES_BY_CHANNEL.items())
        for t in sorted(types)
        if c != "agent"  # agent events: tests/unit/streams/contract/test_agentevents.py
    ],
)
def test_every_type_of_every_channel_is_accepted(channel: str, type_: str) -> None:
    event = ok(raw(type_), channel)
    assert (event.channel, event.type, event.queue, event.contact_id) == (
        channel,
        type_,
        "billing",
        "c-1",
    )
    assert event.occurred_at == T_EPOCH
    assert event.schema_version == 1


def test_types_by_channel_matches_the_contract() -> None:
    voice = {"offered", "answered", "abandoned", "blocked", "ended", "survey"}
    voice |= {"callback_requested", "callback_placed", "flowed_out", "transferred"}
    voice |= {"abandoned_on_hold"}
    expected = {
        "call": voice,
        "chat": voice | {"first_response"},
        "ticket": {
            "created",
            "first_response",
            "agent_replied",
            "customer_replied",
            "pending",
            "resumed",
            "reopened",
            "resolved",
            "survey",
        },
        "agent": {"logged_in", "logged_out", "state_changed", "skills_changed"},
    }
    assert expected == TYPES_BY_CHANNEL


def test_fields_of_each_type_are_normalised() -> None:
    assert ok(raw("answered", wait_seconds=12)).wait_seconds == 12.0
    assert ok(raw("abandoned")).wait_seconds is None  # derived by the counting side
    assert ok(raw("blocked", reason="trunks_busy")).reason == "trunks_busy"
    ended = ok(raw("ended", talk_seconds=100, wrap_seconds=7.5, resolved_first_contact=False))
    assert (ended.talk_seconds, ended.hold_seconds, ended.wrap_seconds) == (100.0, 0.0, 7.5)
    assert ended.resolved_first_contact is False
    assert isinstance(ended.talk_seconds, float)
    assert ok(raw("first_response", response_seconds=3), "chat").response_seconds == 3.0
    assert ok(raw("created", priority="urgent"), "ticket").priority == "urgent"
    assert ok(raw("created"), "ticket").priority is None
    assert ok(raw("resolved", resolved_first_contact=True), "ticket").resolved_first_contact
    survey = ok(raw("survey", csat=None, nps=0, ces=7.0))
    assert (survey.csat, survey.nps, survey.ces) == (None, 0, 7)
    assert isinstance(survey.ces, int)


def test_optional_envelope_fields() -> None:
    assert ok(raw(agent_id="agent-7")).agent_id == "agent-7"
    assert ok(raw(agent_id="")).agent_id is None  # "no agent yet"
    assert ok(raw(agent_id=None)).agent_id is None
    assert ok(raw(schema_version=1)).schema_version == 1
    assert ok(raw(schema_version=1.0)).schema_version == 1


def test_unknown_and_inapplicable_fields_are_ignored() -> None:
    event = ok(raw("offered", future_field={"x": [1, 2]}, wait_seconds="n/a", csat=99))
    assert event.wait_seconds is None and event.csat is None


def test_non_ascii_ids_are_fine() -> None:
    queue = "Équipe facturation ☎"
    assert ok(raw(queue=queue, contact_id="客户-1")).queue == queue


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-02T07:30:00Z", T_EPOCH),
        ("2024-05-02t07:30:00z", T_EPOCH),
        ("2024-05-02T09:30:00+02:00", T_EPOCH),
        ("2024-05-02T02:00:00-05:30", T_EPOCH),
        ("2024-05-02T07:30:00-00:00", T_EPOCH),
        ("2024-05-02T07:30:00.250Z", T_EPOCH + 0.25),
        ("2024-05-02T07:30:00.123456789Z", T_EPOCH + 0.123456),
        ("2016-12-31T23:59:60Z", 1483228800.0),  # leap second folds into the next second
        (1714635000000, T_EPOCH),
        (1714635000123, T_EPOCH + 0.123),
        (1714635000000.0, T_EPOCH),  # JSON has one number type: 1.7e12 is an integer
    ],
)
def test_timestamp_formats(value: object, expected: float) -> None:
    assert ok(raw(occurred_at=value)).occurred_at == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    "value",
    [
        "2024-05-02T09:30:00",  # no offset
        "2024-05-02 09:30:00Z",  # space separator
        "2024-05-02",
        "2024-W18-4T09:30:00Z",
        "2024-05-02T09:30Z",
        "2024-05-02T09:30:00,5Z",
        "2024-05-02T09:30:00+0200",
        "2024-05-02T24:00:00Z",
        "2024-13-02T09:30:00Z",
        "2024-05-02T09:30:00+24:00",
        "1714635000000",  # a string, not a number
        "",
        True,
        1714635000000.5,
        [2024, 5, 2],
        {"seconds": 1},
    ],
)
def test_invalid_timestamps(value: object) -> None:
    assert rejected(raw(occurred_at=value)).reason == "invalid_timestamp"


def test_naive_timestamp_detail_explains_the_offset() -> None:
    assert "offset" in rejected(raw(occurred_at="2024-05-02T09:30:00")).detail


def test_future_skew_and_minimum_are_limits() -> None:
    assert ok(raw(occurred_at=int((NOW + 299) * 1000))).occurred_at == NOW + 299
    assert rejected(raw(occurred_at=int((NOW + 301) * 1000))).reason == "future_timestamp"
    lax = ValidationLimits(max_future_skew_seconds=3600)
    assert ok(raw(occurred_at=int((NOW + 301) * 1000)), limits=lax)
    assert ok(raw(occurred_at="2000-01-01T00:00:00Z")).occurred_at == 946684800.0
    assert rejected(raw(occurred_at="1999-12-31T23:59:59Z")).reason == "timestamp_too_old"


_LONG = "x" * 201
REJECTIONS: list[tuple[str, str, bytes, str]] = [
    # (case id, channel, bytes, expected reason)
    ("oversized", "call", raw(padding="x" * 70000), "oversized"),
    ("not_utf8", "call", b'{"event_id": "caf\xe9"}', "not_utf8"),
    ("not_json", "call", b'{"event_id": ', "not_json"),
    ("empty message", "call", b"", "not_json"),
    ("bom", "call", b"\xef\xbb\xbf" + raw(), "not_json"),
    ("nan literal", "call", raw("answered")[:-1] + b',"wait_seconds":NaN}', "non_finite_number"),
    ("infinity literal", "call", b'{"a": -Infinity}', "non_finite_number"),
    ("overflowing number", "call", b'{"wait_seconds": 1e400}', "non_finite_number"),
    ("array", "call", b"[]", "not_object"),
    ("string", "call", b'"offered"', "not_object"),
    ("null", "call", b"null", "not_object"),
    ("unknown channel", "sms", raw(), "unknown_channel"),
    ("missing event_id", "call", raw(event_id=...), "missing_field"),
    ("null contact_id", "call", raw(contact_id=None), "missing_field"),
    ("missing type", "call", raw(type=...), "missing_field"),
    ("missing occurred_at", "call", raw(occurred_at=...), "missing_field"),
    ("missing queue", "call", raw(queue=...), "missing_field"),
    ("numeric queue", "call", raw(queue=42), "wrong_type"),
    ("numeric event_id", "call", raw(event_id=7), "wrong_type"),
    ("type not a string", "call", raw(type=["offered"]), "wrong_type"),
    ("agent_id object", "call", raw(agent_id={"id": 1}), "wrong_type"),
    ("schema_version string", "call", raw(schema_version="1"), "wrong_type"),
    ("wait string", "chat", raw("answered", wait_seconds="12"), "wrong_type"),
    ("wait boolean", "call", raw("answered", wait_seconds=True), "wrong_type"),
    ("csat boolean", "call", raw("survey", csat=True), "wrong_type"),
    ("csat string", "call", raw("survey", csat="5"), "wrong_type"),
    ("empty event_id", "call", raw(event_id=""), "empty_field"),
    ("empty queue", "call", raw(queue=""), "empty_field"),
    ("long event_id", "call", raw(event_id=_LONG), "field_too_long"),
    ("long queue", "call", raw(queue="q" * 101), "field_too_long"),
    ("long agent_id", "call", raw(agent_id=_LONG), "field_too_long"),
    ("newline in id", "call", raw(event_id="evt\n1"), "control_characters_in_id"),
    ("nul in queue", "call", raw(queue="bill\x00ing"), "control_characters_in_id"),
    ("C1 control", "call", raw(contact_id="c\x851"), "control_characters_in_id"),
    ("leading space", "call", raw(queue=" billing"), "control_characters_in_id"),
    ("trailing nbsp", "call", raw(contact_id="c-1\u00a0"), "control_characters_in_id"),
    ("blank id", "call", raw(event_id="   "), "control_characters_in_id"),
    ("tab in agent_id", "call", raw(agent_id="a\t1"), "control_characters_in_id"),
    ("unknown type", "call", raw("hangup"), "unknown_type"),
    ("type case", "call", raw("Offered"), "unknown_type"),
    ("created on calls", "call", raw("created"), "type_not_for_channel"),
    ("offered on tickets", "ticket", raw("offered"), "type_not_for_channel"),
    ("first_response on calls", "call", raw("first_response"), "type_not_for_channel"),
    ("ended on tickets", "ticket", raw("ended"), "type_not_for_channel"),
    ("schema_version 2", "call", raw(schema_version=2), "unsupported_schema_version"),
    ("schema_version 0", "call", raw(schema_version=0), "unsupported_schema_version"),
    ("naive timestamp", "call", raw(occurred_at="2024-05-02T09:30:00"), "invalid_timestamp"),
    ("seconds not ms", "call", raw(occurred_at=1714635000), "timestamp_too_old"),
    ("negative ms", "call", raw(occurred_at=-1), "timestamp_too_old"),
    ("year 2999", "call", raw(occurred_at="2999-01-01T00:00:00Z"), "future_timestamp"),
    ("ms as microseconds", "call", raw(occurred_at=1714635000000000), "future_timestamp"),
    ("negative wait", "call", raw("answered", wait_seconds=-0.5), "negative_duration"),
    ("negative hold", "chat", raw("ended", hold_seconds=-3), "negative_duration"),
    ("negative response", "chat", raw("first_response", response_seconds=-1), "negative_duration"),
    ("wait in ms", "call", raw("abandoned", wait_seconds=125000), "absurd_duration"),
    ("wrap of a day+", "call", raw("ended", wrap_seconds=86401), "absurd_duration"),
    ("ended without talk", "call", raw("ended", talk_seconds=...), "missing_durations"),
    ("ended talk null", "chat", raw("ended", talk_seconds=None), "missing_durations"),
    ("blocked no reason", "call", raw("blocked", reason=...), "missing_reason"),
    ("blocked unknown reason", "chat", raw("blocked", reason="busy"), "invalid_reason"),
    ("blocked reason list", "call", raw("blocked", reason=["closed"]), "invalid_reason"),
    ("bad priority", "ticket", raw("created", priority="critical"), "invalid_priority"),
    ("priority number", "ticket", raw("created", priority=1), "invalid_priority"),
    ("fcr string", "call", raw("ended", resolved_first_contact="true"), "invalid_boolean"),
    ("fcr number", "ticket", raw("resolved", resolved_first_contact=1), "invalid_boolean"),
    ("survey no score", "call", raw("survey", csat=...), "missing_score"),
    ("survey null scores", "ticket", raw("survey", csat=None, nps=None), "missing_score"),
    ("csat 4.5", "chat", raw("survey", csat=4.5), "score_not_integer"),
    ("nps 9.9", "call", raw("survey", csat=..., nps=9.9), "score_not_integer"),
    ("csat 0", "call", raw("survey", csat=0), "score_out_of_range"),
    ("csat 6", "call", raw("survey", csat=6), "score_out_of_range"),
    ("nps 11", "ticket", raw("survey", csat=..., nps=11), "score_out_of_range"),
    ("nps -1", "ticket", raw("survey", csat=..., nps=-1), "score_out_of_range"),
    ("ces 8", "chat", raw("survey", csat=..., ces=8), "score_out_of_range"),
    ("destination", "call", raw("flowed_out", destination="overflow"), "invalid_destination"),
    # agent events (more in test_agentevents.py)
    ("agent state", "agent", raw("state_changed", agent_id="a", state="x"), "invalid_state"),
    (
        "agent channel",
        "agent",
        raw("state_changed", agent_id="a", state="on_contact", channel="x"),
        "invalid_channel",
    ),
    ("agent queues", "agent", raw("skills_changed", agent_id="a", queues=3), "invalid_queues"),
    ("agent slots", "agent", raw("logged_in", agent_id="a", max_concurrent=50), "invalid_slots"),
    (
        "agent slots busy above its limit",
        "agent",
        raw("state_changed", agent_id="a", state="on_contact", max_concurrent=2, slots_busy=3),
        "invalid_slots",
    ),
]


@pytest.mark.parametrize(
    ("channel", "data", "reason"), [c[1:] for c in REJECTIONS], ids=[c[0] for c in REJECTIONS]
)
def test_rejection_reasons(channel: str, data: bytes, reason: str) -> None:
    assert rejected(data, channel).reason == reason


def test_every_reason_is_exercised() -> None:
    covered = {case[3] for case in REJECTIONS} | {"internal_error"}
    assert covered == REASONS
    assert len(REASONS) >= 20


def test_internal_error_is_a_rejection_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object) -> Event:
        raise RuntimeError("boom")

    monkeypatch.setitem(events._PARSERS["call"], "offered", broken)
    result = rejected(raw())
    assert result.reason == "internal_error"
    assert "boom" in result.detail


@pytest.mark.parametrize(
    ("data", "fragments"),
    [
        (raw(queue=42), ["queue", "42", "string"]),
        (raw("answered", wait_seconds=-2), ["wait_seconds", "-2"]),
        (raw("survey", csat=9), ["csat", "9", "1..5"]),
        (raw("blocked", reason="busy"), ["reason", "'busy'", "trunks_busy"]),
        (raw("created"), ["created", "call", "offered"]),
        (raw(occurred_at="yesterday"), ["occurred_at", "'yesterday'"]),
    ],
)
def test_detail_names_field_and_value(data: bytes, fragments: list[str]) -> None:
    detail = rejected(data).detail
    for fragment in fragments:
        assert fragment in detail


def test_detail_is_truncated_to_200_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    shown = rejected(raw("blocked", reason="y" * 5000)).detail
    assert "yyy..." in shown and len(shown) < 200  # long values are cut inside the detail

    def broken(*_: object) -> Event:
        raise RuntimeError("z" * 5000)

    monkeypatch.setitem(events._PARSERS["call"], "offered", broken)
    detail = rejected(raw()).detail
    assert len(detail) == 200 and detail.endswith("...")


def test_envelope_is_checked_in_a_fixed_order() -> None:
    # event_id before type before occurred_at before queue: one reason, the first problem.
    data = raw("hangup", event_id="", occurred_at="x", queue=1)
    assert rejected(data).reason == "empty_field"
    assert rejected(raw("hangup", occurred_at="x", queue=1)).reason == "unknown_type"
    assert rejected(raw(occurred_at="x", queue=1)).reason == "invalid_timestamp"


def test_limits_are_configurable() -> None:
    small = ValidationLimits(max_message_bytes=150, max_queue_length=5, max_duration_seconds=60)
    assert rejected(raw(padding="x" * 150), limits=small).reason == "oversized"
    assert rejected(raw(queue="billing"), limits=small).reason == "field_too_long"
    too_long = raw("answered", queue="q", wait_seconds=61)
    assert rejected(too_long, limits=small).reason == "absurd_duration"
    exactly = raw(padding="x" * 10)
    assert ok(exactly, limits=ValidationLimits(max_message_bytes=len(exactly)))


def test_buffer_types_are_accepted() -> None:
    assert ok(bytearray(raw()))  # type: ignore[arg-type]
    assert ok(memoryview(raw()))  # type: ignore[arg-type]
    assert rejected(memoryview(b"\xff"), "call").reason == "not_utf8"  # type: ignore[arg-type]


def test_event_round_trips_through_dict_and_json() -> None:
    event = ok(raw("ended", agent_id="a-1", talk_seconds=12.5, resolved_first_contact=True))
    assert Event.from_dict(event.to_dict()) == event
    assert Event.from_dict(orjson.loads(orjson.dumps(event.to_dict()))) == event
    # Only the fields that hold a value travel: a reader fills in the others' None.
    given = {f.name for f in dataclasses.fields(Event) if getattr(event, f.name) is not None}
    assert set(event.to_dict()) == given
    assert {"talk_seconds", "resolved_first_contact"} <= given and "csat" not in given


def test_from_dict_ignores_new_keys_and_rejects_missing_ones() -> None:
    data = ok(raw()).to_dict()
    assert Event.from_dict({**data, "added_in_v2": 1}) == ok(raw())
    assert Event.from_dict({**data, "occurred_at": int(T_EPOCH)}).occurred_at == T_EPOCH
    del data["queue"]
    with pytest.raises(ValueError, match="queue"):
        Event.from_dict(data)


def test_from_dict_makes_the_event_its_constructor_makes() -> None:
    """from_dict sets the slots itself (Event's frozen __init__ was a twentieth of the
    counting's CPU): every field, the defaults, equality and the hash must be the
    constructor's."""
    data = {
        "event_id": "e1",
        "channel": "call",
        "type": "offered",
        "occurred_at": 5,
        "queue": "q",
        "contact_id": "c1",
        "queues": ["call|q"],
        "unknown": 1,
    }
    made = Event.from_dict(data)
    expected = Event("e1", "call", "offered", 5.0, "q", "c1", queues=("call|q",))
    assert made == expected and hash(made) == hash(expected)
    assert made.schema_version == 1 and made.wait_seconds is None
    assert type(made.occurred_at) is float and made.queues == ("call|q",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.queue = "other"  # type: ignore[misc]


def test_event_is_frozen_and_slotted() -> None:
    event = ok(raw())
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.queue = "other"  # type: ignore[misc]
    assert not hasattr(event, "__dict__")
