"""The simulator's queue exits (docs/simulator.md, "Queue exits"): each one produced at its
configured rate, every event within the contract, and the file's ``exits`` block checked."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import orjson
import pytest

from ccmon.agents.devkit.simulator import SimConfig, iter_events
from ccmon.agents.devkit.simulator.config import ConfigError, config_from_dict
from ccmon.agents.devkit.simulator.model import Exits
from ccmon.streams.contract.events import Event, validate
from tests.support.simulation import call_queue

START = 1_714_550_400.0  # 2024-05-01T08:00:00Z
HOURS = 8.0
EXITS = Exits(
    callback=0.5,
    callback_within_seconds=1800.0,
    callback_delay_seconds=600.0,
    flow_out_after_seconds=90.0,
    flow_out_to="overflow",
    transfer=0.1,
    transfer_to="overflow",
    hold_abandon=0.05,
)


@pytest.fixture(scope="module")
def events() -> list[tuple[float, str, dict[str, Any]]]:
    # Short-staffed so that contacts wait long enough to give up, ask a callback, flow out.
    source = call_queue(staff=9, patience_seconds=240.0, exits=EXITS)
    overflow = call_queue(name="overflow", staff=12)
    config = SimConfig(queues=(source, overflow), agent_events=False)
    return list(iter_events(config, START, HOURS * 3600))


def test_every_exit_is_produced_within_the_contract(
    events: list[tuple[float, str, dict[str, Any]]],
) -> None:
    kinds: Counter[tuple[str, str]] = Counter()
    for _, channel, body in events:
        parsed = validate(orjson.dumps(body), channel, START + HOURS * 3600)
        assert isinstance(parsed, Event), (parsed, body)
        kinds[(body["queue"], body["type"])] += 1
    for kind in ("callback_requested", "callback_placed", "flowed_out", "transferred"):
        assert kinds[("q", kind)] > 20, kind
    assert kinds[("q", "abandoned_on_hold")] > 10
    assert kinds[("overflow", "answered")] > kinds[("overflow", "offered")]  # routed there
    # The configured shares, within a few standard errors.
    gave_up = kinds[("q", "callback_requested")] + kinds[("q", "abandoned")]
    assert kinds[("q", "callback_requested")] / gave_up == pytest.approx(0.5, abs=0.08)
    ended = kinds[("q", "ended")]
    assert kinds[("q", "abandoned_on_hold")] / ended == pytest.approx(0.05, abs=0.02)
    assert kinds[("q", "transferred")] / ended == pytest.approx(0.95 * 0.1, abs=0.03)


def test_exits_follow_the_lifecycle(events: list[tuple[float, str, dict[str, Any]]]) -> None:
    by_contact: dict[str, list[tuple[float, dict[str, Any]]]] = defaultdict(list)
    for t, _, body in events:
        by_contact[body["contact_id"]].append((t, body))
    flows = callbacks = 0
    for history in by_contact.values():
        kinds = [(b["queue"], b["type"]) for _, b in history]
        if ("q", "flowed_out") in kinds:
            flows += 1
            t_out, out = next((t, b) for t, b in history if b["type"] == "flowed_out")
            assert out["wait_seconds"] == pytest.approx(90.0, abs=0.002)
            assert (out["destination"], out["target_queue"]) == ("queue", "overflow")
            # It waits in the target from the flow-out on: its wait there starts then.
            there = [b for t, b in history if b["queue"] == "overflow" and b["type"] == "answered"]
            for answer in there:
                assert answer["occurred_at"] >= history[0][1]["occurred_at"]
            assert all(t >= t_out for t, b in history if b["queue"] == "overflow")
        if ("q", "callback_requested") in kinds:
            callbacks += 1
            request = next(b for _, b in history if b["type"] == "callback_requested")
            assert request["callback_within_seconds"] == 1800.0
            assert ("q", "abandoned") not in kinds
            assert kinds.count(("q", "callback_placed")) <= 1
        if ("q", "transferred") in kinds:
            assert kinds.index(("q", "answered")) < kinds.index(("q", "transferred"))
            assert ("q", "abandoned_on_hold") not in kinds
    assert flows > 20 and callbacks > 20


def test_a_queue_without_exits_draws_as_before() -> None:
    plain = SimConfig(queues=(call_queue(patience_seconds=120.0),), agent_events=False)
    zero = SimConfig(
        queues=(call_queue(patience_seconds=120.0, exits=Exits()),), agent_events=False
    )
    first = list(iter_events(plain, START, 3600))
    assert first == [e for e in iter_events(zero, START, 3600) if e[1] != "agent"]


def _file(**exits: Any) -> dict[str, Any]:
    queue = {"name": "q", "arrivals_per_hour": 10, "handle_time": 60, "agents": 2}
    return {"queues": [{**queue, "exits": exits}, {**queue, "name": "overflow"}]}


def test_the_exits_block_of_a_file() -> None:
    # EXITS, every field set, as a file writes it (durations with their units).
    config = config_from_dict(
        _file(callback=0.5, callback_within_seconds="30m", callback_delay_seconds="10m",
              flow_out_after_seconds="1m30s", flow_out_to="overflow", transfer=0.1,
              transfer_to="overflow", hold_abandon=0.05)
    )  # fmt: skip
    assert config.queues[0].exits == EXITS
    assert config.queues[1].exits == Exits()


@pytest.mark.parametrize(
    ("exits", "message"),
    [
        ({"callback": 1.5}, "queues[0].exits.callback"),
        ({"transfer": 0.1}, "a transfer needs transfer_to"),
        ({"transfer": 0.1, "transfer_to": "nowhere"}, "no call queue of this name"),
        ({"flow_out_to": "nowhere"}, "queues[0].exits.flow_out_to"),
        ({"flow_out_after_seconds": 0}, "queues[0].exits.flow_out_after_seconds"),
        ({"callbacks": 0.1}, "unknown key"),
    ],
)
def test_a_bad_exits_block_is_refused(exits: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        config_from_dict(_file(**exits))
