"""Where a worker's time per event goes: each step of ccmon's per-event path measured in
isolation (in the harness process, on a sample of the preload), to set beside the
measured drain rate. The remainder is Faust and aiokafka: consuming two topics, stream
and event objects, acknowledgements, commits, sensors and scheduling."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from typing import Any

import orjson
from redis.asyncio import Redis

from bench.events import TOPICS, Record
from bench.kafka import create_topics, producer
from bench.services import Services
from ccmon.agents.contacts import apply_contact
from ccmon.agents.ledger import Ledger, Tables
from ccmon.agents.runtime import Runtime
from ccmon.agents.surveys import apply_survey
from ccmon.agents.tickets import apply_ticket
from ccmon.streams.config import QueueConfig
from ccmon.streams.events import Event, validate
from ccmon.streams.settings import Settings

Log = Callable[[str], None]
CHANNEL_OF = {topic: channel for channel, topic in TOPICS.items()}


class CountingTable(MutableMapping[str, Any]):
    """A dict that counts writes: each one is a changelog record in the worker."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.writes = 0

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.writes += 1
        self.data[key] = value

    def __delitem__(self, key: str) -> None:
        self.writes += 1
        del self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


def _per_event(seconds: float, n: int) -> float:
    return seconds / n * 1e6


def _events(records: Sequence[Record]) -> list[Event]:
    now = time.time()
    out = []
    for rec in records:
        ev = validate(rec.value, CHANNEL_OF[rec.topic], now)
        if isinstance(ev, Event):
            out.append(ev)
    return out


def measure_validate(records: Sequence[Record]) -> float:
    now = time.time()
    began = time.perf_counter()
    for rec in records:
        validate(rec.value, CHANNEL_OF[rec.topic], now)
    return _per_event(time.perf_counter() - began, len(records))


def measure_repartition_codec(events: Sequence[Event]) -> float:
    began = time.perf_counter()
    for ev in events:
        Event.from_dict(orjson.loads(orjson.dumps(ev.to_dict())))
    return _per_event(time.perf_counter() - began, len(events))


def measure_ledger(events: Sequence[Event]) -> tuple[float, float]:
    """Domain logic + ledger on counting dicts: (microseconds, table writes) per event."""
    runtime = Runtime(Settings())
    limits = runtime.ledger_limits
    config = QueueConfig()
    tables = Tables(CountingTable(), CountingTable(), CountingTable())
    now = max(ev.occurred_at for ev in events)
    began = time.perf_counter()
    for offset, ev in enumerate(events):
        led = Ledger(tables, limits, 0, offset)
        policy = config.policy(ev.channel, ev.queue)
        if ev.type == "survey":
            apply_survey(ev, led, policy, now)
        elif ev.channel == "ticket":
            apply_ticket(ev, led, policy, now)
        else:
            apply_contact(ev, led, policy, now)
    seconds = time.perf_counter() - began
    writes = sum(t.writes for t in (tables.buckets, tables.totals, tables.live))  # type: ignore[attr-defined]
    return _per_event(seconds, len(events)), writes / len(events)


async def measure_redis(url: str, events: Sequence[Event], batch: int) -> float:
    """The duplicate guard's SET NX GET EX, ``batch`` commands per pipelined round trip
    (1: one awaited round trip per event)."""
    redis = Redis.from_url(url)
    try:
        began = time.perf_counter()
        for start in range(0, len(events), batch):
            async with redis.pipeline(transaction=False) as pipe:
                for i, ev in enumerate(events[start : start + batch], start):
                    key = f"bench-costs-{batch}:seen:{ev.event_id}"
                    pipe.set(key, f"0:{i}", nx=True, get=True, ex=600)
                await pipe.execute()
        return _per_event(time.perf_counter() - began, len(events))
    finally:
        await redis.aclose()


async def measure_produce(bootstrap: str, records: Sequence[Record]) -> float:
    """aiokafka ``send`` (batched, acks=all, waited for at the end) per record: the floor
    of one repartition or changelog write."""
    topic = "bench-costs-produce"
    await create_topics(bootstrap, [topic], 1)
    prod = producer(bootstrap, linger_ms=5)
    await prod.start()
    try:
        began = time.perf_counter()
        for rec in records:
            await prod.send(topic, value=rec.value, key=rec.key)
        await prod.flush()
        return _per_event(time.perf_counter() - began, len(records))
    finally:
        await prod.stop()


async def run(
    services: Services, records: Sequence[Record], worker_cpu_us: float, log: Log
) -> dict[str, Any]:
    log(f"costs: measuring the per-event steps on {len(records):,} events")
    events = _events(records)
    ledger_us, writes = measure_ledger(events)
    produce_us = await measure_produce(services.kafka, records)
    steps = {
        "validate (orjson + contract checks)": measure_validate(records),
        "repartition record encode + decode": measure_repartition_codec(events),
        "Redis SET NX GET EX, one round trip per event": await measure_redis(
            services.redis, events, 1
        ),
        "Redis SET NX GET EX, pipelined 500 per round trip": await measure_redis(
            services.redis, events, 500
        ),
        "domain logic + ledger on plain dicts": ledger_us,
        f"Kafka sends: 1 repartition + {writes:.2f} changelog": produce_us * (1 + writes),
    }
    steps["sum (with the pipelined guard)"] = sum(
        v for k, v in steps.items() if "one round trip" not in k
    )
    if worker_cpu_us:
        steps["worker CPU per event in the first drain"] = worker_cpu_us
    return {"per_event_us": steps, "changelog_writes_per_event": writes, "produce_us": produce_us}
