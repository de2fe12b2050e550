"""The counting agent and the expiry timer, registered on an app by
:func:`register_counting`.

A batch of repartition records is split by partition; for each, one Redis round trip looks
up the duplicate guard, the domain modules compute the batch's effect on the partition's
state, and one Lua script writes the guards and the coalesced changes atomically, fenced by
our ownership token (:mod:`ccmon.agents.partitions.statestore`). Only then are the records
acknowledged: what is committed is durable.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any, cast

import faust
import orjson
from faust import StreamT

from ccmon.agents.domain.contacts import apply_contact
from ccmon.agents.domain.effects import Effects
from ccmon.agents.domain.expiry import apply_tick
from ccmon.agents.domain.staffing import apply_agent, apply_staff, expire_agents
from ccmon.agents.domain.surveys import apply_survey
from ccmon.agents.domain.tickets import apply_ticket
from ccmon.agents.partitions.owner import Owner
from ccmon.agents.worker.runtime import Runtime
from ccmon.streams.contract.events import Event
from ccmon.streams.kafka.topics import Topics
from ccmon.streams.logs import log_context

log = logging.getLogger(__name__)

Record = dict[str, Any]


def _agent_events_in_time_order(records: list[Record]) -> None:
    """Sort a batch's agent events by event time, in the slots they hold (stable: equal times
    keep arrival order). One agent's events reach hop 1 through several source partitions
    when the producer keys them by contact, so arrival order is not their order; hop 1 then
    drops the older of two as late, which within a batch it need not."""
    slots = [i for i, r in enumerate(records) if r["channel"] == "agent"]
    if len(slots) > 1:
        ordered = sorted((records[i] for i in slots), key=lambda r: float(r["occurred_at"]))
        for i, record in zip(slots, ordered, strict=True):
            records[i] = record


class Counting:
    def __init__(self, runtime: Runtime, owner: Owner, topics: Topics | None = None) -> None:
        self.runtime = runtime
        self.owner = owner
        self.topics = topics

    async def batch(self, events: Sequence[Any]) -> None:
        """Count a batch of repartition records (Faust events), partition by partition."""
        by_partition: dict[int, list[Record]] = {}
        for event in events:
            by_partition.setdefault(event.message.partition, []).extend(orjson.loads(event.value))
        # A repartition record carries up to a whole ingest batch, so a batch of them can
        # hold tens of thousands of events: counted in steps of at most batch_max_events,
        # each its own Redis round trips, so the event loop (scrapes, heartbeats, the
        # metrics refresher) runs between steps instead of waiting a second or more.
        step = self.runtime.settings.batch_max_events
        for partition, records in by_partition.items():
            _agent_events_in_time_order(records)
            # What is logged meanwhile (the owner's loads and writes too) names the partition.
            with log_context(partition=partition):
                for i in range(0, len(records), step):
                    if not await self.partition(partition, records[i : i + step]):
                        break

    async def partition(self, partition: int, records: list[Record]) -> bool:
        """Count one step of a partition's events; False when the partition is not ours."""
        state = await self.owner.acquire(partition)
        if state is None:
            # Not ours (revoked, or fenced by a newer owner): its new owner reads these again;
            # our commit of them cannot land (our group generation is over).
            log.info(
                "partition %d is not ours: %d events left to its owner", partition, len(records)
            )
            return False
        async with self.owner.locks[partition]:
            ids = list(dict.fromkeys(str(r["event_id"]) for r in records))
            while True:
                seen = dict(zip(ids, await self.owner.seen(ids), strict=True))
                fx, duplicates, late = self.effects(state, records, seen)
                await self.send(fx.outbox)
                outcome = await self.owner.write(partition, fx.writes)
                if outcome.status != "conflict":
                    break
                log.info(
                    "partition %d: %d guards changed meanwhile; again",
                    partition,
                    len(outcome.conflicts),
                )
            if outcome.status != "ok":
                return False
            state.merge(fx.writes)
        pipeline = self.runtime.pipeline
        for channel, n in duplicates.items():
            pipeline.duplicates.labels(channel).inc(n)
        for channel, n in late.items():
            pipeline.late.labels(channel).inc(n)
        return True

    def effects(
        self, state: Any, records: list[Record], seen: dict[str, str | None]
    ) -> tuple[Effects, Counter[str], Counter[str]]:
        """The batch's effect: events already counted from the same source position are
        replays (a record read again: skipped silently), from another position duplicates."""
        runtime = self.runtime
        fx = Effects(state, runtime.state_limits)
        duplicates: Counter[str] = Counter()
        late: Counter[str] = Counter()
        first = dict(seen)
        for record in records:
            event_id, src = str(record["event_id"]), str(record["src"])
            prior = first.get(event_id)
            if prior is not None:
                if prior != src:
                    duplicates[str(record["channel"])] += 1
                continue
            first[event_id] = src
            fx.writes.guards.append((event_id, src))
            if record.get("x") == "staff":
                tz = runtime.policy(str(record["channel"]), str(record["queue"])).timezone
                apply_staff(record, fx, tz, runtime.clock.now())
                continue
            ev = Event.from_dict(record)
            runtime.clock.observe(ev.occurred_at)
            now = runtime.clock.now()
            if ev.channel == "agent":
                if apply_agent(ev, src, fx, runtime.settings.partitions):
                    late[ev.channel] += 1
                continue
            policy = runtime.policy(ev.channel, ev.queue)
            if ev.type == "survey":
                is_late = apply_survey(ev, fx, policy, now)
            elif ev.channel == "ticket":
                is_late = apply_ticket(ev, fx, policy, now)
            else:
                is_late = apply_contact(ev, fx, policy, now)
            if is_late:
                late[ev.channel] += 1
        return fx, duplicates, late

    async def send(self, outbox: dict[int, list[Record]]) -> None:
        """Staff records for other partitions, acknowledged by Kafka before the state that
        produced them is written: a crash in between computes them again from the same
        state, with the same ids and positions, and their partitions skip them as replays."""
        if not outbox:
            return
        if self.topics is None:
            raise RuntimeError("Counting needs the topics to send staff records")
        pending = [
            await self.topics.by_queue.send(value=orjson.dumps(records), partition=partition)
            for partition, records in sorted(outbox.items())
        ]
        await asyncio.gather(*pending)

    async def expire(self) -> None:
        limits = self.runtime.state_limits
        for partition in sorted(self.owner.owned()):
            state = self.owner.states.get(partition)
            if state is None:
                continue
            async with self.owner.locks[partition], log_context(partition=partition):
                fx = Effects(state, limits)
                now = self.runtime.clock.now()
                removed = apply_tick(fx, now, self.runtime.policy)
                silent = expire_agents(
                    fx, now, limits.agent_silence_seconds, self.runtime.settings.partitions
                )
                if silent:
                    removed["silent_agents"] = silent
                # Written even when empty: the write checks the fence, so a partition with
                # no traffic also learns within a tick that Redis lost its data, and writes
                # its copy back before a restart or a rebalance could lose it.
                await self.send(fx.outbox)
                if (await self.owner.write(partition, fx.writes)).status == "ok":
                    state.merge(fx.writes)
                    if removed:
                        log.info("partition %d expiry: %s", partition, removed)


