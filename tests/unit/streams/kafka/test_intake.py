"""The source intakes of ccmon.streams.kafka.intake, on a real (never started) Faust app and
consumer: batches as ``noack_take`` made them, tracking when taken, acknowledgement when
done, and what a rebalance (flow control, generations) does to what waits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import faust
import pytest
from faust.types import TP
from faust.types.tuples import ConsumerMessage

from ccmon.streams.kafka.drain import InlineDelivery
from ccmon.streams.kafka.intake import Intake, intakes_of

TOPIC = "intake-test"
T = TypeVar("T")


@pytest.fixture
async def app() -> AsyncIterator[faust.App]:
    # Never started, so nothing connects to the broker.
    app = faust.App("intake-test-app", broker="kafka://127.0.0.1:1")
    conductor: Any = app.topics
    conductor.add(app.topic(TOPIC, value_type=bytes, value_serializer="raw"))
    await conductor._update_indices()  # the topic is an acking topic
    app.flow_control.resume()
    yield app


async def still_waiting(coro: Awaitable[T]) -> asyncio.Future[T]:
    """``coro`` started, and still waiting once the loop has run everything else."""
    future = asyncio.ensure_future(coro)
    await asyncio.sleep(0.01)
    assert not future.done()
    return future


def message(app: faust.App, offset: int, generation: int | None = None) -> ConsumerMessage:
    """As the consumer makes them: tracked only once something takes them."""
    gen = app.consumer_generation_id if generation is None else generation
    return ConsumerMessage(TOPIC, 0, offset, 0.0, 0, [], None, b"{}", None, generation_id=gen)


async def test_a_full_batch_is_taken_at_once_and_tracked(app: faust.App) -> None:
    intake = Intake(app, TOPIC, capacity=10)
    for offset in range(5):
        intake.put(message(app, offset))
    batch = await asyncio.wait_for(intake.take(3, within=60.0), 1.0)
    assert [m.offset for m in batch] == [0, 1, 2]
    assert all(m.tracked for m in batch)
    assert set(batch) <= set(app.consumer._unacked_messages)
    assert len(intake) == 2


async def test_a_short_batch_waits_at_most_within(app: faust.App) -> None:
    intake = Intake(app, TOPIC, capacity=10)
    intake.put(message(app, 0))
    loop = asyncio.get_running_loop()
    began = loop.time()
    batch = await intake.take(100, within=0.05)
    assert [m.offset for m in batch] == [0]
    assert 0.04 <= loop.time() - began < 1.0


async def test_take_waits_for_the_first_record_then_fills_the_batch(app: faust.App) -> None:
    intake = Intake(app, TOPIC, capacity=10)
    taking = await still_waiting(intake.take(2, within=60.0))
    intake.put(message(app, 0))
    await asyncio.sleep(0.01)
    assert not taking.done()  # one of two, and 60 s to wait for the second
    intake.put(message(app, 1))
    batch = await asyncio.wait_for(taking, 1.0)
    assert [m.offset for m in batch] == [0, 1]


async def test_a_full_intake_has_no_room_until_a_batch_is_taken(app: faust.App) -> None:
    intake = Intake(app, TOPIC, capacity=2)
    intake.put(message(app, 0))
    intake.put(message(app, 1))
    assert intake.full()
    waiting = await still_waiting(intake.room())
    await intake.take(1, within=0.0)
    await asyncio.wait_for(waiting, 1.0)


async def test_done_acknowledges_the_batch_to_the_consumer(app: faust.App) -> None:
    intake = Intake(app, TOPIC, capacity=10)
    for offset in range(3):
        intake.put(message(app, offset))
    batch = await intake.take(3, within=0.0)
    intake.done(batch)
    assert all(m.acked for m in batch)
    assert sorted(app.consumer._acked[TP(TOPIC, 0)]) == [0, 1, 2]
    assert not set(batch) & set(app.consumer._unacked_messages)


async def test_a_rebalance_clears_what_waits_with_fausts_own_buffers(app: faust.App) -> None:
    intake = Intake(app, TOPIC, capacity=10)
    first = message(app, 0)
    intake.put(first)
    app.flow_control.suspend()
    app.flow_control.clear()  # what Faust does when partitions are revoked
    assert len(intake) == 0
    assert not first.tracked and not first.acked  # read again from the committed offset


async def test_records_of_an_older_generation_are_never_taken(app: faust.App) -> None:
    intake = Intake(app, TOPIC, capacity=10)
    stale = message(app, 0, generation=app.consumer_generation_id - 1)
    intake.put(stale)
    intake.put(message(app, 1))
    batch = await intake.take(2, within=0.0)
    assert [m.offset for m in batch] == [1]
    assert not stale.tracked and not stale.acked


async def test_a_batch_taken_while_the_flow_is_suspended_is_dropped(app: faust.App) -> None:
    intake = Intake(app, TOPIC, capacity=10)
    dropped = message(app, 0)
    intake.put(dropped)
    app.flow_control.suspend()  # a rebalance begins before the task takes its batch
    taking = await still_waiting(intake.take(1, within=0.0))
    assert not dropped.tracked
    app.flow_control.resume()  # clears, as Faust's resume does
    intake.put(message(app, 5))
    assert [m.offset for m in await asyncio.wait_for(taking, 1.0)] == [5]


def test_each_app_has_its_own_intakes() -> None:
    one, two = faust.App("intake-a", broker="kafka://127.0.0.1:1"), faust.App("intake-b")
    Intake(one, TOPIC, capacity=1)
    assert set(intakes_of(one)) == {TOPIC} and intakes_of(two) == {}


class Drain(InlineDelivery):
    def __init__(self, app: faust.App) -> None:
        self.app = app
        self.suspend_flow = asyncio.Event()

    async def wait_first(self, *coros: Any) -> None:
        tasks = [asyncio.ensure_future(c) for c in coros]
        _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()


async def test_the_drain_loop_waits_for_flow_control_and_room_and_stops_with_the_flow(
    app: faust.App,
) -> None:
    intake, drain = Intake(app, TOPIC, capacity=1), Drain(app)
    app.flow_control.suspend()
    first = await still_waiting(drain._to_intake(intake, message(app, 0)))
    app.flow_control.resume()
    assert await asyncio.wait_for(first, 1.0) is True
    # Full: it waits for room, and gives up when a rebalance stops the consumer's flow.
    second = await still_waiting(drain._to_intake(intake, message(app, 1)))
    drain.suspend_flow.set()
    assert await asyncio.wait_for(second, 1.0) is False
    assert len(intake) == 1


async def test_the_drain_loop_does_not_hand_over_a_stale_record(app: faust.App) -> None:
    intake, drain = Intake(app, TOPIC, capacity=10), Drain(app)
    stale = message(app, 0, generation=app.consumer_generation_id - 1)
    assert await drain._to_intake(intake, stale) is False
    assert len(intake) == 0
