"""Small synchronous helpers around aiokafka for tests: create topics, produce, read back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import TopicPartition


def create_topics(bootstrap: str, names: Iterable[str], partitions: int = 1) -> None:
    async def run() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            await admin.create_topics(
                [NewTopic(n, num_partitions=partitions, replication_factor=1) for n in names]
            )
        finally:
            await admin.close()

    asyncio.run(run())


def produce(bootstrap: str, records: Sequence[tuple[str, bytes | None, bytes]]) -> None:
    """Send (topic, key, value) records in order and wait for every acknowledgement."""

    async def run() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
        await producer.start()
        try:
            futures = [await producer.send(t, value=v, key=k) for t, k, v in records]
            await asyncio.gather(*futures)
        finally:
            await producer.stop()

    asyncio.run(run())


@dataclass
class Record:
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]


def consume_all(bootstrap: str, topic: str, expected: int, timeout: float = 60.0) -> list[Record]:
    """Read a topic from the start until ``expected`` records arrived (or the timeout)."""

    async def run() -> list[Record]:
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            group_id=None,
        )
        await consumer.start()
        out: list[Record] = []
        deadline = time.monotonic() + timeout
        try:
            while len(out) < expected and time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=500)
                for messages in batch.values():
                    for m in messages:
                        out.append(Record(m.key, m.value or b"", dict(m.headers or ())))
        finally:
            await consumer.stop()
        return out

    return asyncio.run(run())


def uncommitted(bootstrap: str, group: str, topics: Iterable[str]) -> int:
    """Records of ``topics`` past the group's committed offsets (a partition never committed
    counts whole): 0 means that nothing will be read again by the group."""

    async def run() -> int:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
        await admin.start()
        await consumer.start()
        try:
            committed = await admin.list_consumer_group_offsets(group)
            parts = [
                TopicPartition(t, p)
                for t in topics
                for p in sorted(consumer.partitions_for_topic(t) or await _known(consumer, t))
            ]
            ends = await consumer.end_offsets(parts)
            starts = await consumer.beginning_offsets(parts)
            done = {tp: meta.offset for tp, meta in committed.items()}
            return sum(ends[tp] - max(done.get(tp, starts[tp]), starts[tp]) for tp in parts)
        finally:
            await consumer.stop()
            await admin.close()

    return asyncio.run(run())


async def _known(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    await consumer._client.force_metadata_update()
    return set(consumer.partitions_for_topic(topic) or ())