def register_counting(app: faust.App, topics: Topics, runtime: Runtime, owner: Owner) -> Counting:
    counting = Counting(runtime, owner, topics)
    settings = runtime.settings
    by_queue = topics.by_queue.get_topic_name()

    @app.agent(topics.by_queue, name="ccmon.count")
    async def count(stream: StreamT[bytes]) -> None:
        batches = runtime.batches(stream)
        async for batch in batches:
            with runtime.pipeline.batches.labels("count").time():
                await counting.batch(batch)
                for event in batch:
                    await stream.ack(event)

    @app.timer(interval=settings.tick_interval_seconds, name="ccmon.expire")
    async def expire() -> None:
        await counting.expire()

    # Faust sends these at the end of its rebalance handlers: after a revocation has waited
    # for every batch in flight to be acknowledged, before an assignment resumes streams.
    async def on_revoked(sender: Any, *args: Any, **kwargs: Any) -> None:
        revoked: set[Any] = args[0]
        owner.revoke({tp.partition for tp in revoked if tp.topic == by_queue})

    async def on_assigned(sender: Any, *args: Any, **kwargs: Any) -> None:
        # Actives only: the state of standby partitions is never kept.
        actives = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == by_queue}
        owner.revoke(owner.assigned - actives)
        owner.assign(actives)

    cast(Any, app.on_partitions_revoked).connect(on_revoked)
    cast(Any, app.on_partitions_assigned).connect(on_assigned)

    return counting
