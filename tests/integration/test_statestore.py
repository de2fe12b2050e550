"""The state script on a real Redis: atomic guard and state, the fence, conflicts, and the
owner writing its copy back after Redis lost its data."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from support.services import RedisServer

from ccmon.agents.domain.partition import Writes
from ccmon.agents.domain.state import PartitionState
from ccmon.agents.partitions.owner import Owner
from ccmon.agents.partitions.statestore import StateStore

TTL = {"m": 3600, "d": 86400}


def batch(event_id: str, src: str, offered: float = 1.0) -> Writes:
    writes = Writes(guards=[(event_id, src)])
    writes.incr[("t", "")] = {"call|sales|off": offered}
    writes.incr[("m", "29000000")] = {"call|sales|off": offered}
    writes.live[("call|sales", event_id)] = {"k": "w", "t": 1.0}
    return writes


async def _scenario(url: str, prefix: str) -> None:
    redis = aioredis.Redis.from_url(url)
    store = StateStore(redis, prefix, 600, TTL)
    try:
        first = await store.take_ownership(0)
        assert (await store.apply(0, first, batch("e1", "call:0:1"))).status == "ok"
        assert await store.seen(["e1", "e2"]) == ["call:0:1", None]

        # Marked since it was looked up (a duplicate counted elsewhere): nothing is written.
        outcome = await store.apply(0, first, batch("e1", "call:0:7"))
        assert outcome.status == "conflict" and outcome.conflicts == ("e1",)
        loaded = PartitionState.from_raw(0, await store.load(0))
        assert loaded.totals["call|sales"]["off"] == 1.0

        # A new owner raised the fence: the old token writes nothing any more.
        second = await store.take_ownership(0)
        assert (await store.apply(0, first, batch("e2", "call:0:2"))).status == "fenced"
        assert (await store.apply(0, second, batch("e2", "call:0:2"))).status == "ok"
        state = PartitionState.from_raw(0, await store.load(0))
        assert state.totals["call|sales"]["off"] == 2.0
        assert state.minutes["call|sales"][29000000]["off"] == 2.0
        assert set(state.live["call|sales"]) == {"e1", "e2"}
        assert int(await redis.get(store.counted_key) or 0) == 2

        # Redis loses everything; the owner writes its copy back and counts on.
        owner = Owner(store)
        owner.assign([0])
        assert await owner.acquire(0) is not None
        await _forget(redis, prefix)  # what a restart without persistence leaves
        writes = batch("e3", "call:0:3")
        assert (await owner.write(0, writes)).status == "ok"
        owner.states[0].merge(writes)
        after = PartitionState.from_raw(0, await store.load(0))
        assert after.totals["call|sales"]["off"] == 3.0
        assert set(after.live["call|sales"]) == {"e1", "e2", "e3"}
        assert after.totals == owner.states[0].totals
        await owner.close()
    finally:
        await _forget(redis, prefix)
        await redis.aclose()


async def _forget(redis: aioredis.Redis, prefix: str) -> None:
    """This test's keys only: the server is shared by the whole suite."""
    keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
    if keys:
        await redis.delete(*keys)


def test_state_script_guard_fence_conflict_and_reseed(
    redis_server: RedisServer, unique_name: str
) -> None:
    asyncio.run(_scenario(redis_server.url, unique_name))
