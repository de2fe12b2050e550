"""The refreshed /metrics body: built a few pairs at a time on the event loop, identical to
a body built in one go, never served across a rebalance, never older than its bound."""

from __future__ import annotations

import asyncio
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ccmon.agents.domain.contacts import apply_contact
from ccmon.agents.domain.effects import HANDLE, WAIT, Effects, StateLimits
from ccmon.agents.domain.state import PartitionState
from ccmon.agents.metrics import queues as q
from ccmon.agents.metrics.budget import Budget
from ccmon.agents.metrics.queues import QueueExposition
from ccmon.agents.readmodel import source as src
from ccmon.agents.readmodel.source import ReadModelSource
from ccmon.streams.config import load_queue_config
from ccmon.streams.contract.events import Event
from tests.support.paths import ROOT

NOW = 1_795_435_200.0
CONFIG = load_queue_config(ROOT / "deploy" / "queues.example.yaml")
BOUNDS = {WAIT: [20.0, 90.0], HANDLE: [300.0]}


def offered(state: PartitionState, queue: str, n: int) -> None:
    ev = Event(
        event_id=f"{queue}-{n}",
        channel="call",
        type="offered",
        occurred_at=NOW - 60 - n,
        queue=queue,
        contact_id=f"{queue}-c{n}",
    )
    fx = Effects(state, StateLimits(histogram_bounds=BOUNDS))
    apply_contact(ev, fx, CONFIG.policy("call", queue), NOW)
    state.merge(fx.writes)


class Owned:
    """Two partitions and an owner generation, as the worker's Owner keeps them."""

    def __init__(self, queues: int) -> None:
        self.states = {0: PartitionState(0), 1: PartitionState(1)}
        for i in range(queues):
            offered(self.states[i % 2], f"q{i:03d}", 0)
        self.generation = 0

    def source(self) -> ReadModelSource:
        return ReadModelSource(
            lambda: self.states,
            CONFIG.policy,
            lambda: NOW,
            max_age_seconds=1.0,
            generation=lambda: self.generation,
        )


def without_staleness(text: str) -> str:
    return "".join(x for x in text.splitlines(True) if not x.startswith("ccmon_metrics_stal"))


def queues_in(text: str) -> set[str]:
    return {
        s.labels["queue"]
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if "queue" in s.labels
    }


def test_a_refreshed_body_equals_one_built_in_one_go() -> None:
    owned = Owned(queues=100)
    refreshed = QueueExposition(owned.source(), Budget(), BOUNDS)
    refreshed.last_scrape = time.monotonic()
    asyncio.run(refreshed.refresh())
    at_once = QueueExposition(owned.source(), Budget(), BOUNDS).render()
    assert without_staleness(refreshed.render()) == without_staleness(at_once)
    assert len(queues_in(at_once)) == 100


def test_the_refresh_yields_to_the_event_loop_between_slices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    owned = Owned(queues=10 * src.STEP_PAIRS)
    exposition = QueueExposition(owned.source(), Budget(), BOUNDS)
    turns = 0

    async def other_task() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    async def main() -> None:
        task = asyncio.create_task(other_task())
        await exposition.refresh()
        task.cancel()

    monkeypatch.setattr(src, "SLICE_SECONDS", 0.0)  # every step is a slice
    asyncio.run(main())
    # At least one turn per step of the model build and one per changed pair rendered.
    assert turns >= 10 + 10 * src.STEP_PAIRS


def test_a_scrape_joins_the_refresh_under_way() -> None:
    owned = Owned(queues=20)
    exposition = QueueExposition(owned.source(), Budget(), BOUNDS)
    builds = 0
    refresh = exposition.refresh

    async def counted() -> None:
        nonlocal builds
        builds += 1
        await refresh()

    exposition.refresh = counted  # type: ignore[method-assign]

    async def main() -> tuple[str, str]:
        exposition._running = asyncio.ensure_future(exposition.refresh())
        return await exposition.text(), await exposition.text()

    first, second = asyncio.run(main())
    assert builds == 1
    assert len(queues_in(first)) == 20 and without_staleness(first) == without_staleness(second)


def test_a_scrape_with_no_refresh_under_way_builds_in_one_go() -> None:
    """Not in slices: a scrape waits for its body anyway, and sliced it also waited for the
    counting steps in between (280-300 ms at 200k events for about 100 ms of work)."""
    exposition = QueueExposition(Owned(queues=4 * src.STEP_PAIRS).source(), Budget(), BOUNDS)
    scrape = exposition.text()
    with pytest.raises(StopIteration) as done:
        scrape.send(None)  # finished without yielding to the event loop once
    assert len(queues_in(done.value.value)) == 4 * src.STEP_PAIRS
    assert not exposition._busy()


def test_a_body_is_not_served_after_partitions_moved() -> None:
    owned = Owned(queues=20)
    exposition = QueueExposition(owned.source(), Budget(), BOUNDS)
    exposition.last_scrape = time.monotonic()
    asyncio.run(exposition.refresh())
    assert len(queues_in(exposition.render())) == 20
    del owned.states[1]  # revoked
    owned.generation += 1
    assert queues_in(exposition.render()) == {f"q{i:03d}" for i in range(0, 20, 2)}


