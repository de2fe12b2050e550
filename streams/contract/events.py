"""Pure parsing and validation of contact-centre events (the contract is docs/events.md).

`validate` runs once per Kafka record, so it avoids jsonschema and anything generic: orjson
decodes, a dispatch table picks the per-type checks, and rejections travel as a private
exception so that the valid path pays for no result checks at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, fields
from typing import Any, Literal, cast

import orjson

from ccmon.streams.contract.agentevents import (
    AGENT_CHANNEL,
    AGENT_REASONS,
    AGENT_TYPES,
    agent_fields,
)
from ccmon.streams.contract.eventfields import (
    DEFAULT_LIMITS,
    SCHEMA_VERSIONS,
    SCORE_RANGES,
    FieldError,
    ValidationLimits,
    agent_id,
    boolean,
    duration,
    kind,
    occurred_at,
    one_of,
    schema_version,
    score,
    show,
    text,
    wrong_type,
)

__all__ = [
    "AGENT_CHANNEL",
    "ALL_CHANNELS",
    "ALL_TYPES",
    "BLOCK_REASONS",
    "CHANNELS",
    "DEFAULT_LIMITS",
    "DESTINATIONS",
    "PRIORITIES",
    "REASONS",
    "SCHEMA_VERSIONS",
    "SCORE_RANGES",
    "TYPES_BY_CHANNEL",
    "Channel",
    "Event",
    "Rejection",
    "ValidationLimits",
    "validate",
]

Channel = Literal["call", "chat", "ticket"]
CHANNELS: tuple[str, ...] = ("call", "chat", "ticket")  # the contact channels
ALL_CHANNELS: tuple[str, ...] = (*CHANNELS, AGENT_CHANNEL)
BLOCK_REASONS = frozenset(
    {"trunks_busy", "queue_full", "no_agents", "closed", "network_failure", "other"}
)
# Where a flowed_out contact went (contract 1.2): another queue (``target_queue``, offered
# there by ccmon), a voicemail box or another site (out of ccmon's sight).
DESTINATIONS = frozenset({"queue", "voicemail", "site"})
PRIORITIES = frozenset({"low", "normal", "high", "urgent"})

# Machine-readable rejection codes (the `ccmon-reason` DLQ header and the `reason` label of
# ccmon_events_rejected_total); meanings and fixes are listed in docs/events.md.
# fmt: off
REASONS = frozenset((
    "oversized", "not_utf8", "not_json", "non_finite_number", "not_object", "unknown_channel",
    "missing_field", "wrong_type", "empty_field", "field_too_long", "control_characters_in_id",
    "unknown_type", "type_not_for_channel", "unsupported_schema_version",
    "invalid_timestamp", "timestamp_too_old", "future_timestamp",
    "negative_duration", "absurd_duration", "missing_durations",
    "missing_reason", "invalid_reason", "invalid_priority", "invalid_boolean",
    "missing_score", "score_not_integer", "score_out_of_range", "internal_error",
    "invalid_destination",
)) | AGENT_REASONS
# fmt: on

_DETAIL_MAX = 200


@dataclass(frozen=True, slots=True)
class Event:
    """A validated event; optional fields that do not apply to its type are None."""

    event_id: str
    channel: str
    type: str
    occurred_at: float  # epoch seconds
    queue: str
    contact_id: str
    agent_id: str | None = None
    schema_version: int = 1
    wait_seconds: float | None = None
    reason: str | None = None
    talk_seconds: float | None = None
    hold_seconds: float | None = None
    wrap_seconds: float | None = None
    response_seconds: float | None = None
    resolved_first_contact: bool | None = None
    priority: str | None = None
    csat: int | None = None
    nps: int | None = None
    ces: int | None = None
    # Agent events (channel "agent"): the new state, the channel of the contact an agent is
    # on, and the channel x queue pairs ("call|sales") it serves.
    state: str | None = None
    contact_channel: str | None = None
    queues: tuple[str, ...] | None = None
    # Queue exits (contract 1.2): where a flow-out or a transfer goes, and the window a
    # requested callback is promised in.
    target_queue: str | None = None
    destination: str | None = None
    callback_within_seconds: float | None = None
    max_concurrent: int | None = None  # the agent's own limit of contacts at once
    slots_busy: int | None = None  # contacts the agent serves now

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for the internal repartition topic (orjson-serialisable). Fields that
        are None are left out: an event uses 6 to 10 of the 24, and every repartitioned
        event is encoded once and decoded once."""
        return {name: value for name in _EVENT_FIELDS if (value := getattr(self, name)) is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        """Inverse of `to_dict`; unknown keys are ignored so that rolling upgrades can add fields.

        Raises ValueError if a required field is missing: the input is our own internal
        record, so that is a bug, not bad producer data.
        """
        get = data.get
        for name in _REQUIRED_FIELDS:
            if get(name) is None:
                missing = [n for n in _REQUIRED_FIELDS if get(n) is None]
                raise ValueError(f"Event.from_dict: missing {', '.join(missing)}")
        # Every counted event is made here. The slots are set directly, not through the
        # frozen dataclass's __init__ (one object.__setattr__ per field, 24 of them, and a
        # keyword dict): 6.2 -> 2.4 us per event. Event has no __post_init__ to skip;
        # tests/unit/streams/contract/test_events.py checks both ways give equal events.
        event = _new(cls)
        for name, default, put in _SLOTS:
            put(event, get(name, default))
        _put_occurred_at(event, float(data["occurred_at"]))
        queues = get("queues")
        if queues is not None:
            _put_queues(event, tuple(queues))  # a JSON array on the wire
        return event


_EVENT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Event))
_REQUIRED_FIELDS = ("event_id", "channel", "type", "occurred_at", "queue", "contact_id")
_new = object.__new__


