"""How a batch's events are told apart before anything is written: first seen (counted),
a record read again (known by its source position, or by its guard: skipped quietly), another
record with the same channel and event id (a duplicate: skipped and counted as one)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from ccmon.agents.devkit.procs import free_port
from ccmon.agents.domain.state import PartitionState
from ccmon.agents.partitions.owner import Owner
from ccmon.agents.worker.counting import (
    Counting,
    Item,
    Tally,
    split_replays,
    steps_of,
    units_of,
)
from ccmon.agents.worker.runtime import Runtime
from ccmon.streams.settings import Settings
from tests.support.golden import DATA

NOW = 1_800_000_000.0
MINUTE = int((NOW - 60) // 60)  # the records' guard bucket


def record(
    event_id: str, src: str, kind: str = "offered", contact: str = "c1", channel: str = "call"
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "src": src,
        "channel": channel,
        "type": kind,
        "occurred_at": NOW - 60,
        "queue": "sales",
        "contact_id": contact,
    }


def counting() -> Counting:
    runtime = Runtime(Settings(clock="stream"))
    return Counting(runtime, Owner(runtime.store))


def count(
    state: PartitionState, records: list[dict[str, Any]], seen: dict[str, str | None]
) -> tuple[Any, Any]:
    """``seen``: the guard's answers by guard id (all the records' event times are in one
    minute)."""
    (items,) = units_of(7, records, 1000)
    fresh, last, tally = split_replays(state, items)
    answers = {(gid, MINUTE): prior for gid, prior in seen.items()}
    fx = counting().effects(0, state, fresh, answers, tally, last, 8)
    return fx, tally


def test_new_replayed_and_duplicate_events() -> None:
    state = PartitionState(0)
    state.pos = {"call:0": 11}  # offsets up to 11 of call:0 were counted
    records = [
        record("e1", "call:0:12"),  # new
        record("e2", "call:0:11", contact="c2"),  # counted before: its position says so
        record("e3", "call:2:5", contact="c3"),  # new position, its id seen from call:0:3
        record("e1", "call:0:12"),  # e1's record read twice in one step: read again
        record("e1", "call:1:99"),  # e1 again from another record: a duplicate
        record("e4", "silence:a1:1.0@call|sales", contact="c4"),  # no position: by its guard
    ]
    # A guard of this layout answers "" (counted); one of ccmon 0.3's, the first position.
    seen = {"call:e1": None, "call:e3": "", "call:e4": "silence:a1:1.0@call|sales"}
    fx, tally = count(state, records, seen)
    assert fx.writes.guards == [("call:e1", MINUTE)]
    assert fx.writes.guard_shards == {MINUTE: 1}  # a new guard bucket, one hash
    assert fx.writes.incr[("t", "")] == {"call|sales": {"off": 1.0}}
    assert fx.writes.pos == {"call:0": 12, "call:1": 99, "call:2": 5}
    assert tally.duplicates == {"call": 2}
    assert tally.replayed == {"call": 3}
    assert fx.writes.progress.rp == 8 and fx.writes.progress.n == 1


def test_the_guard_keeps_channels_apart() -> None:
    records = [
        record("1001", "call:0:1"),
        record("1001", "ticket:0:1", kind="created", channel="ticket", contact="t1"),
    ]
    fx, tally = count(PartitionState(0), records, {"call:1001": None, "ticket:1001": None})
    assert [g for g, _ in fx.writes.guards] == ["call:1001", "ticket:1001"]
    assert not tally.duplicates


def test_a_late_event_is_counted_in_totals_and_reported() -> None:
    old = record("e1", "call:1:1")  # another source partition, further behind
    old["occurred_at"] = NOW - 4 * 3600
    fresh = record("e2", "call:0:2", contact="c2")
    fx, tally = count(PartitionState(0), [fresh, old], {"call:e1": None, "call:e2": None})
    assert tally.late == {"call": 1}
    assert fx.writes.incr[("t", "")]["call|sales"]["off"] == 2.0


def repartition_record(partition: int, offset: int, n: int) -> Any:
    """A Faust event of the repartition topic: ``n`` call events in one record."""
    value = orjson.dumps([record(f"{partition}-{i}", f"call:0:{i}") for i in range(n)])
    message = SimpleNamespace(partition=partition, offset=offset)
    return SimpleNamespace(message=message, value=value)


def test_a_long_batch_is_counted_in_steps_of_batch_max_events() -> None:
    runtime = Runtime(Settings(clock="stream", batch_max_events=100))
    steps: list[tuple[int, int]] = []

    class Stepping(Counting):
        async def partition(self, partition: int, items: list[Item], lock: bool = True) -> bool:
            steps.append((partition, len(items)))
            return partition != 1  # partition 1 turns out not to be ours

    batch = [
        repartition_record(0, 0, 150),
        repartition_record(0, 1, 40),
        repartition_record(0, 2, 30),
        repartition_record(1, 0, 300),
    ]
    refused = asyncio.run(Stepping(runtime, Owner(runtime.store)).batch(batch))
    # A record is cut at fixed places (100 + 50), whole pieces go together (50 + 40 and
    # 30 fit in 100); partition 1 stops at its first refusal.
    assert steps == [(0, 100), (0, 90), (0, 30), (1, 100)]
    assert refused == {1}


def test_the_partitions_of_a_batch_are_counted_side_by_side() -> None:
    """A partition's step waits for Redis; another partition's steps go on meanwhile, and
    each partition's own steps stay in order."""
    runtime = Runtime(Settings(clock="stream", batch_max_events=100))
    order: list[tuple[str, int, int]] = []
    release = asyncio.Event()

    class Waiting(Counting):
        async def partition(self, partition: int, items: list[Item], lock: bool = True) -> bool:
            order.append(("start", partition, len(items)))
            if partition == 0:
                await release.wait()  # partition 0's Redis is slow
            else:
                release.set()
            order.append(("end", partition, len(items)))
            return True

    batch = [repartition_record(0, 0, 150), repartition_record(1, 0, 20)]
    refused = asyncio.run(Waiting(runtime, Owner(runtime.store)).batch(batch))
    assert order == [
        ("start", 0, 100),
        ("start", 1, 20),  # while partition 0 waits
        ("end", 1, 20),
        ("end", 0, 100),
        ("start", 0, 50),  # partition 0's next step only after its first
        ("end", 0, 50),
    ]
    assert refused == set()


