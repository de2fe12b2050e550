"""The counting side of the worker: the state tables, the counting agent and the expiry
ticks, registered on an app by :func:`register_counting`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import faust
import orjson
from faust import StreamT

from ccmon.agents.contacts import apply_contact
from ccmon.agents.expiry import apply_tick
from ccmon.agents.ledger import Ledger, Tables
from ccmon.agents.runtime import Runtime
from ccmon.agents.surveys import apply_survey
from ccmon.agents.tickets import apply_ticket
from ccmon.streams.dedupe import Verdict
from ccmon.streams.events import Event
from ccmon.streams.topics import Topics

log = logging.getLogger(__name__)

TABLES = ("buckets", "totals", "live")


def declare_tables(app: faust.App, partitions: int) -> Tables:
    def table(name: str) -> Any:
        return app.Table(name, default=None, partitions=partitions)

    return Tables(buckets=table("buckets"), totals=table("totals"), live=table("live"))


def count_one(
    runtime: Runtime,
    tables: Tables,
    data: dict[str, Any],
    verdict: Verdict,
    partition: int,
    offset: int,
) -> None:
    led = Ledger(tables, runtime.ledger_limits, partition, offset)
    if "tick" in data:
        removed = apply_tick(led, runtime.clock.now(), runtime.policy)
        if any(removed.values()):
            log.info("partition %d expiry: %s", partition, removed)
        return
    ev = Event.from_dict(data)
    if verdict is Verdict.DUPLICATE:
        runtime.pipeline.duplicates.labels(ev.channel).inc()
        return
    runtime.clock.observe(ev.occurred_at)
    now = runtime.clock.now()
    policy = runtime.policy(ev.channel, ev.queue)
    if ev.type == "survey":
        late = apply_survey(ev, led, policy, now)
    elif ev.channel == "ticket":
        late = apply_ticket(ev, led, policy, now)
    else:
        late = apply_contact(ev, led, policy, now)
    if late:
        runtime.pipeline.late.labels(ev.channel).inc()


def register_counting(
    app: faust.App,
    topics: Topics,
    tables: Tables,
    runtime: Runtime,
    active_partitions: Callable[[], set[int]],
) -> None:
    by_queue = topics.by_queue

    @app.agent(by_queue, name="ccmon.count")
    async def count(stream: StreamT[bytes]) -> None:
        """One record at a time, one Redis round trip each."""
        async for event in stream.events():
            data = orjson.loads(event.value)
            position = (event.message.partition, event.message.offset)
            verdict = Verdict.NEW
            if "tick" not in data:
                verdict = await runtime.guard.check(
                    data["event_id"], f"{position[0]}:{position[1]}"
                )
            count_one(runtime, tables, data, verdict, *position)

    @app.timer(interval=runtime.settings.tick_interval_seconds, name="ccmon.tick")
    async def tick() -> None:
        """Ticks travel through the repartition topic so expiry runs inside an event of the
        partition it cleans (see ccmon.agents.expiry)."""
        payload = orjson.dumps({"tick": runtime.clock.now()})
        for partition in sorted(active_partitions()):
            await by_queue.send(key=None, value=payload, partition=partition)
