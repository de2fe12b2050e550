"""Kafka plumbing of the harness: topics, the bulk preload, and offsets read from outside
the worker (end offsets and a consumer group's committed offsets)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from bench.events import Record
from tests.support.kafka_io import Outgoing, send_paced

Log = Callable[[str], None]


def producer(bootstrap: str, linger_ms: int) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=linger_ms,
        max_batch_size=512 * 1024,
        enable_idempotence=True,
    )


async def send_steadily(
    bootstrap: str, count: int, rate: float, record: Callable[[int], Outgoing]
) -> tuple[float, float]:
    """``record(i)`` for i in 0..count-1 at ``rate`` a second (tests/support/kafka_io.py's
    paced sender), by a producer of its own that waits for no batch; (began, ended)."""
    prod = producer(bootstrap, linger_ms=0)
    await prod.start()
    try:
        _, began, ended = await send_paced(prod, count, rate, record)
        await prod.flush()
    finally:
        await prod.stop()
    return began, ended


async def preload(bootstrap: str, records: Sequence[Record], log: Log) -> float:
    """Produce every record and wait for all acknowledgements; returns the seconds taken."""
    prod = producer(bootstrap, linger_ms=20)
    await prod.start()
    began = time.monotonic()
    last_report = began
    try:
        pending = []
        for i, rec in enumerate(records, 1):
            pending.append(
                await prod.send(rec.topic, value=rec.value, key=rec.key, timestamp_ms=rec.ts_ms)
            )
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
                now = time.monotonic()
                if now - last_report >= 2:
                    last_report = now
                    rate = i / (now - began)
                    log(f"produced {i:,}/{len(records):,} ({rate:,.0f} ev/s)")
        await asyncio.gather(*pending)
        await prod.flush()
    finally:
        await prod.stop()
    return time.monotonic() - began


class Offsets:
    """End offsets of topics and committed offsets of consumer groups, polled from outside
    the process under test so that watching progress costs it nothing."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
        self.admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)

    async def __aenter__(self) -> Offsets:
        await self.consumer.start()
        await self.admin.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()
        await self.admin.close()

    async def partitions(self, topic: str) -> list[TopicPartition]:
        found = self.consumer.partitions_for_topic(topic)
        if not found:
            await self.consumer._client.force_metadata_update()
            found = self.consumer.partitions_for_topic(topic) or set()
        return [TopicPartition(topic, p) for p in sorted(found)]

    async def end(self, topics: Iterable[str]) -> int:
        """Sum of the end offsets (records ever written) of the topics that exist."""
        tps = [tp for topic in topics for tp in await self.partitions(topic)]
        if not tps:
            return 0
        ends = await self.consumer.end_offsets(tps)
        return int(sum(ends.values()))

    async def committed(self, group: str, topics: Iterable[str]) -> int:
        wanted = set(topics)
        try:
            offsets = await self.admin.list_consumer_group_offsets(group)
        except KafkaError:  # no coordinator yet: the group has not committed anything
            return 0
        return sum(meta.offset for tp, meta in offsets.items() if tp.topic in wanted)
