"""What a coroutine costs the event loop (ccmon.agents.worker.loopcost): its own steps,
not the work other tasks did while it waited."""

from __future__ import annotations

import asyncio

import pytest

from ccmon.agents.worker.loopcost import LoopCost
from tests.support.eventloop import burn


async def test_the_work_of_other_tasks_while_it_waits_is_not_its_cost() -> None:
    """The snapshot publisher's case: it awaits Redis while counting steps run."""
    released = asyncio.Event()

    async def neighbour() -> None:
        burn(0.1)  # a counting step holding the loop while the coroutine waits
        released.set()

    async def waits_then_works() -> str:
        await released.wait()
        burn(0.02)
        return "done"

    other = asyncio.ensure_future(neighbour())
    cost = LoopCost(waits_then_works())
    assert await cost == "done"
    await other
    assert 0.02 <= cost.seconds < 0.06


async def test_its_own_steps_are_counted_across_suspensions() -> None:
    async def steps() -> int:
        for _ in range(3):
            burn(0.01)
            await asyncio.sleep(0)
        return 3

    cost = LoopCost(steps())
    assert await cost == 3
    assert cost.seconds >= 0.03


async def test_errors_and_cancellation_pass_through() -> None:
    async def fails() -> None:
        await asyncio.sleep(0)
        raise ValueError("redis said no")

    with pytest.raises(ValueError, match="redis said no"):
        await LoopCost(fails())

    cleaned: list[str] = []

    async def waits_forever() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            cleaned.append("finally ran")

    async def measured() -> None:
        await LoopCost(waits_forever())

    task = asyncio.ensure_future(measured())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned == ["finally ran"]
