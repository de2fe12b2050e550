"""Faust's aiokafka transport with four fixes: every assigned partition is positioned after
a rebalance, including those that have no committed offset yet; the producer waits
between failed metadata updates instead of spinning while the brokers are away; a
fetch waits at most FETCH_MAX_WAIT_MS for data, not 1.5 s; and a record whose delivery to
its stream cannot wait is delivered without Faust's four tasks per record
(:mod:`ccmon.streams.kafka.drain`).

Why (docs/architecture.md, "Rebalances"): when partitions are revoked, Faust drops the
records it has already fetched but not yet processed — the rest of the batch being
iterated, records of partitions it has paused, its stream buffers — and relies on
``seek_to_committed()`` in ``Consumer.perform_seek`` to fetch them again. aiokafka's
``seek_to_committed`` seeks only partitions whose committed offset is a positive number;
a partition that has never been committed (every partition in its first commit interval,
any quiet partition) keeps the fetch position reached before the rebalance. The dropped
records are never read, no gap is seen because Faust's read offset is unset, and the next
commit goes past them: events lost, or (when a commit already happened below the hole)
offsets that never advance again. Seeking such partitions to offset 0, their beginning,
which is what ``auto_offset_reset=earliest`` means for a group without offsets, re-reads
them; the duplicate guard makes the re-read exact.

The spin: while a record waits for a partition whose leader is unknown (every broker
stopped), aiokafka's sender asks for a metadata update and waits for it, and a failed
update answers at once (connection refused): measured during a broker outage with records
in flight, the worker used 85 % of a core and logged 5,000 lines a second
(aio-libs/aiokafka#496). Failed updates of the producer's and the consumer's clients now
answer after a back-off (0.1 s doubling to 1 s), which also bounds how late they see the
broker come back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import aiokafka
import aiokafka.errors as Errors
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError
from aiokafka.protocol.group import HeartbeatRequest
from faust.transport.drivers import TRANSPORTS
from faust.transport.drivers import aiokafka as driver
from faust.types import TP

from ccmon.streams.kafka.drain import InlineDelivery

SCHEME = "ccmon"


async def seek_to_committed_or_beginning(
    consumer: aiokafka.AIOKafkaConsumer, is_stream: Callable[[TP], bool] = lambda tp: True
) -> Mapping[TP, int]:
    """Seek every assigned partition to its committed offset, or, for the partitions
    ``is_stream`` selects, to its first offset when it has none (``None``, or 0: nothing
    was ever processed there).

    Table changelog partitions are never committed and are positioned by Faust's
    recovery: they must be left alone (read again from the start, they would overwrite
    newer table values with old ones). Returns what ``seek_to_committed`` returns
    (``None`` where nothing is committed), which Faust's ``perform_seek`` turns into its
    read and committed offsets."""
    committed: Mapping[TP, int] = await consumer.seek_to_committed()
    for tp, offset in committed.items():
        if (not offset or offset < 0) and is_stream(tp):
            # Offset 0 rather than seek_to_beginning(): no await between the two seeks, so
            # no fetch can slip in before Faust resumes its queues (a missing offset 0 is
            # out of range, and aiokafka then resets to the earliest one, the same thing).
            consumer.seek(tp, 0)
    return committed


# Faust hard-codes 1,500 ms. aiokafka keeps one fetch in flight per broker, and leaves out of
# it every partition that still has records buffered or is paused by flow control: under
# steady load a fetch can hold only idle partitions and wait out its maximum while fresh
# records of the busy ones wait behind it (freshness bench: p99 1.1-1.5 s, max 1.5 s). An
# idle worker sends ~10 empty fetches a second instead of ~1.
FETCH_MAX_WAIT_MS = 100


class ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_consumer(self, loop: asyncio.AbstractEventLoop) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_consumer(loop)
        consumer._client.__class__ = PatientClient  # its fetcher and coordinator spin alike
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # read when start() makes its fetcher
        return consumer

    async def seek_to_committed(self) -> Mapping[TP, int]:
        changelogs = self.app.tables.changelog_topics
        result: Mapping[TP, int] = await self.call_thread(
            seek_to_committed_or_beginning,
            self._ensure_consumer(),
            lambda tp: tp.topic not in changelogs,
        )
        return result

    async def committed_offset(self, tp: TP) -> int | None:
        offset: int | None = await self.call_thread(_committed, self._ensure_consumer(), tp)
        return offset

    async def generation_is_current(self, generation: int) -> bool | None:
        current: bool | None = await self.call_thread(
            _is_current, self._ensure_consumer(), generation
        )
        return current


async def _committed(consumer: aiokafka.AIOKafkaConsumer, tp: TP) -> int | None:
    offset = await consumer.committed(tp)
    return None if offset is None or offset < 0 else int(offset)


async def _is_current(consumer: aiokafka.AIOKafkaConsumer, generation: int) -> bool | None:
    """Ask the group coordinator, with a heartbeat of that generation and our member id,
    whether it is still the group's: True, False (a newer one exists, or we are not a
    member any more), None (Kafka cannot say now: unreachable, or rebalancing)."""
    coordinator = consumer._coordinator
    request = HeartbeatRequest(coordinator.group_id, generation, coordinator.member_id)
    try:
        response = await coordinator._send_req(request)
    except KafkaError:
        return None
    error = Errors.for_code(response.error_code)
    if error is Errors.NoError:
        return True
    if error in (Errors.IllegalGenerationError, Errors.UnknownMemberIdError):
        return False
    return None


class Consumer(InlineDelivery, driver.Consumer):
    _thread: ConsumerThread

    def _new_consumer_thread(self) -> ConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def committed_offset(self, tp: TP) -> int | None:
        """The group's committed offset of ``tp`` as Kafka holds it now (None: never)."""
        return await self._thread.committed_offset(tp)

    async def generation_is_current(self, generation: int) -> bool | None:
        """Whether this member's assignment of ``generation`` is still the group's."""
        return await self._thread.generation_is_current(generation)


METADATA_BACKOFF_MAX_SECONDS = 1.0


class PatientClient(AIOKafkaClient):  # type: ignore[misc]
    """aiokafka's client, whose failed metadata updates answer only after a back-off."""

    _failed_updates = 0

    async def _metadata_update(self, cluster_metadata: Any, topics: Any) -> bool:
        updated = bool(await super()._metadata_update(cluster_metadata, topics))
        if updated:
            self._failed_updates = 0
        else:
            self._failed_updates = min(self._failed_updates + 1, 10)
            backoff = self._retry_backoff * 2 ** (self._failed_updates - 1)
            await asyncio.sleep(min(backoff, METADATA_BACKOFF_MAX_SECONDS))
        return updated


class PatientProducer(aiokafka.AIOKafkaProducer):  # type: ignore[misc]
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # The sender and the accumulator already hold this client: change its class only.
        self.client.__class__ = PatientClient


class Producer(driver.Producer):
    @property
    def _producer_type(self) -> type[aiokafka.AIOKafkaProducer]:
        return PatientProducer


class Transport(driver.Transport):
    Consumer: ClassVar[type[Consumer]] = Consumer
    Producer: ClassVar[type[Producer]] = Producer


def register() -> str:
    """Make ``ccmon://host:port`` broker URLs use this transport; returns the scheme."""
    TRANSPORTS.aliases[SCHEME] = f"{__name__}:Transport"
    return SCHEME
