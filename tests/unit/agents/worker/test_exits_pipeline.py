"""The golden traffic with every queue exit through the counting hop's own code, in process:
ingest's re-keying into six repartition partitions, ``Counting.effects`` step by step (the
guard, source positions, the offers a flow-out or a transfer sends to its target's partition
with their positions), a step counted twice as after a crash, the partitions interleaved.
The counts, the contacts waiting and the callbacks waiting equal the independent recount
(tests/support/golden.py). The same traffic through real Kafka and Redis:
tests/integration/test_golden.py and the rebalance storm."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

import orjson

from ccmon.agents.domain import buckets as b
from ccmon.agents.domain.partition import GuardKey, partition_for
from ccmon.agents.domain.state import PartitionState
from ccmon.agents.partitions.owner import Owner
from ccmon.agents.readmodel.views import view_of
from ccmon.agents.worker.counting import Counting, guard_of, split_replays, units_of
from ccmon.agents.worker.runtime import Runtime
from ccmon.streams.contract.events import Event, validate
from ccmon.streams.settings import Settings
from tests.support.golden import DATA, PHASES, load, recount

PARTITIONS = 6
# The recount's names -> the counters of the state.
NAMES = {
    "offered": b.OFFERED,
    "answered": b.ANSWERED,
    "answered_within": b.ANSWERED_WITHIN,
    "abandoned": b.ABANDONED,
    "abandoned_short": b.ABANDONED_SHORT,
    "wait_unknown": b.WAIT_UNKNOWN,
    "wait_n": b.WAIT_N,
    "callbacks": b.CALLBACKS,
    "callbacks_within": b.CALLBACKS_WITHIN,
    "callbacks_placed": b.CALLBACKS_PLACED,
    "callbacks_met": b.CALLBACKS_MET,
    "callbacks_missed": b.CALLBACKS_MISSED,
    "flowed_out": b.FLOWED_OUT,
    "flowed_out_within": b.FLOWED_OUT_WITHIN,
    "transferred": b.TRANSFERRED,
    "abandoned_on_hold": b.ABANDONED_ON_HOLD,
    "ended": b.ENDED,
}


def test_the_golden_exits_through_the_counting_hop_equal_the_recount() -> None:
    runtime = Runtime(
        Settings(clock="stream", queue_config=DATA / "golden-queues.yaml", partitions=PARTITIONS)
    )
    counting = Counting(runtime, Owner(runtime.store))
    items = [item for name in PHASES[:2] for item in load(name)]
    now = 2e9
    # Ingest: one source partition per channel, records of up to 7 events per partition.
    logs: dict[int, list[list[dict[str, Any]]]] = defaultdict(list)
    offsets: dict[str, int] = defaultdict(int)
    pending: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for channel, body in items:
        event = validate(orjson.dumps(body), channel, now)
        assert isinstance(event, Event), event
        record = {**event.to_dict(), "src": f"{channel}:0:{offsets[channel]}"}
        offsets[channel] += 1
        target = partition_for(f"{channel}|{event.queue}", PARTITIONS)
        pending[target].append(record)
        if len(pending[target]) == 7:
            logs[target].append(pending.pop(target))
    for target, records in pending.items():
        logs[target].append(records)

    states = {p: PartitionState(p) for p in range(PARTITIONS)}
    guards: dict[GuardKey, str] = {}
    read = dict.fromkeys(range(PARTITIONS), 0)
    rng = random.Random(25)
    twice = 0

    def step(partition: int) -> None:
        nonlocal twice
        offset = read[partition]
        records = logs[partition][offset]
        state = states[partition]
        # A crash after the step's offers were sent, before its state was written: the
        # step is counted again from the same state, and sends them again.
        crashes = rng.random() < 0.2
        # A step read again once written (a rebalance before the commit).
        again = rng.random() < 0.2
        for attempt in range(1 + crashes + again):
            (items_,) = units_of(offset, records, 1000)
            fresh, last, tally = split_replays(state, items_)
            seen = {gid: guards.get(gid) for *_, r in fresh if (gid := guard_of(r))}
            fx = counting.effects(partition, state, fresh, seen, tally, last, offset + 1)
            for target, sent in fx.outbox.items():
                logs[target].append(sent)  # the offers, acknowledged before the write
            twice += bool(tally.replayed)
            if crashes and attempt == 0:
                continue
            state.merge(fx.writes)
            guards.update({g: fx.writes.guard_src.get(g, "") for g in fx.writes.guards})
        read[partition] = offset + 1

    while any(read[p] < len(logs[p]) for p in range(PARTITIONS)):
        busy = [p for p in range(PARTITIONS) if read[p] < len(logs[p])]
        step(rng.choice(busy))
    assert twice > 10  # steps and offers were read again, and recognised

    ref = recount(PHASES[:2])
    totals: dict[tuple[str, str, str], float] = ref["totals"]  # type: ignore[assignment]
    counted: dict[str, dict[str, float]] = defaultdict(dict)
    for state in states.values():
        for cq, values in state.totals.items():
            counted[cq].update(values)
    differ = {
        key: (value, counted[f"{key[0]}|{key[1]}"].get(NAMES[key[2]], 0.0))
        for key, value in totals.items()
        if key[2] in NAMES and counted[f"{key[0]}|{key[1]}"].get(NAMES[key[2]], 0.0) != value
    }
    assert not differ
    for what, rule in (("irregular:repeated", "repeated"), ("irregular:unknown_target", "u")):
        mine = sum(
            v.get(b.IRREGULAR + ("unknown_target" if rule == "u" else rule), 0.0)
            for v in counted.values()
        )
        assert mine == sum(v for k, v in totals.items() if k[2] == what) > 0
    waiting: dict[tuple[str, str, str], float] = ref["waiting"]  # type: ignore[assignment]
    for state in states.values():
        for cq in state.channel_queues():
            channel, queue = cq.split("|", 1)
            view = view_of(state, cq, runtime.policy, now)
            if channel == "ticket":
                continue
            expected = sum(1 for c, q, _ in waiting if (c, q) == (channel, queue))
            assert view.waiting == expected, cq
            assert view.callbacks_waiting == totals.get((channel, queue, "callbacks_waiting"), 0)