def test_a_refresh_during_which_partitions_moved_is_thrown_away() -> None:
    owned = Owned(queues=4 * src.STEP_PAIRS)
    exposition = QueueExposition(owned.source(), Budget(), BOUNDS)
    exposition.last_scrape = time.monotonic()

    async def revoke_soon() -> None:
        await asyncio.sleep(0)
        del owned.states[1]
        owned.generation += 1

    async def main() -> None:
        revoking = asyncio.create_task(revoke_soon())
        await exposition.refresh()
        await revoking

    asyncio.run(main())
    served = queues_in(exposition.render())
    assert served == {f"q{i:03d}" for i in range(0, 4 * src.STEP_PAIRS, 2)}


def test_an_old_body_is_rebuilt_by_the_scrape(monkeypatch: pytest.MonkeyPatch) -> None:
    owned = Owned(queues=3)
    exposition = QueueExposition(owned.source(), Budget(), BOUNDS)
    exposition.last_scrape = time.monotonic()
    asyncio.run(exposition.refresh())
    offered(owned.states[0], "late-queue", 1)
    assert "late-queue" not in queues_in(exposition.render())  # young body: served as is
    monkeypatch.setattr(q, "MAX_STALENESS", 0.0)
    monkeypatch.setattr(exposition.source, "max_age", 0.0)
    text = exposition.render()
    assert "late-queue" in queues_in(text)
    staleness = [x for x in text.splitlines() if x.startswith("ccmon_metrics_staleness_seconds ")]
    assert len(staleness) == 1 and float(staleness[0].split()[1]) < 1.0


def test_nothing_is_rendered_while_nobody_scrapes() -> None:
    exposition = QueueExposition(Owned(queues=3).source(), Budget(), BOUNDS)
    assert not exposition.due()


def test_the_body_is_built_once_per_scrape_just_before_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(q.time, "monotonic", lambda: clock[0])
    exposition = QueueExposition(Owned(queues=3).source(), Budget(), BOUNDS)
    exposition.render()  # first scrape: built in one go
    clock[0] += 1.0
    exposition.render()  # second: the interval is known (1 s)
    exposition.build_seconds = exposition.build_wall = 0.1
    assert not exposition.due()  # the next scrape is a second away
    clock[0] += 0.75
    assert exposition.due()  # 0.1 + 2 x 0.1 s before it
    asyncio.run(exposition.refresh())
    assert not exposition.due()  # built for this scrape already
    clock[0] += 0.25
    text = exposition.render()
    staleness = [x for x in text.splitlines() if x.startswith("ccmon_metrics_staleness_seconds ")]
    assert float(staleness[0].split()[1]) == pytest.approx(0.25)
    assert not exposition.due()


def test_the_snapshot_s_model_is_rendered_instead_of_a_second_build(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(q.time, "monotonic", lambda: clock[0])
    owned = Owned(queues=5)
    exposition = QueueExposition(owned.source(), Budget(), BOUNDS)
    monkeypatch.setattr(q, "SMALL_BODY_PAIRS", 0)  # as with 1,500 pairs: up to 1 s old
    exposition.render()
    clock[0] += 1.0
    exposition.render()  # scraped every second; next scrape expected at 1002
    clock[0] += 0.3

    async def snapshot_then_ticks() -> None:
        model = await exposition.source.refresh()  # what the publisher builds, at 1001.3
        exposition.offer(model)
        assert exposition._running is not None
        await exposition._running
        assert not exposition.due()  # 0.7 s old at the next scrape: no build of our own

    asyncio.run(snapshot_then_ticks())
    clock[0] += 0.5
    assert not exposition.due()
    clock[0] += 0.2
    text = exposition.render()  # the scrape at 1002 serves the snapshot's model
    staleness = [x for x in text.splitlines() if x.startswith("ccmon_metrics_staleness_seconds ")]
    assert float(staleness[0].split()[1]) == pytest.approx(0.7)


def test_a_cheap_body_is_served_nearly_live_a_costly_one_up_to_the_bound() -> None:
    exposition = QueueExposition(Owned(queues=3).source(), Budget(), BOUNDS)
    exposition.render()
    exposition.build_seconds = 0.002  # 3 pairs
    assert exposition.staleness() == pytest.approx(0.002 / q.REFRESH_SHARE)
    big = QueueExposition(Owned(queues=q.SMALL_BODY_PAIRS + 1).source(), Budget(), BOUNDS)
    big.render()
    big.build_seconds = 0.002
    assert big.staleness() == q.MAX_STALENESS


def test_a_refresh_costs_its_work_not_the_time_others_ran_meanwhile() -> None:
    owned = Owned(queues=4 * src.STEP_PAIRS)
    exposition = QueueExposition(owned.source(), Budget(), BOUNDS)
    exposition.last_scrape = time.monotonic()
    exposition.build_seconds = 0.0

    async def busy_neighbour() -> None:
        for _ in range(20):
            # A counting step beside the refresh: 10 ms that hold the event loop.
            time.sleep(0.01)  # noqa: ASYNC251
            await asyncio.sleep(0)

    async def main() -> float:
        began = time.perf_counter()
        await asyncio.gather(exposition.refresh(), busy_neighbour())
        return time.perf_counter() - began

    src_slice, src.SLICE_SECONDS = src.SLICE_SECONDS, 0.0  # yield after every step
    try:
        wall = asyncio.run(main())
    finally:
        src.SLICE_SECONDS = src_slice
    assert wall >= 0.2
    # One refresh moves the estimate by a fifth of its cost: counted by the wall clock,
    # 0.04 s at least.
    assert exposition.build_seconds < 0.02
