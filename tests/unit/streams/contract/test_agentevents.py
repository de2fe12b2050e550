"""Agent state events: what validate() accepts on the agent channel and how it normalises."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from ccmon.streams.contract.events import Event, Rejection, validate

NOW = 1717200000.0
T = 1714635000000  # epoch ms, May 2024


def agent(type_: str, **fields: Any) -> bytes:
    return orjson.dumps(
        {"event_id": "a-1", "type": type_, "occurred_at": T, "agent_id": "agent-7", **fields}
    )


def ok(raw: bytes) -> Event:
    result = validate(raw, "agent", NOW)
    assert isinstance(result, Event), result
    return result


def rejected(raw: bytes) -> str:
    result = validate(raw, "agent", NOW)
    assert isinstance(result, Rejection), result
    return result.reason


def test_logged_in_defaults_to_available_and_reads_queues_as_sorted_pairs() -> None:
    ev = ok(
        agent(
            "logged_in",
            queues=[{"channel": "chat", "queue": "b"}, {"channel": "call", "queue": "a"}] * 2,
        )
    )
    assert (ev.channel, ev.queue, ev.contact_id, ev.agent_id) == ("agent", "", "", "agent-7")
    assert ev.state == "available"
    assert ev.queues == ("call|a", "chat|b")


def test_state_changed_needs_a_known_state() -> None:
    assert rejected(agent("state_changed")) == "missing_field"
    assert rejected(agent("state_changed", state="idle")) == "invalid_state"


def test_not_ready_reasons_are_bounded_not_rejected() -> None:
    assert ok(agent("state_changed", state="not_ready", reason="lunch")).reason == "lunch"
    assert ok(agent("state_changed", state="not_ready", reason="fire drill")).reason == "other"
    assert ok(agent("state_changed", state="not_ready")).reason == "other"
    assert rejected(agent("state_changed", state="not_ready", reason=3)) == "wrong_type"
    # a reason on another state is not read
    assert ok(agent("state_changed", state="available", reason="x")).reason is None


def test_on_contact_channel() -> None:
    ev = ok(agent("state_changed", state="on_contact", channel="chat", contact_id="c-9"))
    assert (ev.contact_channel, ev.contact_id) == ("chat", "c-9")
    assert rejected(agent("state_changed", state="on_contact", channel="fax")) == "invalid_channel"


@pytest.mark.parametrize(
    "queues",
    [
        "billing",
        ["billing"],
        [{"channel": "sms", "queue": "x"}],
        [{"channel": "call", "queue": ""}],
    ],
)
def test_skills_changed_needs_channel_queue_objects(queues: object) -> None:
    assert rejected(agent("skills_changed", queues=queues)) == "invalid_queues"


def test_skills_changed_needs_queues_and_may_empty_them() -> None:
    assert rejected(agent("skills_changed")) == "missing_field"
    assert ok(agent("skills_changed", queues=[])).queues == ()


def test_agent_id_is_required_and_contact_types_are_not_for_agents() -> None:
    raw = orjson.dumps({"event_id": "a", "type": "logged_out", "occurred_at": T})
    assert rejected(raw) == "missing_field"
    assert rejected(agent("offered", queue="q", contact_id="c")) == "type_not_for_channel"
    assert validate(agent("logged_in"), "call", NOW) == Rejection(
        "type_not_for_channel",
        validate(agent("logged_in"), "call", NOW).detail,  # type: ignore[union-attr]
    )


def test_round_trip_through_the_repartition_record() -> None:
    ev = ok(agent("logged_in", queues=[{"channel": "call", "queue": "a"}]))
    assert Event.from_dict(orjson.loads(orjson.dumps(ev.to_dict()))) == ev
