"""Where a worker's time per event goes: each step of ccmon's per-event path measured in
isolation (in the harness process, on a sample of the preload), to set beside the worker's
CPU per event in the drain. The remainder is Faust and aiokafka: consuming the source
topics record by record (the repartition hop carries batches), stream and event objects,
acknowledgements, commits, sensors and scheduling."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from redis.asyncio import Redis

from bench.events import TOPICS, Record
from bench.kafka import producer
from bench.services import Services
from ccmon.agents.domain.contacts import apply_contact
from ccmon.agents.domain.effects import Effects
from ccmon.agents.domain.partition import Writes, guard_key
from ccmon.agents.domain.state import PartitionState
from ccmon.agents.domain.surveys import apply_survey
from ccmon.agents.domain.tickets import apply_ticket
from ccmon.agents.partitions.statestore import StateStore, Token, new_write_id
from ccmon.agents.worker.runtime import Runtime
from ccmon.streams.config import QueueConfig
from ccmon.streams.contract.events import Event, validate
from ccmon.streams.settings import Settings
from tests.support.kafka_io import ensure_topics

Log = Callable[[str], None]
CHANNEL_OF = {topic: channel for channel, topic in TOPICS.items()}


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


def measure_repartition_codec(events: Sequence[Event], batch: int) -> float:
    """A batch's events to one repartition record and back (what both hops pay)."""
    dicts = [ev.to_dict() for ev in events]
    began = time.perf_counter()
    for start in range(0, len(dicts), batch):
        for d in orjson.loads(orjson.dumps(dicts[start : start + batch])):
            Event.from_dict(d)
    return _per_event(time.perf_counter() - began, len(events))


def _effects(events: Sequence[Event], batch: int) -> tuple[list[Writes], PartitionState, float]:
    """Domain logic on one partition's state, batch by batch, merged as the owner does."""
    runtime = Runtime(Settings())
    config = QueueConfig()
    state = PartitionState(0)
    now = max(ev.occurred_at for ev in events)
    out: list[Writes] = []
    began = time.perf_counter()
    for start in range(0, len(events), batch):
        fx = Effects(state, runtime.state_limits)
        for ev in events[start : start + batch]:
            state.add_guard(fx.writes, guard_key("call", ev.event_id, ev.occurred_at), batch)
            policy = config.policy(ev.channel, ev.queue)
            if ev.type == "survey":
                apply_survey(ev, fx, policy, now)
            elif ev.channel == "ticket":
                apply_ticket(ev, fx, policy, now)
            else:
                apply_contact(ev, fx, policy, now)
        state.merge(fx.writes)
        out.append(fx.writes)
    return out, state, _per_event(time.perf_counter() - began, len(events))


async def measure_state_writes(url: str, batches: list[Writes], n: int) -> dict[str, float]:
    """The counting hop's two Redis round trips per batch, on a real server: the guard
    lookup (HMGET per guard hash) and the state script (guards + coalesced increments + live
    entries)."""
    redis = Redis.from_url(url)
    store = StateStore(
        redis, f"bench-costs-{time.time_ns()}", 600, {"m": 7200, "d": 86400, "p": 86400}
    )
    try:
        await store.take_ownership(0, 1)
        token = Token(1)
        lookup = apply = 0.0
        fields = 0
        guard_index: dict[int, tuple[int, int]] = {}  # the guard minutes written so far
        for writes in batches:
            began = time.perf_counter()
            await store.seen(0, writes.guards, guard_index)
            lookup += time.perf_counter() - began
            began = time.perf_counter()
            wid = new_write_id()
            outcome = await store.apply(0, token, writes, wid)
            apply += time.perf_counter() - began
            assert outcome.status == "ok", outcome
            token = token.after(wid)
            guard_index.update((m, (shards, 0)) for m, shards in writes.guard_shards.items())
            fields += sum(len(c) for per_cq in writes.incr.values() for c in per_cq.values())
        return {
            "lookup_us": _per_event(lookup, n),
            "apply_us": _per_event(apply, n),
            "fields_per_event": fields / n,
        }
    finally:
        await redis.aclose()


async def measure_produce(bootstrap: str, records: Sequence[Record]) -> float:
    """aiokafka ``send`` (batched, acks=all, waited for at the end) per record: the floor
    of one repartition or changelog write."""
    topic = "bench-costs-produce"
    await ensure_topics(bootstrap, [topic], 1)
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
    batch = Settings().batch_max_events
    batches, _, domain_us = _effects(events, batch)
    redis = await measure_state_writes(services.redis, batches, len(events))
    produce_us = await measure_produce(services.kafka, records)
    steps = {
        "validate (orjson + contract checks)": measure_validate(records),
        f"repartition batch encode + decode ({batch} events)": measure_repartition_codec(
            events, batch
        ),
        "domain logic -> coalesced effects, merged": domain_us,
        "Redis guard lookup (MGET per batch)": redis["lookup_us"],
        "Redis state script (per batch)": redis["apply_us"],
        "Kafka send of the source record (the producer's floor)": produce_us,
    }
    steps["sum"] = sum(steps.values())
    if worker_cpu_us:
        steps["worker CPU per event in the first drain"] = worker_cpu_us
    return {
        "per_event_us": steps,
        "redis_fields_per_event": redis["fields_per_event"],
        "produce_us": produce_us,
    }
