"""The counting agent and the expiry timer, registered on an app by
:func:`register_counting`.

A batch of repartition records is split by partition and counted in steps. For each step,
records read again are told by their source positions (the last position counted per
origin is part of the state), one Redis round trip looks up the duplicate guard of the new
ones, the domain modules compute their effect on the partition's state, and one Lua script
writes the guards, the positions and the coalesced changes atomically, with our token
(:mod:`ccmon.agents.partitions.statestore`). Only then are the records acknowledged: what is
committed is durable. A partition whose write is refused (a newer generation owns it) has
nothing acknowledged any more: its new owner reads it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import orjson

from ccmon.agents.domain import records as closed_records
from ccmon.agents.domain.contacts import apply_contact
from ccmon.agents.domain.effects import Effects
from ccmon.agents.domain.exits import OFFER, ROUTING
from ccmon.agents.domain.expiry import apply_tick, expiry_now
from ccmon.agents.domain.partition import (
    GuardKey,
    Progress,
    guard_key,
    origin_of,
    staff_position,
)
from ccmon.agents.domain.staffing import apply_agent, apply_staff, expire_agents
from ccmon.agents.domain.state import PartitionState
from ccmon.agents.domain.surveys import apply_survey
from ccmon.agents.domain.tickets import apply_ticket
from ccmon.agents.partitions.owner import Owner
from ccmon.agents.partitions.waiting import Stopping
from ccmon.agents.worker.closing import Closer
from ccmon.agents.worker.runtime import Runtime
from ccmon.agents.worker.sending import RepartitionSender
from ccmon.streams.contract.events import Event
from ccmon.streams.kafka.reread import PartitionReader
from ccmon.streams.logs import log_context

log = logging.getLogger(__name__)

Record = dict[str, Any]
# (offset of the repartition record, the rank the event is counted at in it, last of the
# record, the event)
Item = tuple[int, int, bool, Record]
REPLAY_LOG_SECONDS = 60.0


def units_of(offset: int, records: list[Record], size: int) -> list[list[Item]]:
    """A repartition record's events in log order, in units of at most ``size`` cut at
    fixed places (from the record's start), each event with the rank it is counted at.

    Agent events are counted by event time within their unit, in the slots they hold
    (stable: equal times keep arrival order): one agent's events reach hop 1 through several
    source partitions when the producer keys them by contact, so arrival order is not their
    order, and hop 1 would drop the older of two as late. Never across units: the order,
    hence every staff record hop 1 makes and its position, is then the same however the
    records are batched when they are read again (docs/architecture.md, "Agents and
    staffing"). Records read again are told in log order, where positions increase."""
    last = len(records) - 1
    units = []
    for start in range(0, len(records), size):
        unit = records[start : start + size]
        ranks = list(range(start, start + len(unit)))
        slots = [i for i, r in enumerate(unit) if r["channel"] == "agent"]
        if len(slots) > 1:
            ordered = sorted(slots, key=lambda i: float(unit[i]["occurred_at"]))
            for slot, i in zip(slots, ordered, strict=True):
                ranks[i] = start + slot
        units.append([(offset, ranks[i], start + i == last, r) for i, r in enumerate(unit)])
    return units


def steps_of(units: list[list[Item]], size: int) -> list[list[Item]]:
    """Whole units, grouped into steps of at most ``size`` events."""
    steps: list[list[Item]] = []
    for unit in units:
        if steps and len(steps[-1]) + len(unit) <= size:
            steps[-1].extend(unit)
        else:
            steps.append(list(unit))
    return steps


class Tally:
    """A step's pipeline counts, reported once the step is written."""

    def __init__(self) -> None:
        self.duplicates: Counter[str] = Counter()
        self.replayed: Counter[str] = Counter()
        self.late: Counter[str] = Counter()


def guard_of(record: Record) -> GuardKey:
    """The guard of an event, or of a staff record: its event time is ``e``, or ``g`` for
    one made by hop 1's timer (the same whenever the timer makes it again)."""
    when = record.get("occurred_at", record.get("g"))
    if when is None:
        when = record["e"]
    return guard_key(str(record["channel"]), str(record["event_id"]), float(when))


def split_replays(
    state: PartitionState, items: list[Item]
) -> tuple[list[Item], dict[str, int], Tally]:
    """The records not read again, the last position per origin among them, and the count
    of those read again: a record whose position is at or below the last one counted from
    its origin (a restart, a rebalance, a resend, an offset reset), however long ago."""
    tally = Tally()
    last: dict[str, int] = {}
    fresh: list[Item] = []
    for item in items:
        record = item[3]
        where = origin_of(record)
        if where is not None:
            origin, position = where
            if position <= last.get(origin, state.pos.get(origin, -1)):
                tally.replayed[str(record["channel"])] += 1
                continue
            last[origin] = position
        fresh.append(item)
    return fresh, last, tally


class Counting:
    def __init__(
        self,
        runtime: Runtime,
        owner: Owner,
        sender: RepartitionSender | None = None,
        reader: PartitionReader | None = None,
        closer: Closer | None = None,
    ) -> None:
        self.runtime = runtime
        self.owner = owner
        self.sender = sender
        self.reader = reader
        self.closer = closer
        self._replays_logged: dict[int, tuple[float, int]] = {}
        owner.catch_up = self.catch_up

    async def batch(self, events: Sequence[Any]) -> set[int]:
        """Count a batch of repartition records (Faust events), partition by partition;
        returns the partitions whose records must not be acknowledged (not ours)."""
        size = self.runtime.settings.batch_max_events
        by_partition: dict[int, list[list[Item]]] = {}
        for event in events:
            msg = event.message
            units = units_of(msg.offset, orjson.loads(event.value), size)
            by_partition.setdefault(msg.partition, []).extend(units)
        # A repartition record carries up to a whole ingest batch, so a batch of them can
        # hold tens of thousands of events: counted in steps of at most batch_max_events,
        # each its own Redis round trips, so the event loop (scrapes, heartbeats, the
        # metrics refresher) runs between steps instead of waiting a second or more.
        #
        # The partitions are counted side by side, each its steps in order: a step spends
        # most of its time waiting for Redis (the guard, then the write), and meanwhile
        # another partition's step computes. One after the other, the worker idled through
        # every round trip (docs/architecture.md, "Counting").
        tasks: dict[int, asyncio.Task[bool]] = {}
        for partition, units in by_partition.items():
            # What is logged meanwhile (the owner's loads and writes too) names the partition.
            with log_context(partition=partition):
                tasks[partition] = asyncio.ensure_future(self.steps(partition, units, lock=True))
        # Every partition runs to the end of its step even when another fails: a write
        # cancelled in flight may be applied with its reply lost, a recovery for nothing.
        outcomes = await asyncio.gather(*tasks.values(), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(outcome, Stopping):
                raise outcome
        # Stopping: the worker stops while Redis does not answer; the partition's records
        # are left to its next owner, like a refused partition's.
        return {p for p, ok in zip(tasks, outcomes, strict=True) if ok is not True}

    async def steps(self, partition: int, units: list[list[Item]], lock: bool) -> bool:
        for step in steps_of(units, self.runtime.settings.batch_max_events):
            if not await self.partition(partition, step, lock):
                return False
        return True

    async def partition(self, partition: int, items: list[Item], lock: bool = True) -> bool:
        """Count one step of a partition's events; False when the partition is not ours."""
        if lock:
            if await self.owner.acquire(partition) is None:
                # Not ours (revoked, or a newer generation owns it): its owner reads these
                # again; we do not acknowledge them.
                log.info("partition %d is not ours: %d events left", partition, len(items))
                return False
            async with self.owner.locks[partition]:
                return await self._step(partition, items)
        return await self._step(partition, items)

    async def _step(self, partition: int, items: list[Item]) -> bool:
        while True:
            state = self.owner.states.get(partition)
            if state is None:
                return False
            fresh, last, tally = split_replays(state, items)
            fresh.sort(key=lambda item: (item[0], item[1]))  # the order of units_of
            gids = [guard_of(r) for *_, r in fresh]
            guards = list(dict.fromkeys(gids))
            seen = dict(zip(guards, await self.owner.seen(partition, guards), strict=True))
            # Read again from the last record when the step ended inside it. The offset
            # counted last, not the largest: a topic deleted and created again starts at 0.
            offset, _, whole, _ = items[-1]
            rp = offset + 1 if whole else offset
            fx = self.effects(partition, state, fresh, seen, tally, last, rp, gids)
            await self.send(fx.outbox)
            outcome = await self.owner.write(partition, fx.writes)
            if outcome.status == "lost":
                await self.owner.recover(partition, outcome)
                continue  # on the state recovered, the step may count other events
            if outcome.status not in ("ok", "done"):
                return False
            state.merge(fx.writes)
            self._report(partition, tally)
            if fx.beyond_revision:
                self.runtime.pipeline.beyond_revision.inc(fx.beyond_revision)
            if self.closer is not None and fresh:
                self.closer.counted(partition, fx.source_times)
            return True

    def effects(
        self,
        partition: int,
        state: PartitionState,
        items: list[Item],
        seen: dict[GuardKey, str | None],
        tally: Tally,
        last: dict[str, int],
        rp: int,
        gids: list[GuardKey] | None = None,
    ) -> Effects:
        """The step's effect on ``state`` of the records not read again (``items``, from
        :func:`split_replays`); ``seen`` the guard's answers. An event whose guard holds
        another source position is a producer duplicate (another record with its channel and
        id): skipped and counted as one; the same position, a record read again. ``gids``:
        the items' guards, when the caller has them already."""
        runtime = self.runtime
        first = dict(seen)
        minutes = Counter(gid[1] for gid in seen)  # this step's events per guard bucket
        fx = Effects(state, runtime.state_limits)
        progress = state.progress
        newest, counted = progress.ev, 0
        routes = runtime.routes
        if gids is None:
            gids = [guard_of(record) for *_, record in items]
        for (offset, index, _, record), gid in zip(items, gids, strict=True):
            channel, src = str(record["channel"]), str(record["src"])
            prior = first.get(gid)
            if prior is not None:
                # The guard holds "" (counted), or the source of a record that has no
                # position (and ccmon 0.3's guard the first position of every event).
                (tally.replayed if prior == src else tally.duplicates)[channel] += 1
                continue
            first[gid] = src
            state.add_guard(fx.writes, gid, minutes[gid[1]])
            if origin_of(record) is None:
                fx.writes.guard_src[gid] = src  # known by its guard only when read again
            counted += 1
            if record.get("x") == "staff":
                p = runtime.policy(channel, str(record["queue"]))
                apply_staff(record, fx, p.timezone, runtime.clock.now(), p.max_concurrent)
                continue
            ev = Event.from_dict(record)
            if record.get("x") == OFFER:
                # A contact routed here by another queue: counted like an offer, but no
                # source's progress (ccmon.agents.domain.exits).
                now = runtime.clock.now()
                fx.src = src
                if apply_contact(ev, fx, runtime.policy(channel, ev.queue), now, routes):
                    tally.late[channel] += 1
                continue
            runtime.clock.observe(ev.occurred_at)
            if newest is None or ev.occurred_at > newest:
                newest = ev.occurred_at
            now = runtime.clock.now()
            if ev.channel == "agent":
                fx.origin, fx.position = f"@{partition}", staff_position(offset, index)
                if apply_agent(ev, src, fx, runtime.settings.partitions):
                    tally.late[ev.channel] += 1
                fx.origin = None
                continue
            policy = runtime.policy(ev.channel, ev.queue)
            fx.src = src  # the closed records' provenance
            source = src.rpartition(":")[0]
            if ev.occurred_at > fx.source_times.get(source, 0.0):
                fx.source_times[source] = ev.occurred_at
            if ev.type == "survey":
                is_late = apply_survey(ev, fx, policy, now)
            elif ev.channel == "ticket":
                is_late = apply_ticket(ev, fx, policy, now)
            elif ev.type in ROUTING:
                # It may offer the contact to another queue: a record with a position, like
                # the staff records (made again the same from the same state and event).
                fx.origin, fx.position = f"@{partition}", staff_position(offset, index)
                is_late = apply_contact(ev, fx, policy, now, routes)
                fx.origin = None
            else:
                is_late = apply_contact(ev, fx, policy, now, routes)
            if is_late:
                tally.late[ev.channel] += 1
        fx.src = None
        fx.writes.pos = last
        fx.writes.progress = Progress(
            rp=rp,
            ev=newest,
            # The wall time at which the newest event time was counted (expiry_now).
            evw=time.time() if newest != progress.ev else progress.evw,
            n=progress.n + counted,
            gone=progress.gone,
            rec=progress.rec,
        )
        return fx

    def _report(self, partition: int, tally: Tally) -> None:
        pipeline = self.runtime.pipeline
        for channel, n in tally.duplicates.items():
            pipeline.duplicates.labels(channel).inc(n)
        for channel, n in tally.late.items():
            pipeline.late.labels(channel).inc(n)
        if not tally.replayed:
            return
        for channel, n in tally.replayed.items():
            pipeline.replayed.labels(channel).inc(n)
        # Said once a minute per partition: a restart reads a few seconds again, an offset
        # reset or a lost group reads days again (docs/operations.md, "Redis").
        since, n = self._replays_logged.get(partition, (0.0, 0))
        n += sum(tally.replayed.values())
        if time.monotonic() - since < REPLAY_LOG_SECONDS:
            self._replays_logged[partition] = (since, n)
            return
        log.info(
            "partition %d: %d events read again, counted before (known by their source "
            "positions): not counted again",
            partition,
            n,
        )
        self._replays_logged[partition] = (time.monotonic(), 0)

    async def send(self, outbox: dict[int, list[Record]]) -> None:
        """Staff records for other partitions, acknowledged by Kafka before the state that
        produced them is written: a crash in between computes them again from the same
        state and the same records, with the same positions, and their partitions skip them
        as read again."""
        if not outbox:
            return
        if self.sender is None:
            raise RuntimeError("Counting needs a sender to send staff records")
        await self.sender.send(outbox)

    async def catch_up(self, partition: int, start: int, end: int, partial: bool) -> int:
        """Read the records ``[start, end)`` of the partition again and count them (the
        owner holds the partition: no lock taken). Returns how many the topic no longer
        holds; without ``partial``, when any is missing, nothing is counted."""
        if self.reader is None:
            return end - start
        first = await self.reader.first_offset(partition)
        missing = max(0, min(end, first) - start)
        if missing and not partial:
            return missing
        size = self.runtime.settings.batch_max_events
        async for records in self.reader.read(partition, max(start, first), end):
            units = [
                u for offset, value in records for u in units_of(offset, orjson.loads(value), size)
            ]
            if not await self.steps(partition, units, lock=False):
                break
        return missing

    def resume_clock(self) -> None:
        """Raise the stream clock to the latest event time each owned partition counted.

        The clock is the largest event time seen, but it lives in memory (and in Redis, a
        sync later): a worker killed after counting the stream's latest event and before the
        sync took that time with it, and the event, read again by the next owner, is skipped
        as counted before and raises nothing. Its partition's state kept that time
        (``progress.ev``, written with the counts), so the clock resumes from there; without
        it the periods that only that event's time closes never closed (an end-of-day mark,
        the last event before a quiet night)."""
        for state in self.owner.owned().values():
            if state.progress.ev is not None:
                self.runtime.clock.observe(state.progress.ev)

    async def expire(self) -> None:
        # A timer that raises stops the worker: Stopping means it is stopping already.
        with contextlib.suppress(Stopping):
            await self._expire()

    async def _expire(self) -> None:
        limits = self.runtime.state_limits
        stream = self.runtime.settings.clock == "stream"
        self.resume_clock()
        for partition in sorted(self.owner.owned()):
            if partition not in self.owner.states:
                continue
            async with self.owner.locks[partition], log_context(partition=partition):
                state = self.owner.states.get(partition)
                if state is None:
                    continue
                fx = Effects(state, limits)
                clock = self.runtime.clock.now()
                now = expiry_now(state, clock, stream)
                removed = apply_tick(fx, now, self.runtime.policy)
                silent = expire_agents(
                    fx, now, limits.agent_silence_seconds, self.runtime.settings.partitions
                )
                if silent:
                    removed["silent_agents"] = silent
                if self.closer is not None:
                    decided = self.closer.decide(fx, partition, clock, now)
                    if decided:
                        removed["records"] = decided
                # Written even when empty: the write checks the fence and the sequence, so a
                # partition with no traffic also learns within a tick that Redis lost writes
                # or its data, before a restart or a rebalance could lose our copy.
                await self.send(fx.outbox)
                outcome = await self.owner.write(partition, fx.writes)
                if outcome.status == "lost":
                    await self.owner.recover(partition, outcome)  # the next tick expires
                elif outcome.status in ("ok", "done"):
                    state.merge(fx.writes)
                    # Every marked record was looked at, and settled, in this very write.
                    state.records_dirty = False
                    if removed:
                        log.info("partition %d expiry: %s", partition, removed)
                    await self._send_records(partition, state)

    async def _send_records(self, partition: int, state: PartitionState) -> None:
        """Send the records decided (now, or before a crash) and mark them sent."""
        if self.closer is None:
            return
        fx = Effects(state, self.runtime.state_limits)
        done = await self.closer.send(fx)
        if not done:
            return
        closed_records.sent(fx, done)
        outcome = await self.owner.write(partition, fx.writes)
        if outcome.status in ("ok", "done"):
            state.merge(fx.writes)
        # Otherwise they stay pending: sent again at the next tick, the same bytes.
