"""The repartition partitions this worker owns: their state, their fence tokens and locks.

A partition becomes ours when Kafka assigns it. We raise its fence in Redis (from then on
the previous owner's writes are refused), load its state, and only then count its events;
records that arrive meanwhile wait for the load. When it is revoked we drop our copy (its
series leave /metrics with it). Everything we write goes through :meth:`Owner.write`, which
carries our token and waits out a Redis outage rather than counting without the guard.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Collection

from ccmon.agents.domain.partition import Writes
from ccmon.agents.domain.state import PartitionState
from ccmon.agents.partitions.statestore import REDIS_ERRORS, Outcome, StateStore
from ccmon.streams.logs import log_context

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 5.0


class Owner:
    def __init__(
        self, store: StateStore, on_redis: Callable[[bool, str], None] | None = None
    ) -> None:
        self.store = store
        self.states: dict[int, PartitionState] = {}  # ready partitions only
        self.fences: dict[int, str] = {}
        self.locks: dict[int, asyncio.Lock] = {}
        self.load_seconds: dict[int, float] = {}
        self._ready: dict[int, asyncio.Event] = {}
        self._loading: dict[int, asyncio.Task[None]] = {}
        # Our copies of revoked partitions, until the assignment says where they went: one
        # that comes back with no other owner in between is current and need not be loaded.
        self._retired: dict[int, tuple[PartitionState, str]] = {}
        # Changes whenever the set of exported partitions changes (read-model caches).
        self.generation = 0
        # /healthz shows the error: "Redis unreachable" alone does not tell WRONGPASS from
        # a refused connection.
        self._on_redis = on_redis or (lambda up, error: None)

    # ---- membership ----------------------------------------------------------------
    @property
    def assigned(self) -> set[int]:
        return set(self._ready)

    def assign(self, partitions: Collection[int]) -> None:
        """Take these partitions (loading starts in the background); forget the copies of
        revoked partitions that went elsewhere."""
        for p in set(self._retired) - set(partitions):
            del self._retired[p]
        for p in partitions:
            if p in self._ready:
                continue
            self._ready[p] = asyncio.Event()
            self.locks.setdefault(p, asyncio.Lock())
            with log_context(partition=p):  # the load task's lines name its partition
                self._loading[p] = asyncio.ensure_future(self._load(p))

    def revoke(self, partitions: Collection[int]) -> None:
        for p in partitions:
            task = self._loading.pop(p, None)
            if task is not None:
                task.cancel()
            ready = self._ready.pop(p, None)
            if ready is not None:
                ready.set()  # wake waiters: they see the partition is no longer ours
            state, fence = self.states.pop(p, None), self.fences.pop(p, None)
            if state is not None and fence is not None:
                self._retired[p] = (state, fence)
                self.generation += 1

    def owned(self) -> dict[int, PartitionState]:
        return dict(self.states)

    async def acquire(self, partition: int) -> PartitionState | None:
        """The partition's state once loaded; None when it is not (or no longer) ours."""
        ready = self._ready.get(partition)
        if ready is None:
            return None
        await ready.wait()
        return self.states.get(partition)

    async def _load(self, partition: int) -> None:
        started = time.perf_counter()
        delay = 0.1
        while True:
            try:
                fence = await self.store.take_ownership(partition)
                retired = self._retired.pop(partition, None)
                if retired is not None and int(fence) == int(retired[1]) + 1:
                    state = retired[0]  # nobody owned it since: our copy is current
                else:
                    state = PartitionState.from_raw(partition, await self.store.load(partition))
                break
            except REDIS_ERRORS as exc:
                self._on_redis(False, f"{type(exc).__name__}: {exc}")
                log.warning("partition %d: cannot load its state (%s); retrying", partition, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_SECONDS)
        self._on_redis(True, "")
        self.states[partition] = state
        self.fences[partition] = fence
        self.generation += 1
        self.load_seconds[partition] = time.perf_counter() - started
        self._loading.pop(partition, None)
        log.info(
            "partition %d: state loaded in %.2fs (%d queues)",
            partition,
            self.load_seconds[partition],
            len(self.states[partition].channel_queues()),
        )
        self._ready[partition].set()

    # ---- the guard and writing ---------------------------------------------------------
    async def seen(self, event_ids: list[str]) -> list[str | None]:
        """The duplicate guard's answers; while Redis is unreachable, wait and ask again:
        an event is never counted without them."""
        delay = 0.1
        while True:
            try:
                found = await self.store.seen(event_ids)
            except REDIS_ERRORS as exc:
                self._on_redis(False, f"{type(exc).__name__}: {exc}")
                log.warning("duplicate guard: Redis unavailable (%s); retrying", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_SECONDS)
                continue
            self._on_redis(True, "")
            return found

    async def write(self, partition: int, writes: Writes) -> Outcome:
        """Write a batch with our fence token; while Redis is unreachable, wait and retry
        (consumption pauses, nothing is counted without the guard). ``fenced`` drops the
        partition: another worker owns it now and will read the batch again."""
        delay, reseed = 0.1, False
        while True:
            if partition not in self.fences:
                return Outcome("fenced")
            try:
                if reseed:
                    await self._reseed(partition)
                    reseed = False
                outcome = await self.store.apply(partition, self.fences[partition], writes)
            except REDIS_ERRORS as exc:
                self._on_redis(False, f"{type(exc).__name__}: {exc}")
                log.warning("partition %d: Redis unavailable (%s); retrying", partition, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_SECONDS)
                continue
            self._on_redis(True, "")
            if outcome.status != "nofence":
                break
            reseed = True
        if outcome.status == "fenced":
            log.error("partition %d: another worker owns it now; dropping our copy", partition)
            self.states.pop(partition, None)
            self.fences.pop(partition, None)
            self.generation += 1
        return outcome

    async def _reseed(self, partition: int) -> None:
        """Redis came back without our token, hence without its data (a restart with no
        persistence, a flush): write our whole copy back under a new token. Counters and
        windows survive; the duplicate guard's memory does not (docs/reliability.md)."""
        state = self.states[partition]
        log.error(
            "partition %d: Redis lost its data; writing this worker's copy back (%d queues)",
            partition,
            len(state.channel_queues()),
        )
        self.fences[partition] = await self.store.take_ownership(partition)
        seeded = await self.store.apply(partition, self.fences[partition], state.as_seed())
        if seeded.status != "ok":
            log.error("partition %d: re-seeding refused (%s)", partition, seeded.status)

    async def close(self) -> None:
        tasks = list(self._loading.values())
        self.revoke(list(self._ready))
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
