"""The owner on a Redis that refuses it (nothing listens on its port): it waits and retries,
and when the worker stops, the wait ends instead of holding up the stop (DEVELOPERS.md,
pitfall 68)."""

from __future__ import annotations

import asyncio

import pytest

from ccmon.agents.devkit.procs import free_port
from ccmon.agents.domain.state import PartitionState
from ccmon.agents.partitions.owner import Owner
from ccmon.agents.partitions.waiting import Stopping
from ccmon.agents.worker.runtime import Runtime
from ccmon.streams.settings import Settings


def guarded() -> PartitionState:
    """A partition whose guard holds minute 1 in Redis: asking about it asks Redis."""
    state = PartitionState(0)
    state.guard[1] = [1, 1]  # minute -> [shards, events]
    return state


class Refused:
    """An owner on a Redis port where nothing listens; ``failed`` is set at its first
    refusal, so a test stops the worker while the owner waits, not before it asked."""

    def __init__(self) -> None:
        self.failed = asyncio.Event()
        self.errors: list[str] = []
        runtime = Runtime(Settings(redis=f"redis://127.0.0.1:{free_port()}/0"))
        self.owner = Owner(runtime.store, on_redis=self._on_redis)

    def _on_redis(self, up: bool, error: str) -> None:
        if not up:
            self.errors.append(error)
            self.failed.set()


def test_a_guard_lookup_waiting_for_redis_ends_when_the_worker_stops() -> None:
    async def scenario() -> None:
        refused = Refused()
        refused.owner.states[0] = guarded()
        asking = asyncio.ensure_future(refused.owner.seen(0, [("e1", 1)]))
        await refused.failed.wait()
        assert not asking.done()  # it waits for Redis: nothing is counted without the guard
        refused.owner.stop()
        with pytest.raises(Stopping, match="duplicate guard: Redis unavailable"):
            await asking

    asyncio.run(scenario())


def test_a_partition_loading_when_the_worker_stops_is_not_ours() -> None:
    """Its waiters (a batch of its records) wake and find it is not ours: the batch leaves
    its records unacknowledged instead of waiting for ever."""

    async def scenario() -> None:
        refused = Refused()
        refused.owner.assign([0, 1], group_generation=3)
        waiting = asyncio.ensure_future(refused.owner.acquire(0))
        await refused.failed.wait()
        refused.owner.stop()
        assert await waiting is None
        assert await refused.owner.acquire(1) is None
        assert refused.owner.owned() == {}
        assert "ConnectionError" in refused.errors[0]

    asyncio.run(scenario())


def test_a_failed_call_after_the_stop_raises_at_once() -> None:
    async def scenario() -> None:
        refused = Refused()
        refused.owner.stop()
        refused.owner.states[0] = guarded()
        with pytest.raises(Stopping):
            await refused.owner.seen(0, [("e1", 1)])
        assert len(refused.errors) == 1  # asked once, not retried

    asyncio.run(scenario())
