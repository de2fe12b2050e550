"""The root cause of the rebalance stall and loss, pinned on real Kafka.

Faust drops records it fetched but did not process when partitions are revoked, and asks
``seek_to_committed()`` to fetch them again. aiokafka does not move a partition that has no
committed offset, so the dropped records were skipped and the next commit went past them
(docs/architecture.md, "Rebalances"). ``streams.kafka.transport`` seeks such partitions to their
beginning instead."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from ccmon.streams.kafka.transport import seek_to_committed_or_beginning
from tests.support.kafka_io import create_topics
from tests.support.services import KafkaServer


async def _positions_after_reseek(bootstrap: str, topic: str) -> tuple[int, int, int]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for i in range(300):
            await producer.send(topic, f"{i}".encode(), partition=0)
        await producer.flush()
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"{topic}-group",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    tp = TopicPartition(topic, 0)
    try:
        fetched = 0
        while fetched < 100:  # handed to the application, never committed
            batch = await consumer.getmany(timeout_ms=2000, max_records=100 - fetched)
            fetched += sum(len(records) for records in batch.values())
        handed_out = await consumer.position(tp)
        await consumer.seek_to_committed()  # what Faust's perform_seek relies on
        after_plain = await consumer.position(tp)
        await seek_to_committed_or_beginning(consumer)
        after_fixed = await consumer.position(tp)
    finally:
        await consumer.stop()
    return handed_out, after_plain, after_fixed


def test_seek_to_committed_leaves_an_uncommitted_partition_where_fetching_stopped(
    kafka: KafkaServer, unique_name: str
) -> None:
    create_topics(kafka.bootstrap, [unique_name], partitions=1)
    handed_out, after_plain, after_fixed = asyncio.run(
        _positions_after_reseek(kafka.bootstrap, unique_name)
    )
    assert handed_out == 100
    # The library behaviour the loss came from: no committed offset, so no seek at all.
    assert after_plain == 100
    # The fix: such a partition is read again from its first record.
    assert after_fixed == 0
