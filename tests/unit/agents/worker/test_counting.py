"""How a batch's events are told apart before anything is written: first seen (counted),
the same source record again (a replay: skipped quietly), another record with the same
event id (a duplicate: skipped and counted as one)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import orjson

from ccmon.agents.domain.state import PartitionState
from ccmon.agents.partitions.owner import Owner
from ccmon.agents.worker.counting import Counting
from ccmon.agents.worker.runtime import Runtime
from ccmon.streams.settings import Settings

NOW = 1_800_000_000.0


def record(event_id: str, src: str, kind: str = "offered", contact: str = "c1") -> dict[str, Any]:
    return {
        "event_id": event_id,
        "src": src,
        "channel": "call",
        "type": kind,
        "occurred_at": NOW - 60,
        "queue": "sales",
        "contact_id": contact,
    }


def counting() -> Counting:
    runtime = Runtime(Settings(clock="stream"))
    return Counting(runtime, Owner(runtime.store))


def test_new_replayed_and_duplicate_events() -> None:
    records = [
        record("e1", "call:0:10"),  # new
        record("e2", "call:0:11", contact="c2"),  # counted before from this very record
        record("e3", "call:0:12", contact="c3"),  # counted before from another record
        record("e1", "call:0:10"),  # e1's record read twice in one batch: a replay
        record("e1", "call:1:99"),  # e1 again from another record: a duplicate
    ]
    seen = {"e1": None, "e2": "call:0:11", "e3": "call:2:5"}
    fx, duplicates, late = counting().effects(PartitionState(0), records, seen)
    assert fx.writes.guards == [("e1", "call:0:10")]
    assert fx.writes.incr[("t", "")] == {"call|sales|off": 1.0}
    assert duplicates == {"call": 2} and not late


def test_a_late_event_is_counted_in_totals_and_reported() -> None:
    old = record("e1", "call:0:1")
    old["occurred_at"] = NOW - 4 * 3600
    fresh = record("e2", "call:0:2", contact="c2")
    fx, _, late = counting().effects(PartitionState(0), [fresh, old], {"e1": None, "e2": None})
    assert late == {"call": 1}
    assert fx.writes.incr[("t", "")]["call|sales|off"] == 2.0


def test_a_long_batch_is_counted_in_steps_of_batch_max_events() -> None:
    runtime = Runtime(Settings(clock="stream", batch_max_events=100))
    steps: list[tuple[int, int]] = []

    class Stepping(Counting):
        async def partition(self, partition: int, records: list[dict[str, Any]]) -> bool:
            steps.append((partition, len(records)))
            return partition != 1  # partition 1 turns out not to be ours

    def repartition_record(partition: int, n: int) -> Any:
        value = orjson.dumps([record(f"{partition}-{i}", f"call:0:{i}") for i in range(n)])
        return SimpleNamespace(message=SimpleNamespace(partition=partition), value=value)

    batch = [repartition_record(0, 150), repartition_record(0, 100), repartition_record(1, 300)]
    asyncio.run(Stepping(runtime, Owner(runtime.store)).batch(batch))
    # Partition 0's 250 events in steps of 100; partition 1 stops at its first refusal.
    assert steps == [(0, 100), (0, 100), (0, 50), (1, 100)]


def test_a_batch_counts_its_agent_events_in_event_time_order() -> None:
    runtime = Runtime(Settings(clock="stream"))
    counted: list[list[str]] = []

    class Recording(Counting):
        async def partition(self, partition: int, records: list[dict[str, Any]]) -> bool:
            counted.append([str(r["event_id"]) for r in records])
            return True

    def agent(event_id: str, kind: str, t: float) -> dict[str, Any]:
        return {
            "event_id": event_id,
            "src": f"agent:1:{event_id}",
            "channel": "agent",
            "type": kind,
            "occurred_at": t,
            "queue": "",
            "contact_id": "",
            "agent_id": "a1",
        }

    # The on_contact came through the contact's source partition, ahead of the login.
    records = [
        agent("busy", "state_changed", NOW + 5),
        record("call", "call:0:1"),
        agent("login", "logged_in", NOW),
        agent("same", "state_changed", NOW + 5),
    ]
    value = orjson.dumps(records)
    event = SimpleNamespace(message=SimpleNamespace(partition=0), value=value)
    asyncio.run(Recording(runtime, Owner(runtime.store)).batch([event]))
    # Contacts keep their slots; equal times keep arrival order.
    assert counted == [["login", "call", "busy", "same"]]
