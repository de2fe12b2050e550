"""Giving the heap back after a rebalance (ccmon.agents.worker.heap)."""

from __future__ import annotations

import asyncio
import logging
import os

import pytest

from ccmon.agents.worker import heap


def test_free_pages_go_back_to_the_system() -> None:
    # Blocks past pymalloc's 512 B come from malloc; every tenth kept, the rest freed, so
    # the heap's top stays high and only a trim of its middle returns the freed pages.
    kept, freed = [], []
    for i in range(60_000):
        (kept if i % 10 == 0 else freed).append(os.urandom(32) * 64)
    del freed
    result = asyncio.run(heap.give_back())
    assert result is not None, "this machine's C library is glibc: malloc_trim is there"
    before, after = result
    assert before - after > 50e6, (before, after)  # ~110 MB of 2 kB blocks were freed
    assert len(kept) == 6_000


def test_without_malloc_trim_nothing_is_done(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap, "_TRIM", None)
    assert asyncio.run(heap.give_back()) is None


def test_gives_back_once_every_partition_is_loaded(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> list[str]:
        ready = {p: asyncio.Event() for p in (3, 5)}
        order: list[str] = []

        async def acquire(partition: int) -> None:
            await ready[partition].wait()
            order.append(f"loaded {partition}")

        task = asyncio.ensure_future(heap.after_loads(acquire, ready))
        ready[5].set()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert not task.done(), "partition 3 is still loading"
        ready[3].set()
        await task
        return order

    with caplog.at_level(logging.INFO, logger=heap.__name__):
        assert asyncio.run(scenario()) == ["loaded 3", "loaded 5"]
    assert "rebalance settled: resident memory" in caplog.text


def test_resident_bytes_is_the_kernels_count() -> None:
    with open("/proc/self/status", encoding="ascii") as status:
        kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    assert abs(heap.resident_bytes() - kb * 1024) < 8e6
