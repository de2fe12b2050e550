"""A partition's state in memory: what Redis returns parses into it, merges keep it equal to
what Redis holds, and the seed written back after a Redis data loss is the whole of it."""

from __future__ import annotations

import orjson

from ccmon.agents.domain.partition import RawPartition, Writes, live_field
from ccmon.agents.domain.state import PartitionState, split_field


def raw() -> RawPartition:
    return RawPartition(
        totals={"call|sales|off": "3", "call|a|b|off": "1"},  # a queue name with a "|"
        buckets={
            ("m", "29000000"): {"call|sales|off": "2"},
            ("d", "2026-12-01"): {"call|sales|off": "3"},
        },
        live={live_field("call|sales", "c1"): orjson.dumps({"k": "w", "t": 1.5}).decode()},
    )


def test_split_field_keeps_pipes_in_queue_names() -> None:
    assert split_field("call|a|b|off") == ("call|a|b", "off")


def test_from_raw_parses_every_kind_of_hash() -> None:
    state = PartitionState.from_raw(3, raw())
    assert state.totals["call|sales"] == {"off": 3.0}
    assert state.totals["call|a|b"] == {"off": 1.0}
    assert state.minutes["call|sales"] == {29000000: {"off": 2.0}}
    assert state.days["call|sales"]["2026-12-01"] == {"off": 3.0}
    assert state.live["call|sales"]["c1"] == {"k": "w", "t": 1.5}
    assert state.channel_queues() == {"call|sales", "call|a|b"}


def test_merge_adds_sets_deletes_and_bumps_versions() -> None:
    state = PartitionState.from_raw(0, raw())
    before = state.versions["call|sales"]
    writes = Writes()
    writes.incr[("t", "")] = {"call|sales": {"off": 2.0}, "chat|care": {"off": 1.0}}
    writes.live[("call|sales", "c1")] = None
    writes.live[("chat|care", "h1")] = {"k": "w", "t": 9.0}
    writes.drop.append(("m", "29000000"))
    state.merge(writes)
    assert state.totals["call|sales"]["off"] == 5.0 and state.totals["chat|care"]["off"] == 1.0
    assert "call|sales" not in state.live and state.live["chat|care"]["h1"]["t"] == 9.0
    assert "call|sales" not in state.minutes
    assert state.versions["call|sales"] > before


def test_the_seed_is_the_whole_state() -> None:
    state = PartitionState.from_raw(0, raw())
    seed = state.as_seed()
    again = PartitionState(0)
    for (kind, when), fields in seed.seed.items():
        per_cq: dict[str, dict[str, float]] = {}
        for name, value in fields.items():
            cq, counter = split_field(name)
            per_cq.setdefault(cq, {})[counter] = value
        again.merge(Writes(incr={(kind, when): per_cq}))
    again.merge(Writes(live=seed.live))
    assert again.totals == state.totals and again.minutes == state.minutes
    assert again.days == state.days and again.live == state.live


def test_guard_buckets_split_by_the_expected_entries_and_expire_on_event_time() -> None:
    from ccmon.agents.domain.effects import Effects, StateLimits
    from ccmon.agents.domain.expiry import apply_tick
    from ccmon.agents.domain.partition import guard_shards
    from ccmon.streams.config import QueueConfig

    assert [guard_shards(n) for n in (0, 64, 65, 2000, 10**9)] == [1, 1, 2, 32, 4096]
    state = PartitionState(0)
    writes = Writes()
    for i in range(2000):  # a busy first minute: split for what the step brings
        state.add_guard(writes, (f"call:e{i}", 100), 2000)
    state.add_guard(writes, ("call:late", 40), 1)
    assert writes.guard_shards == {100: 32, 40: 1}
    state.merge(writes)
    nxt = Writes()
    state.add_guard(nxt, ("call:next", 101), 1)  # the next minute: as busy as the last ones
    assert nxt.guard_shards == {101: 32}
    state.merge(nxt)
    assert state.guard == {40: [1, 1], 100: [32, 2000], 101: [32, 1]}
    # Not by the latest minutes held (101 holds one event, a backlog's leading edge is the
    # least filled): by the busiest within GUARD_ESTIMATE_MINUTES; 40 is too far from 100.
    near, far = Writes(), Writes()
    state.add_guard(near, ("call:later", 104), 1)
    state.add_guard(far, ("call:early", 60), 1)
    assert (near.guard_shards, far.guard_shards) == ({104: 32}, {60: 1})

    limits = StateLimits(dedupe_ttl_seconds=3600)
    fx = Effects(state, limits)
    apply_tick(fx, 102 * 60 + 3600, QueueConfig().policy)
    # Minutes whose end is an hour of event time behind the partition's clock go, whole.
    assert fx.writes.guard_drop == {40: 1, 100: 32, 101: 32}
    fx = Effects(state, limits)
    apply_tick(fx, 101 * 60 + 3600, QueueConfig().policy)
    assert fx.writes.guard_drop == {40: 1, 100: 32}
    state.merge(fx.writes)
    assert state.guard == {101: [32, 1]}


