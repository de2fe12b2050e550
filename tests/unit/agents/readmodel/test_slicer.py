"""The read model's slices (ccmon.agents.readmodel.source.Slicer): what a build costs,
without what others ran while it yielded."""

from __future__ import annotations

import asyncio

from ccmon.agents.readmodel import source
from tests.support.eventloop import burn


async def test_work_and_cpu_leave_out_what_others_ran_in_between() -> None:
    async def neighbour() -> None:
        burn(0.1)  # a counting step that runs while the build yields

    slicer = source.Slicer()
    other = asyncio.ensure_future(neighbour())
    burn(source.SLICE_SECONDS)
    await slicer.pause()  # a slice is over: yields, the neighbour runs
    await other
    burn(0.01)
    assert source.SLICE_SECONDS + 0.01 <= slicer.cpu < 0.09
    assert slicer.cpu <= slicer.worked + 0.005
    assert slicer.worked < 0.09
