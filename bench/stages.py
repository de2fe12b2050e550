"""Per-stage latency of the freshness run, read back from Kafka after it (no cost to the
worker while it runs): every record carries the wall-clock time it was produced.

- ingest: source record -> the repartition record (a batch) that carried it (batching,
  validation, queue cap, send).
The counting hop leaves no Kafka record (its writes go to Redis): the freshness poller's
figure minus this stage is the counting hop, the read model's cache and the scrape.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from aiokafka import ConsumerRecord

from bench.report import percentile
from tests.support.kafka_io import read_to_end


async def read_topic(bootstrap: str, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of ``topic`` from the beginning to the end offsets seen at the start."""
    read = await read_to_end(bootstrap, [topic], within=600.0)
    return [r for records in read.values() for r in records]


def _summary(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50_ms": percentile(values, 0.5), "p99_ms": percentile(values, 0.99)}


async def stage_latencies(
    bootstrap: str, sources: Iterable[str], by_queue: str, since: float
) -> dict[str, Any]:
    """Stage latencies in ms for the events produced at or after ``since`` (epoch s)."""
    produced: dict[str, int] = {}
    for topic in sources:
        for rec in await read_topic(bootstrap, topic):
            if rec.timestamp >= since * 1000:
                produced[orjson.loads(rec.value)["event_id"]] = rec.timestamp
    ingest: list[float] = []
    for rec in await read_topic(bootstrap, by_queue):
        for event in orjson.loads(rec.value):
            at = produced.pop(event.get("event_id"), None)
            if at is not None:
                ingest.append(rec.timestamp - at)
    return {"ingest": _summary(ingest)}