def test_a_partition_that_fails_lets_the_others_finish_their_steps() -> None:
    """A failure is raised once every partition has ended its step: a write cancelled in
    flight could be applied with its reply lost."""
    runtime = Runtime(Settings(clock="stream", batch_max_events=100))
    finished: list[int] = []

    class Failing(Counting):
        async def partition(self, partition: int, items: list[Item], lock: bool = True) -> bool:
            if partition == 0:
                raise ConnectionError("Redis went away")
            await asyncio.sleep(0.01)
            finished.append(partition)
            return True

    counting = Failing(runtime, Owner(runtime.store))
    with pytest.raises(ConnectionError):
        asyncio.run(counting.batch([repartition_record(0, 0, 1), repartition_record(1, 0, 1)]))
    assert finished == [1]


def test_a_batch_waiting_for_redis_when_the_worker_stops_is_left_unacknowledged() -> None:
    """Faust's stop waits until the batch is acknowledged or released: the partition waiting
    for Redis is returned as refused (released), the others end as usual (pitfall 68)."""
    runtime = Runtime(Settings(clock="stream", redis=f"redis://127.0.0.1:{free_port()}/0"))
    failed = asyncio.Event()
    owner = Owner(runtime.store, on_redis=lambda up, error: up or failed.set())

    class Partly(Counting):
        async def partition(self, partition: int, items: list[Item], lock: bool = True) -> bool:
            return partition == 1 or await super().partition(partition, items, lock)

    async def scenario() -> set[int]:
        owner.assign([0], group_generation=2)  # its load waits for Redis
        counting = asyncio.ensure_future(
            Partly(runtime, owner).batch([repartition_record(0, 0, 5), repartition_record(1, 0, 5)])
        )
        await failed.wait()
        owner.stop()
        return await counting

    assert asyncio.run(scenario()) == {0}


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


def test_a_record_counts_its_agent_events_in_event_time_order() -> None:
    # The on_contact came through the contact's source partition, ahead of the login.
    records = [
        agent("busy", "state_changed", NOW + 5),
        record("call", "call:0:1"),
        agent("login", "logged_in", NOW),
        agent("same", "state_changed", NOW + 5),
    ]
    (items,) = units_of(3, records, 1000)
    # In log order, each with the rank it is counted at: contacts keep their slots; equal
    # times keep arrival order.
    assert [(r["event_id"], rank) for _, rank, _, r in items] == [
        ("busy", 2),
        ("call", 1),
        ("login", 0),
        ("same", 3),
    ]
    assert [last for _, _, last, _ in items] == [False, False, False, True]


