"""Reading a range of one partition of the repartition topic again, outside the group: what
an owner does when Redis lost writes that Kafka says were counted (docs/architecture.md,
"Idempotency"). The records are read by a consumer of its own (no group, nothing
committed), so Faust's positions, gap tracking and commits are left alone; the owner counts
them before the partition's next record reaches its stream.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

from ccmon.streams.kafka.connection import client_options
from ccmon.streams.settings import Settings

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 5.0


class PartitionReader:
    def __init__(self, settings: Settings, topic: str) -> None:
        self.settings = settings
        self.topic = topic

    async def first_offset(self, partition: int) -> int:
        """The earliest offset the topic still holds (retention deletes older ones)."""
        async with self._consumer() as consumer:
            tp = TopicPartition(self.topic, partition)
            return int((await consumer.beginning_offsets([tp]))[tp])

    async def read(
        self, partition: int, start: int, end: int
    ) -> AsyncIterator[list[tuple[int, bytes]]]:
        """``(offset, value)`` of the records ``[start, end)``, in offset order, in batches;
        a broker that goes away meanwhile is waited for."""
        delay = 0.1
        while start < end:
            try:
                async with self._consumer() as consumer:
                    tp = TopicPartition(self.topic, partition)
                    consumer.assign([tp])
                    consumer.seek(tp, start)  # no await in between: nothing else positions it
                    while start < end:
                        got = await consumer.getmany(tp, timeout_ms=1000, max_records=2000)
                        batch = [
                            (m.offset, m.value or b"")
                            for m in got.get(tp, [])
                            if start <= m.offset < end
                        ]
                        if batch:
                            start = batch[-1][0] + 1
                            delay = 0.1
                            yield batch
                        # Offsets need not be contiguous: past ``end`` is the end.
                        start = max(start, min(end, await consumer.position(tp)))
            except KafkaError as exc:
                log.warning(
                    "reading %s[%d] again from %d: Kafka unavailable (%s); retrying",
                    self.topic,
                    partition,
                    start,
                    exc,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_SECONDS)

    def _consumer(self) -> _Consumer:
        return _Consumer(self.settings)


class _Consumer:
    """An aiokafka consumer without a group, started and stopped around a use."""

    def __init__(self, settings: Settings) -> None:
        # "earliest": a fetch position reset (an offset retention removed) goes to the
        # oldest record kept, never to the end (DEVELOPERS.md, pitfall 12).
        self.consumer = AIOKafkaConsumer(
            **client_options(settings),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )

    async def __aenter__(self) -> AIOKafkaConsumer:
        await self.consumer.start()
        return self.consumer

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()