# (name, default, slot setter) per field; the required fields' default is never used.
def _slot_setter(name: str) -> Callable[[Event, Any], None]:
    return cast(Callable[[Event, Any], None], getattr(Event, name).__set__)


_SLOTS = tuple(
    (f.name, None if f.default is MISSING else f.default, _slot_setter(f.name))
    for f in fields(Event)
)
_put_occurred_at = _slot_setter("occurred_at")
_put_queues = _slot_setter("queues")


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: str  # one of REASONS
    detail: str  # for humans: names the field and the offending value, at most 200 chars


_Base = tuple[str, str, str, float, str, str, str | None, int]
_Parser = Callable[[dict[str, Any], _Base, ValidationLimits], Event]


def _plain(obj: dict[str, Any], base: _Base, limits: ValidationLimits) -> Event:
    return Event(*base)


def _with_wait(obj: dict[str, Any], base: _Base, limits: ValidationLimits) -> Event:
    return Event(*base, wait_seconds=duration(obj, "wait_seconds", limits))


def _blocked(obj: dict[str, Any], base: _Base, limits: ValidationLimits) -> Event:
    missing = ("missing_reason", "blocked events need a reason")
    return Event(*base, reason=one_of(obj, "reason", BLOCK_REASONS, "invalid_reason", missing))


def _ended(obj: dict[str, Any], base: _Base, limits: ValidationLimits) -> Event:
    talk = duration(obj, "talk_seconds", limits)
    if talk is None:
        raise FieldError("missing_durations", "ended events need talk_seconds")
    # hold/wrap default to 0: many ACDs omit them when there was no hold or wrap-up.
    hold = duration(obj, "hold_seconds", limits)
    wrap = duration(obj, "wrap_seconds", limits)
    return Event(
        *base,
        talk_seconds=talk,
        hold_seconds=0.0 if hold is None else hold,
        wrap_seconds=0.0 if wrap is None else wrap,
        resolved_first_contact=boolean(obj, "resolved_first_contact"),
    )


def _callback_requested(obj: dict[str, Any], base: _Base, limits: ValidationLimits) -> Event:
    return Event(
        *base,
        wait_seconds=duration(obj, "wait_seconds", limits),
        callback_within_seconds=duration(obj, "callback_within_seconds", limits),
    )


def _flowed_out(obj: dict[str, Any], base: _Base, limits: ValidationLimits) -> Event:
    missing = ("missing_field", "flowed_out events need a destination")
    value = one_of(obj, "destination", DESTINATIONS, "invalid_destination", missing)
    # A target queue is read only where the contact goes to one (ignored otherwise, like any
    # field that does not apply).
    target = text(obj, "target_queue", limits.max_queue_length) if value == "queue" else None
    return Event(
        *base,
        wait_seconds=duration(obj, "wait_seconds", limits),
        destination=value,
        target_queue=target,
    )


def _transferred(obj: dict[str, Any], base: _Base, limits: ValidationLimits) -> Event:
    return Event(*base, target_queue=text(obj, "target_queue", limits.max_queue_length))


def _abandoned_on_hold(obj: dict[str, Any], base: _Base, limits: ValidationLimits) -> Event:
    return Event(*base, hold_seconds=duration(obj, "hold_seconds", limits))


def _chat_first_response(obj: dict[str, Any], base: _Base, limits: ValidationLimits) -> Event:
    return Event(*base, response_seconds=duration(obj, "response_seconds", limits))


def _created(obj: dict[str, Any], base: _Base, limits: ValidationLimits) -> Event:
    return Event(*base, priority=one_of(obj, "priority", PRIORITIES, "invalid_priority"))


def _resolved(obj: dict[str, Any], base: _Base, limits: ValidationLimits) -> Event:
    return Event(*base, resolved_first_contact=boolean(obj, "resolved_first_contact"))


def _survey(obj: dict[str, Any], base: _Base, limits: ValidationLimits) -> Event:
    csat, nps, ces = score(obj, "csat"), score(obj, "nps"), score(obj, "ces")
    if csat is None and nps is None and ces is None:
        raise FieldError("missing_score", "survey events need at least one of csat, nps, ces")
    return Event(*base, csat=csat, nps=nps, ces=ces)


