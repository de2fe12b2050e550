"""The counting side of the worker: tables, the counting agent, ticks, /metrics.

Importing this module registers everything with the Faust app (``streams.app.main`` does).
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from faust import StreamT
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agents import metrics, snapshot
from agents.contacts import apply_contact
from agents.expiry import apply_tick
from agents.ledger import Ledger, Tables
from agents.runtime import runtime
from agents.sensor import CcmonSensor
from agents.surveys import apply_survey
from agents.tickets import apply_ticket
from streams.app import app
from streams.clock import SharedStreamClock
from streams.dedupe import Verdict
from streams.events import Event
from streams.topics import by_queue, settings

log = logging.getLogger(__name__)


tables = Tables(
    buckets=app.Table("buckets", default=None, partitions=settings.partitions),
    totals=app.Table("totals", default=None, partitions=settings.partitions),
    live=app.Table("live", default=None, partitions=settings.partitions),
)

sensor = CcmonSensor(runtime.registry)
app.sensors.add(sensor)


def active_partitions() -> set[int]:
    """Partitions of the repartition topic (hence of the tables) this worker owns now."""
    return {
        tp.partition
        for tp in app.assignor.assigned_actives()
        if tp.topic == by_queue.get_topic_name()
    }


def consumed_topics() -> list[str]:
    return [*settings.topic_channels(), by_queue.get_topic_name()]


source = metrics.register(runtime, tables, active_partitions, app, sensor, consumed_topics)


def count_one(data: dict[str, Any], verdict: Verdict, partition: int, offset: int) -> None:
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


@app.agent(by_queue, name="ccmon.count")
async def count(stream: StreamT[bytes]) -> None:
    """One record at a time, one Redis round trip each. Batching with Faust's
    take_events() halved the guard's cost but lost partitions after a rebalance in our
    two-worker test (buffered events of revoked partitions), so correctness won."""
    async for event in stream.events():
        data = orjson.loads(event.value)
        position = (event.message.partition, event.message.offset)
        verdict = Verdict.NEW
        if "tick" not in data:
            verdict = await runtime.guard.check(data["event_id"], f"{position[0]}:{position[1]}")
        count_one(data, verdict, *position)


@app.timer(interval=settings.tick_interval_seconds)
async def tick() -> None:
    """Ticks travel through the repartition topic so expiry runs inside an event of the
    partition it cleans (see agents.expiry)."""
    payload = orjson.dumps({"tick": runtime.clock.now()})
    for partition in sorted(active_partitions()):
        await by_queue.send(key=None, value=payload, partition=partition)


@app.timer(interval=settings.snapshot_interval_seconds)
async def publish_snapshot() -> None:
    model = source.get()
    runtime.pipeline.readmodel_seconds.set(model.built_in_seconds)
    await snapshot.publish(
        runtime.redis, settings.redis_prefix, model, settings.snapshot_ttl_seconds
    )


shared_clock = SharedStreamClock(
    runtime.redis, f"{settings.redis_prefix}:stream-time", runtime.clock
)


@app.timer(interval=0.5)
async def sync_stream_clock() -> None:
    if settings.clock == "stream":
        await shared_clock.sync()


@app.page("/metrics")
async def metrics_page(self: View, request: Request) -> Response:
    # aiohttp refuses a charset in content_type=, so the full header goes in headers=.
    return self.bytes(
        generate_latest(runtime.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )


@app.page("/healthz")
async def health_page(self: View, request: Request) -> Response:
    return self.json({"status": "ok", "partitions": sorted(active_partitions())})
