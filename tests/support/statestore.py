"""The state store on the suite's shared Redis: its TTLs, the cleanup of one test's keys, a
partition written as its owner writes it, and an owner's write-back."""

from __future__ import annotations

import redis.asyncio as aioredis

from ccmon.agents.domain.partition import Writes
from ccmon.agents.domain.state import PartitionState
from ccmon.agents.partitions.owner import Owner
from ccmon.agents.partitions.statestore import StateStore, Token, new_write_id

# The state store's safety-net TTLs by bucket kind, as a worker sets them (shortened).
STORE_TTL = {"m": 3600, "d": 86400, "p": 86400}


async def forget_prefix(redis: aioredis.Redis, prefix: str) -> None:
    """This test's keys only: the server is shared by the whole suite."""
    keys = [key async for key in redis.scan_iter(match=f"{{{prefix}:*", count=1000)]
    if keys:
        await redis.delete(*keys)


class Written:
    """One partition, owned (generation 1) and written write after write, its state merged
    after each as the owner merges it."""

    def __init__(self, store: StateStore, partition: int, state: PartitionState) -> None:
        self.store, self.partition, self.state = store, partition, state
        self.token = Token(1)

    @classmethod
    async def owned(cls, store: StateStore, partition: int) -> Written:
        await store.take_ownership(partition, 1)
        return cls(
            store, partition, PartitionState.from_raw(partition, await store.load(partition))
        )

    async def write(self, writes: Writes) -> None:
        wid = new_write_id()
        outcome = await self.store.apply(self.partition, self.token, writes, wid)
        assert outcome.status == "ok", outcome
        self.token = self.token.after(wid)
        self.state.merge(writes)


async def written_back(store: StateStore, partition: int) -> tuple[PartitionState, PartitionState]:
    """A new owner (generation 2) loads the partition and writes its copy back, as after
    Redis lost writes: its copy, and the partition as Redis then holds it."""
    owner = Owner(store)
    owner.assign([partition], 2)
    held = await owner.acquire(partition)
    assert held is not None
    await owner._write_back(partition, "a test")
    again = PartitionState.from_raw(partition, await store.load(partition))
    await owner.close()
    return held, again