_VOICE_LIKE: dict[str, _Parser] = {
    "offered": _plain,
    "answered": _with_wait,
    "abandoned": _with_wait,
    "blocked": _blocked,
    "ended": _ended,
    "survey": _survey,
    # Contract 1.2: the other ways out of a queue (docs/events.md, "Queue exits").
    "callback_requested": _callback_requested,
    "callback_placed": _plain,
    "flowed_out": _flowed_out,
    "transferred": _transferred,
    "abandoned_on_hold": _abandoned_on_hold,
}
_PARSERS: dict[str, dict[str, _Parser]] = {
    "call": dict(_VOICE_LIKE),
    "chat": {**_VOICE_LIKE, "first_response": _chat_first_response},
    "ticket": {
        "created": _created,
        "first_response": _plain,
        # Contract 1.1: what the promises in business time need (docs/events.md).
        "agent_replied": _plain,
        "customer_replied": _plain,
        "pending": _plain,
        "resumed": _plain,
        "reopened": _plain,
        "resolved": _resolved,
        "survey": _survey,
    },
    AGENT_CHANNEL: dict.fromkeys(AGENT_TYPES, _plain),  # checked by agent_fields
}
TYPES_BY_CHANNEL: dict[str, frozenset[str]] = {c: frozenset(p) for c, p in _PARSERS.items()}
ALL_TYPES = frozenset(t for types in TYPES_BY_CHANNEL.values() for t in types)

# Python's json.dumps writes NaN/Infinity by default; naming that saves integrators a search.
_NON_FINITE = re.compile(rb"(?:^|[\[:,])\s*-?(?:NaN|Infinity)\s*(?:[\]},]|$)")


def _decode_failure(raw: bytes, exc: Exception) -> Rejection:
    if not isinstance(raw, bytes | bytearray | memoryview):
        return _rejection("not_json", f"not JSON: {exc}")
    raw = bytes(raw)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return _rejection("not_utf8", f"invalid UTF-8 at byte {err.start}")
    if "infinity" in str(exc) or _NON_FINITE.search(raw) is not None:
        return _rejection("non_finite_number", f"NaN, Infinity or an overflowing number: {exc}")
    return _rejection("not_json", f"not JSON: {exc}")


def _rejection(reason: str, detail: str) -> Rejection:
    return Rejection(reason, detail if len(detail) <= _DETAIL_MAX else detail[:197] + "...")


def _validate(raw: bytes, channel: str, now: float, limits: ValidationLimits) -> Event:
    parsers = _PARSERS.get(channel)
    if parsers is None:
        raise FieldError("unknown_channel", f"channel {show(channel)} is not one of {ALL_CHANNELS}")
    if len(raw) > limits.max_message_bytes:
        raise FieldError(
            "oversized", f"message has {len(raw)} bytes, max {limits.max_message_bytes}"
        )
    obj = orjson.loads(raw)
    if type(obj) is not dict:
        raise FieldError("not_object", f"expected a JSON object, got {kind(obj)}")
    event_id = text(obj, "event_id", limits.max_id_length)
    type_ = obj.get("type")
    if type(type_) is not str:
        if type_ is None:
            raise FieldError("missing_field", "type is required")
        raise wrong_type("type", "a string", type_)
    parser = parsers.get(type_)
    if parser is None:
        if type_ in ALL_TYPES:
            raise FieldError(
                "type_not_for_channel",
                f"type {type_!r} is not valid on the {channel} channel "
                f"(valid: {', '.join(sorted(parsers))})",
            )
        raise FieldError("unknown_type", f"unknown type {show(type_)}")
    version = schema_version(obj)
    ts = occurred_at(obj, now, limits)
    if channel == AGENT_CHANNEL:
        fields = agent_fields(obj, type_, limits)
        contact = fields.pop("contact_id", "")
        return Event(event_id, channel, type_, ts, "", contact, schema_version=version, **fields)
    queue = text(obj, "queue", limits.max_queue_length)
    contact_id = text(obj, "contact_id", limits.max_id_length)
    base = (event_id, channel, type_, ts, queue, contact_id, agent_id(obj, limits))
    return parser(obj, (*base, version), limits)


def validate(
    raw: bytes, channel: str, now: float, limits: ValidationLimits = DEFAULT_LIMITS
) -> Event | Rejection:
    """Decode and check one Kafka record value; never raises, whatever the bytes.

    `channel` comes from the source topic, `now` is epoch seconds (future-timestamp check).
    """
    try:
        return _validate(raw, channel, now, limits)
    except FieldError as rej:
        return _rejection(rej.reason, rej.detail)
    except orjson.JSONDecodeError as exc:
        return _decode_failure(raw, exc)
    except Exception as exc:  # a poison pill must never stop the consumer: DLQ it instead
        return _rejection("internal_error", f"ccmon bug, please report: {exc!r}")
