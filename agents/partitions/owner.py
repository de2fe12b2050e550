"""The repartition partitions this worker owns: their state, their tokens and locks.

A partition becomes ours when Kafka assigns it. We raise its fence in Redis to the group
generation of that assignment (from then on an older generation's writes are refused),
load its state, make sure Redis has counted everything Kafka says was counted (or read the
missing records again), and only then count its events; records that arrive meanwhile wait.
When it is revoked we drop our copy (its series leave /metrics with it). Everything we
write goes through :meth:`Owner.write`, which carries our token, waits out a Redis outage
rather than counting without the guard, and tells Redis that lost writes (``lost``) from a
newer owner (``fenced``). Kafka has the last word on who owns a partition: when Redis names
a newer generation, we ask the group coordinator whether ours is still current. When the
worker stops, a wait for Redis ends (:class:`Stopping`): what it was for stays undone.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from dataclasses import replace as replaced
from typing import Protocol

from ccmon.agents.domain.partition import GuardKey, Writes
from ccmon.agents.domain.state import PartitionState
from ccmon.agents.partitions.reading import bucket_reads
from ccmon.agents.partitions.statestore import (
    Outcome,
    StateStore,
    Token,
    new_write_id,
)
from ccmon.agents.partitions.waiting import RedisWait, Stopping
from ccmon.streams.logs import log_context

log = logging.getLogger(__name__)


class Group(Protocol):
    """What the owner asks Kafka (the worker's consumer, :mod:`ccmon.streams.kafka.transport`)."""

    async def committed(self, partition: int) -> int | None:
        """The group's committed offset of a repartition partition (None: never)."""

    async def is_current(self, generation: int) -> bool | None:
        """Whether this member's assignment of that generation is still the group's (None:
        Kafka could not say)."""


class CatchUp(Protocol):
    """Reads the records ``[start, end)`` of a repartition partition again and counts them
    into ``state`` (the partition's lock is the caller's). Returns how many of them the
    topic no longer holds; with ``partial=False`` it counts nothing when any is missing."""

    def __call__(self, partition: int, start: int, end: int, partial: bool) -> Awaitable[int]: ...


@dataclass
class LossReport:
    """What the owner tells the worker's metrics about Redis losing writes."""

    detected: Callable[[], None] = lambda: None  # ccmon_redis_writes_lost_total
    reread: Callable[[int], None] = lambda n: None  # ccmon_redis_records_reread_total


class Owner:
    def __init__(
        self,
        store: StateStore,
        on_redis: Callable[[bool, str], None] | None = None,
        group: Group | None = None,
        report: LossReport | None = None,
    ) -> None:
        self.store = store
        self.group = group
        self.report = report or LossReport()
        self.catch_up: CatchUp | None = None  # set by the counting agent
        self.states: dict[int, PartitionState] = {}  # ready partitions only
        self.tokens: dict[int, Token] = {}
        self.locks: dict[int, asyncio.Lock] = {}
        self.load_seconds: dict[int, float] = {}
        self._ready: dict[int, asyncio.Event] = {}
        self._loading: dict[int, asyncio.Task[None]] = {}
        # Our copies of revoked partitions, until the assignment says where they went: one
        # that comes back with nobody's write in between is current and need not be loaded.
        self._retired: dict[int, tuple[PartitionState, Token]] = {}
        # Changes whenever the set of exported partitions changes (read-model caches).
        self.generation = 0
        self._redis = RedisWait(on_redis)

    # ---- membership ----------------------------------------------------------------
    @property
    def assigned(self) -> set[int]:
        return set(self._ready)

    def assign(self, partitions: Collection[int], group_generation: int = 0) -> None:
        """Take these partitions under this group generation (loading starts in the
        background); forget the copies of revoked partitions that went elsewhere."""
        for p in set(self._retired) - set(partitions):
            del self._retired[p]
        for p in partitions:
            token = self.tokens.get(p)
            if p in self._ready and (token is None or token.gen >= group_generation):
                continue
            self.revoke([p])  # kept across a rebalance: taken again under the new generation
            self._ready[p] = asyncio.Event()
            self.locks.setdefault(p, asyncio.Lock())
            with log_context(partition=p):  # the load task's lines name its partition
                self._loading[p] = asyncio.ensure_future(self._load(p, group_generation))

    def revoke(self, partitions: Collection[int]) -> None:
        for p in partitions:
            task = self._loading.pop(p, None)
            if task is not None:
                task.cancel()
            ready = self._ready.pop(p, None)
            if ready is not None:
                ready.set()  # wake waiters: they see the partition is no longer ours
            state, token = self.states.pop(p, None), self.tokens.pop(p, None)
            if state is not None and token is not None:
                self._retired[p] = (state, token)
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

    def unrecoverable(self) -> dict[int, int]:
        """Records of owned partitions that Redis lost and the topic no longer held."""
        return {p: s.progress.gone for p, s in self.states.items() if s.progress.gone}

    def stop(self) -> None:
        """The worker stops: a wait for Redis ends (:mod:`ccmon.agents.partitions.waiting`)."""
        self._redis.stop()

    async def _kafka_confirms(self, gen: int) -> bool:
        return self.group is not None and await self.group.is_current(gen) is True

    async def _take(self, partition: int, gen: int) -> dict[str, str] | None:
        """Raise the fence to ``gen``; None when Redis names a newer generation and Kafka
        does not confirm ours (we are the stale one). A newer one that Kafka contradicts is
        left from an earlier life of the group (deleted, or expired while empty)."""
        what = f"partition {partition}"
        outcome, meta = await self._redis(what, lambda: self.store.take_ownership(partition, gen))
        if outcome.status == "fenced":
            if not await self._kafka_confirms(gen):
                log.info(
                    "partition %d: Redis names generation %s, newer than ours (%d): "
                    "not ours any more",
                    partition,
                    outcome.gen,
                    gen,
                )
                return None
            log.warning(
                "partition %d: Redis names generation %s, but Kafka confirms ours (%d): the "
                "group was created again; taking the partition",
                partition,
                outcome.gen,
                gen,
            )
            outcome, meta = await self._redis(
                what, lambda: self.store.take_ownership(partition, gen, force=True)
            )
        return meta

    async def _read(self, partition: int) -> PartitionState:
        """The partition's state from Redis, its bucket hashes a few at a time
        (reading.bucket_reads: the reply of a week of intervals at once, as text, was
        several times the state it builds)."""
        what = f"partition {partition}"
        raw, names = await self._redis(what, lambda: self.store.load_head(partition))
        state = PartitionState.from_raw(partition, raw)
        for chunk in bucket_reads(names):
            read = functools.partial(self.store.read_buckets, partition, chunk)
            buckets, whole = await self._redis(what, read)
            state.add_buckets(buckets, whole)
        return state

    async def _load(self, partition: int, gen: int) -> None:
        try:
            await self._load_state(partition, gen)
        except Stopping as stopping:
            log.warning("partition %d not loaded: %s", partition, stopping)
            self._loading.pop(partition, None)
            self.revoke([partition])  # its waiters wake: not ours

    async def _load_state(self, partition: int, gen: int) -> None:
        started = time.perf_counter()
        meta = await self._take(partition, gen)
        if meta is None:
            self._loading.pop(partition, None)
            self._ready.pop(partition).set()
            return
        token = Token(gen, int(meta.get("seq") or 0), meta.get("wid", ""))
        retired = self._retired.pop(partition, None)
        if retired is not None and (retired[1].seq, retired[1].wid) == (token.seq, token.wid):
            state = retired[0]  # nobody wrote since it was ours: our copy is current
        else:
            state = await self._read(partition)
        self.states[partition] = state
        self.tokens[partition] = token
        committed = await self.group.committed(partition) if self.group else None
        # ccmon 0.2's state, counted up to the committed offset:
        migrated = "seq" not in meta and await self._migrate(partition, committed)
        if "seq" in meta and "gv" not in meta:
            # ccmon 0.3's layout (whole minute buckets and live hash): moved to this one
            # before anything is written in it; its guard is still read (statestore).
            await self._write_back(partition, "moving ccmon 0.3's state to this layout")
        if not migrated and committed is not None and state.progress.rp < committed:
            await self._read_again(partition, state.progress.rp, committed)
        self.generation += 1
        self.load_seconds[partition] = time.perf_counter() - started
        self._loading.pop(partition, None)
        log.info(
            "partition %d: state loaded in %.2fs (%d queues, generation %d)",
            partition,
            self.load_seconds[partition],
            len(self.states[partition].channel_queues()),
            gen,
        )
        self._ready[partition].set()

    async def _migrate(self, partition: int, committed: int | None) -> bool:
        """A partition never written in this layout that ccmon 0.2 left in its own: move it
        here (what 0.2 counted is what Kafka's committed offset says, when its workers were
        stopped before this one started: docs/operations.md, "Upgrades")."""
        legacy = await self._redis(
            f"partition {partition}", lambda: self.store.load_legacy(partition)
        )
        if legacy is None:
            return False
        state = PartitionState.from_raw(partition, legacy)
        state.progress = replaced(state.progress, rp=committed or 0)
        self.states[partition] = state
        await self._write_back(partition, "moving ccmon 0.2's state to this layout")
        return True

    async def _read_again(self, partition: int, start: int, end: int) -> None:
        """A new owner finds Redis behind Kafka's committed offset: Redis lost writes that
        nobody holds any more. The records are in the repartition topic: read and count
        them again; those the topic no longer holds are counted as lost, loudly."""
        self.report.detected()
        log.error(
            "partition %d: Redis lost writes: it has counted up to offset %d, Kafka's "
            "committed offset is %d; reading records %d..%d again",
            partition,
            start,
            end,
            start,
            end - 1,
        )
        if self.catch_up is None:
            raise RuntimeError("the owner needs the counting agent's catch-up")
        missing = await self.catch_up(partition, start, end, True)
        self.report.reread(end - start - missing)
        state = self.states[partition]
        progress = state.progress
        state.progress = replaced(progress, rp=max(progress.rp, end), gone=progress.gone + missing)
        if missing:
            # Said once in Redis as well, so that every later owner exports it.
            await self.write(partition, Writes(progress=state.progress))
            log.error(
                "partition %d: %d records that Redis lost are no longer in the repartition "
                "topic (retention): its numbers lack them for good "
                '(ccmon_state_unrecoverable_records; docs/operations.md, "Redis")',
                partition,
                missing,
            )

    # ---- the guard and writing ---------------------------------------------------------
    async def seen(self, partition: int, guards: list[GuardKey]) -> list[str | None]:
        """The duplicate guard's answers; while Redis is unreachable, wait and ask again:
        an event is never counted without them."""
        state = self.states[partition]
        return await self._redis(
            "duplicate guard", lambda: self.store.seen(partition, guards, state.guard)
        )

    async def write(self, partition: int, writes: Writes) -> Outcome:
        """Write a step with our token; while Redis is unreachable, wait and retry
        (consumption pauses, nothing is counted without the guard). ``ok`` and ``done``
        (applied already, its reply lost): merge it. ``lost``: Redis is behind our copy, the
        caller recovers (:meth:`recover`) and computes the step again. ``fenced``: a newer
        generation owns the partition; we drop it, and count and acknowledge nothing more
        of it until Kafka assigns it again."""
        wid = new_write_id()
        while True:
            token = self.tokens.get(partition)
            if token is None:
                return Outcome("fenced")
            outcome = await self._redis(
                f"partition {partition}",
                lambda: self.store.apply(partition, token, writes, wid),  # noqa: B023
            )
            if outcome.status in ("ok", "done"):
                self.tokens[partition] = token.after(wid)
                return outcome
            if outcome.status == "nofence":
                await self._write_back(partition, "Redis lost its data")
                continue
            if outcome.status == "fenced" and await self._kafka_confirms(token.gen):
                # Redis names a newer generation than the group has: left from an earlier
                # life of the group. Ours is current: take it and recover.
                await self._take(partition, token.gen)
                return Outcome("lost", outcome.gen, outcome.seq)
            if outcome.status == "fenced":
                log.error(
                    "partition %d: generation %s owns it now (ours: %d); dropping our copy",
                    partition,
                    outcome.gen,
                    token.gen,
                )
                self.states.pop(partition, None)
                self.tokens.pop(partition, None)
                self.generation += 1
            return outcome

    async def recover(self, partition: int, seen: Outcome) -> None:
        """Redis does not hold our last write: it lost writes (a restart from an older
        snapshot, a failover to a replica that lagged, AOF's last second). Our copy holds
        everything we counted. When the records Redis lacks are still in the repartition
        topic, take Redis's state and count them again (exact, the duplicate guard
        included); otherwise write our copy back."""
        copy, token = self.states[partition], self.tokens[partition]
        self.report.detected()
        behind = await self._read(partition)
        start, end = behind.progress.rp, copy.progress.rp
        lost = f"{token.seq - seen.seq} writes" if seen.seq is not None else "writes"
        if start < end and self.catch_up is not None:
            meta = await self._take(partition, token.gen)
            if meta is None:
                self.states.pop(partition, None)
                self.tokens.pop(partition, None)
                self.generation += 1
                return
            self.tokens[partition] = Token(
                token.gen, int(meta.get("seq") or 0), meta.get("wid", "")
            )
            self.states[partition] = behind
            self.generation += 1
            log.error(
                "partition %d: Redis lost writes (%s, records %d..%d); reading them again",
                partition,
                lost,
                start,
                end - 1,
            )
            missing = await self.catch_up(partition, start, end, False)
            if not missing:
                self.report.reread(end - start)
                return
            self.states[partition] = copy  # gone from the topic: the copy is all there is
            self.tokens[partition] = token
        else:
            log.error("partition %d: Redis lost writes (%s)", partition, lost)
        await self._write_back(partition, "Redis lost writes")

    async def _write_back(self, partition: int, why: str) -> None:
        """Replace what Redis holds of the partition with our copy (counters, windows,
        live contacts, positions); the duplicate guard keeps what Redis still has."""
        state, token = self.states[partition], self.tokens[partition]
        log.error(
            "partition %d: %s; writing this worker's copy back (%d queues)",
            partition,
            why,
            len(state.channel_queues()),
        )
        wid = new_write_id()
        outcome = await self._redis(
            f"partition {partition}",
            lambda: self.store.replace(partition, token, state.as_seed(), wid),
        )
        if outcome.status == "ok":
            self.tokens[partition] = token.after(wid)
            state.written_back()
        else:
            log.error("partition %d: writing our copy back refused (%s)", partition, outcome.status)

    async def close(self) -> None:
        tasks = list(self._loading.values())
        self.revoke(list(self._ready))
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