def test_closed_intervals_are_packed_and_a_late_event_still_adds_to_them() -> None:
    from ccmon.agents.domain.packed import Packed
    from ccmon.agents.domain.partition import Progress

    start = 29_000_000  # an epoch minute
    loaded = RawPartition(
        totals={},
        buckets={("p", str(start)): {"call|sales|off": "2", "call|sales|<call:0": "7"}},
        live={},
        meta={"rp": "5", "ev": "1", "rec": str((start + 29) * 60.0)},
    )
    state = PartitionState.from_raw(0, loaded)
    # It may have a 30-minute interval still open: not packed yet.
    assert not isinstance(state.periods["call|sales"][start], Packed)
    state.merge(Writes(progress=Progress(rp=6, ev=1.0, rec=(start + 60) * 60.0)))
    closed = state.periods["call|sales"][start]
    assert isinstance(closed, Packed) and closed == {"off": 2.0, "<call:0": 7.0}
    assert not state.unpacked

    late = Writes(incr={("p", str(start)): {"call|sales": {"off": 1.0}}})
    late.low[("p", str(start))] = {"call|sales|<call:0": 3.0}
    state.merge(late)
    assert state.periods["call|sales"][start] == {"off": 3.0, "<call:0": 3.0}
    assert state.as_seed().seed[("p", str(start))] == {
        "call|sales|off": 3.0,
        "call|sales|<call:0": 3.0,
    }
    state.merge(Writes(progress=Progress(rp=7, ev=1.0, rec=(start + 75) * 60.0)))
    assert isinstance(state.periods["call|sales"][start], Packed)

    state.merge(Writes(drop=[("p", str(start))]))
    assert "call|sales" not in state.periods and not state.unpacked


def test_settled_record_markers_are_held_packed_from_redis_and_from_writes() -> None:
    from ccmon.agents.domain.packed import Marker
    from ccmon.agents.domain.periods import marker_key

    key = marker_key("interval", "29000000")
    marker = {"k": "rec", "t": 1800.0, "rev": 1, "h": "ab" * 32}
    loaded = raw()
    loaded.live[live_field("call|sales", key)] = orjson.dumps(marker).decode()
    state = PartitionState.from_raw(0, loaded)
    held = state.live["call|sales"][key]
    assert isinstance(held, Marker) and held == marker
    # Sent, not yet acknowledged: a dict until the acknowledgement settles it.
    pending = {**marker, "rev": 2, "pend": ["key", "value"]}
    state.merge(Writes(live={("call|sales", key): pending}))
    assert state.live["call|sales"][key] == pending
    assert not isinstance(state.live["call|sales"][key], Marker)
    state.merge(Writes(live={("call|sales", key): {**marker, "rev": 2}}))
    assert isinstance(state.live["call|sales"][key], Marker)
    # The write-back seed carries it as the entry it is.
    assert state.as_seed().live[("call|sales", key)] == {**marker, "rev": 2}


def test_closed_intervals_go_to_redis_whole_a_few_a_tick_and_split_again_when_revised() -> None:
    from ccmon.agents.domain.effects import Effects, StateLimits
    from ccmon.agents.domain.expiry import WHOLE_PER_TICK, apply_tick
    from ccmon.agents.domain.partition import Progress
    from ccmon.streams.config import QueueConfig

    first = 29_000_010
    starts = [first + 30 * n for n in range(WHOLE_PER_TICK + 3)]
    buckets = {
        ("p", str(s)): {"call|sales|off": str(n + 1), "chat|help|ans": "2"}
        for n, s in enumerate(starts)
    }
    last = starts[-1]
    # The newest interval is still open; one of the others Redis holds whole already.
    loaded = RawPartition(
        totals={},
        buckets=buckets,
        live={},
        meta={"rp": "5", "ev": str(last * 60.0), "rec": str((last + 10) * 60.0)},
        whole={("p", str(starts[0]))},
    )
    state = PartitionState.from_raw(0, loaded)
    assert state.split == set(starts[1:])
    assert state.split_closed() == starts[1:-1]

    policy = QueueConfig().policy
    fx = Effects(state, StateLimits())
    apply_tick(fx, last * 60.0, policy)
    # The oldest first, WHOLE_PER_TICK of them, every queue of each, the values held.
    assert list(fx.writes.whole) == [("p", str(s)) for s in starts[1 : 1 + WHOLE_PER_TICK]]
    assert fx.writes.whole[("p", str(starts[1]))] == {
        "call|sales": {"off": 2.0},
        "chat|help": {"ans": 2.0},
    }
    state.merge(fx.writes)
    fx = Effects(state, StateLimits())
    apply_tick(fx, last * 60.0, policy)
    assert list(fx.writes.whole) == [("p", str(starts[-2]))]
    state.merge(fx.writes)
    assert state.split == {last} and not state.split_closed()

    # A late event in an interval written whole: its increment goes split, beside it, and
    # once closed again the interval is written whole again, with it.
    late = Writes(incr={("p", str(starts[3])): {"call|sales": {"off": 1.0}}})
    state.merge(late)
    assert state.split == {last, starts[3]} and state.split_closed() == []
    state.merge(Writes(progress=Progress(rp=6, ev=last * 60.0, rec=(last + 11) * 60.0)))
    assert state.split_closed() == [starts[3]]
    fx = Effects(state, StateLimits())
    apply_tick(fx, last * 60.0, policy)
    assert fx.writes.whole[("p", str(starts[3]))]["call|sales"] == {"off": 5.0}

    # An interval expiring in this tick is dropped, not written whole.
    old = Effects(state, StateLimits(record_revision_days=1))
    apply_tick(old, (starts[3] + 3 * 1440 + 1) * 60.0, policy)
    assert ("p", str(starts[3])) in old.writes.drop
    assert ("p", str(starts[3])) not in old.writes.whole

    # Written back split (Redis lost writes): every interval is split in Redis again.
    state.written_back()
    assert state.split == set(starts)
