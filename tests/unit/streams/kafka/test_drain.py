"""The inline delivery of ccmon.streams.kafka.drain, checked against Faust's own conductor: when
``delivers_at_once`` says yes, Faust's delivery of the record finishes without suspending
(so awaiting it directly is Faust's path minus ``wait_first``); whenever a delivery could
wait, it says no and the drain loop keeps Faust's interruptible path."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import faust
import pytest
from faust.types import TP, Message

from ccmon.streams.kafka.drain import InlineDelivery
from ccmon.streams.kafka.transport import Consumer

TOPIC = "drain-test"


class Probe(InlineDelivery):
    def __init__(self, app: faust.App) -> None:
        self.app = app
        self.suspend_flow = asyncio.Event()


def message(offset: int) -> Message:
    return Message(TOPIC, 0, offset, 0.0, 0, [], None, b"{}", None)


@pytest.fixture
async def wired() -> AsyncIterator[tuple[faust.App, Any, Any]]:
    # Never started, so nothing connects to the broker.
    app = faust.App("drain-test-app", broker="kafka://127.0.0.1:1", stream_buffer_maxsize=2)
    topic = app.topic(TOPIC, value_type=bytes, value_serializer="raw")
    conductor: Any = app.topics
    conductor.add(topic)
    await conductor._update_indices()
    await conductor.on_partitions_assigned({TP(TOPIC, 0)})
    app.flow_control.resume()
    yield app, topic, conductor._compile_message_handler()


def finishes_without_suspending(callback: Any, msg: Message) -> bool:
    coro = callback(msg)
    try:
        coro.send(None)
    except StopIteration:
        return True
    coro.close()
    return False


async def test_the_consumer_drains_with_inline_delivery() -> None:
    assert Consumer._drain_messages is InlineDelivery._drain_messages


async def test_a_record_delivered_at_once_never_suspends(wired: Any) -> None:
    app, topic, callback = wired
    probe = Probe(app)
    assert probe.delivers_at_once(TOPIC)
    assert finishes_without_suspending(callback, message(0))
    assert topic.queue.qsize() == 1


async def test_a_full_stream_buffer_takes_faust_path(wired: Any) -> None:
    app, topic, callback = wired
    probe = Probe(app)
    for offset in range(2):
        assert probe.delivers_at_once(TOPIC)
        assert finishes_without_suspending(callback, message(offset))
    assert topic.queue.full()
    assert not probe.delivers_at_once(TOPIC)
    assert not finishes_without_suspending(callback, message(2))


async def test_suspended_flow_and_rebalances_take_faust_path(wired: Any) -> None:
    app, _, callback = wired
    probe = Probe(app)
    probe.suspend_flow.set()  # the consumer's: a rebalance has begun
    assert not probe.delivers_at_once(TOPIC)
    probe.suspend_flow.clear()
    app.flow_control.suspend()  # the app's: streams are stopped
    assert not probe.delivers_at_once(TOPIC)
    assert not finishes_without_suspending(callback, message(0))


async def test_a_held_subscription_lock_takes_faust_path(wired: Any) -> None:
    app, _, callback = wired
    probe = Probe(app)
    lock: asyncio.Lock = app.topics._tp_to_callback_lock  # type: ignore[attr-defined]
    async with lock:
        assert not probe.delivers_at_once(TOPIC)
        assert not finishes_without_suspending(callback, message(0))


async def test_a_producer_buffer_over_its_limit_takes_faust_path(wired: Any) -> None:
    app, _, _ = wired
    probe = Probe(app)
    buffer: Any = app.producer.buffer
    for _ in range(buffer.max_messages + 1):
        buffer.pending.put_nowait(object())
    assert buffer.size > buffer.max_messages
    assert not probe.delivers_at_once(TOPIC)