def test_records_read_again_are_told_in_log_order() -> None:
    """The positions of one origin increase in log order, not in the order counted."""
    records = [agent("e4", "state_changed", NOW + 20), agent("e9", "state_changed", NOW + 15)]
    records[0]["src"], records[1]["src"] = "agent:0:4", "agent:0:9"
    (items,) = units_of(5, records, 1000)
    fresh, last, tally = split_replays(PartitionState(0), items)
    assert len(fresh) == 2 and last == {"agent:0": 9} and not tally.replayed


def test_records_are_sorted_each_on_its_own_whatever_the_batch() -> None:
    """Never across records: how a batch is cut changes nothing in the order."""
    first = [agent("late", "state_changed", NOW + 9)]
    second = [agent("early", "state_changed", NOW)]
    units = units_of(1, first, 1000) + units_of(2, second, 1000)
    (step,) = steps_of(units, 1000)
    assert sorted((o, rank, r["event_id"]) for o, rank, _, r in step) == [
        (1, 0, "late"),
        (2, 0, "early"),
    ]


def test_a_flow_out_offers_its_contact_to_the_target_with_a_position() -> None:
    """The offer a flow-out makes for its target queue is a record with a position, made
    the same when the step is counted again (a crash before the write), and skipped as read
    again when its partition reads it twice."""
    state = PartitionState(0)
    flow = {
        **record("f1", "call:0:12", kind="flowed_out"),
        "destination": "queue",
        "target_queue": "support",
        "wait_seconds": 30.0,
    }
    first, _ = count(state, [record("o1", "call:0:11"), flow], {})
    again, _ = count(state, [record("o1", "call:0:11"), flow], {})
    assert first.outbox == again.outbox
    ((target, (offer,)),) = first.outbox.items()
    assert (offer["x"], offer["type"], offer["queue"], offer["o"]) == (
        "offer",
        "offered",
        "support",
        "@0",
    )
    assert first.writes.incr[("t", "")]["call|sales"]["fo"] == 1.0
    there = PartitionState(target)
    fx, tally = count(there, [offer], {})
    assert fx.writes.incr[("t", "")] == {"call|support": {"off": 1.0}}
    assert fx.writes.live[("call|support", "c1")] == {"k": "w", "t": NOW - 60}
    there.merge(fx.writes)
    fx, tally = count(there, [offer], {})
    assert tally.replayed == {"call": 1} and not fx.writes.incr


def test_routes_know_the_configured_queues_or_every_queue_without_a_list() -> None:
    listed = Runtime(Settings(queue_config=DATA / "golden-queues.yaml")).routes
    assert listed.known("call", "sales") and listed.known("chat", "care")
    assert not listed.known("call", "overflow-desk")
    assert Runtime(Settings()).routes.known("call", "anything")


def test_the_stream_clock_resumes_from_the_latest_event_the_partitions_counted() -> None:
    """A worker killed after counting the stream's latest event, before the shared clock's
    sync, took that time with it; the next owner skips the event as read again. The state
    kept the time, so the clock resumes from it (tests/integration/records/test_kill.py lost
    the last periods of every queue 1 run in 5 without this)."""
    c = counting()
    for p, ev in ((0, NOW - 7200), (1, NOW), (2, None)):
        state = PartitionState(p)
        state.progress.ev = ev
        c.owner.states[p] = state
    assert c.runtime.clock.stream_time is None
    c.resume_clock()
    assert c.runtime.clock.now() == NOW
    c.owner.states[1].progress.ev = NOW - 60  # never backwards
    c.resume_clock()
    assert c.runtime.clock.now() == NOW


def test_a_record_without_a_position_keeps_its_source_in_its_guard() -> None:
    """A staff record of hop 1's silence timer: no position, so only its guard tells it when
    it is made again; the guard's minute is its ``g``, not the tick's time."""
    marker = "silence:a1:1.0@call|sales"
    logout = {
        "x": "staff",
        "event_id": marker,
        "src": marker,
        "channel": "call",
        "queue": "sales",
        "agent_id": "a1",
        "e": NOW,
        "g": NOW - 3600,
        "s": "out",
        "t": NOW,
        "ps": "available",
        "pt": NOW - 4000,
        "r": None,
    }
    (items,) = units_of(7, [logout], 1000)
    fresh, last, tally = split_replays(PartitionState(0), items)
    guard = (f"call:{marker}", int((NOW - 3600) // 60))
    fx = counting().effects(0, PartitionState(0), fresh, {guard: None}, tally, last, 8)
    assert fx.writes.guards == [guard]
    assert fx.writes.guard_src == {guard: marker}
    made_again = Tally()
    again = counting().effects(0, PartitionState(0), fresh, {guard: marker}, made_again, last, 8)
    assert not again.writes.guards and made_again.replayed == {"call": 1}
