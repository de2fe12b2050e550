"""Kafka for tests and the bench: topics, one paced sender, one read-to-end consumer.

- :func:`ensure_topics` / :func:`create_topics`: topics made (an existing one is kept);
- :func:`send_paced`: the one way records are sent at a steady rate (or at once);
  :func:`produce` and :class:`Producer` (through outages, retrying) are built on it, and
  so are the bench's freshness and wall phases;
- :func:`read_to_end`: every record of some topics, from their beginning to the end
  offsets seen when it starts, checked complete (the aiokafka seek race of DEVELOPERS.md,
  pitfall 12, is handled here and nowhere else); :func:`read_back` parses the source topics'
  events with it;
- :func:`consume_all`: a topic read from the start until a number of records arrived
  (records that are still on their way, such as the dead-letter topic's);
- :func:`uncommitted`: how much of some topics a consumer group would read again;
- :func:`delete_records`: a topic emptied as retention would have.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient, NewTopic, RecordsToDelete
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.structs import TopicPartition

Outgoing = tuple[str, bytes | None, bytes]  # (topic, key, value)
Item = tuple[str, dict[str, Any]]  # (channel, event body)
Read = dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]


async def ensure_topics(bootstrap: str, names: Iterable[str], partitions: int = 1) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        for name in names:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [NewTopic(name, num_partitions=partitions, replication_factor=1)]
                )
    finally:
        await admin.close()


def create_topics(bootstrap: str, names: Iterable[str], partitions: int = 1) -> None:
    asyncio.run(ensure_topics(bootstrap, names, partitions))


# ---------------------------------------------------------------- sending
async def send_paced(
    producer: AIOKafkaProducer,
    count: int,
    per_second: float | None,
    record: Callable[[int], Outgoing],
) -> tuple[list[asyncio.Future[Any]], float, float]:
    """Send ``record(i)`` for i in 0..count-1, the i-th no earlier than ``i / per_second``
    after the first (perf_counter), so that the rate holds however long a send takes; all
    at once without ``per_second``. ``record`` is called just before its send (the bench
    stamps its events then). Returns the delivery futures, when sending began and ended."""
    futures: list[asyncio.Future[Any]] = []
    began = time.perf_counter()
    for i in range(count):
        if per_second and (wait := began + i / per_second - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        topic, key, value = record(i)
        futures.append(await producer.send(topic, value=value, key=key))
    return futures, began, time.perf_counter()


def produce(bootstrap: str, records: Sequence[Outgoing]) -> None:
    """Send (topic, key, value) records in order and wait for every acknowledgement."""

    async def run() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
        await producer.start()
        try:
            futures, _, _ = await send_paced(producer, len(records), None, records.__getitem__)
            await asyncio.gather(*futures)
        finally:
            await producer.stop()

    asyncio.run(run())


class Producer:
    """Sends records through outages: connected first (a producer cannot bootstrap from a
    stopped broker), then in the background at ``per_second``; every send that fails is
    sent again, so a record may land twice (:func:`read_back` tells)."""

    def __init__(self, bootstrap: str, records: list[Outgoing], per_second: float | None = None):
        self.bootstrap, self.records, self.per_second = bootstrap, records, per_second
        self.retried = 0
        self.error: BaseException | None = None
        self._connected = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Producer:
        self._thread.start()
        if not self._connected.wait(60) or self.error is not None:
            raise AssertionError(f"producer did not connect: {self.error!r}")
        return self

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the producer never got every acknowledgement"
        assert self.error is None, self.error

    def send_all(self) -> None:
        self.start()
        self.join(300)

    def _run(self) -> None:
        try:
            asyncio.run(self._send())
        except BaseException as exc:
            self.error = exc
            self._connected.set()

    async def _send(self) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            acks="all",
            linger_ms=5,
            request_timeout_ms=120_000,
            max_request_size=4 * 1024 * 1024,
        )
        await producer.start()
        self._connected.set()
        try:
            pending = list(self.records)
            while pending:
                futures, _, _ = await send_paced(
                    producer, len(pending), self.per_second, pending.__getitem__
                )
                results = await asyncio.gather(*futures, return_exceptions=True)
                pending = [
                    r for r, res in zip(pending, results, strict=True) if isinstance(res, Exception)
                ]
                self.retried += len(pending)
        finally:
            await producer.stop()


# ---------------------------------------------------------------- reading
async def read_to_end(bootstrap: str, topics: Iterable[str], within: float = 60.0) -> Read:
    """Every record of ``topics``, partition by partition in offset order, from the
    beginning up to the end offsets seen at the start; fails unless every one of them was
    read within ``within`` seconds. A topic the broker does not know has no partition here."""
    # auto_offset_reset="earliest" as well as the seek: aiokafka resets a freshly assigned
    # partition with the default strategy (latest) in a task of its own, and when that
    # lookup answers after seek_to_beginning's, the position lands on the end offset and
    # nothing is read (seen once in ~10 runs of the Redis outage test; pitfall 12).
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        parts: list[TopicPartition] = []
        for t in topics:
            known = consumer.partitions_for_topic(t) or await _partitions(consumer, t)
            parts += [TopicPartition(t, p) for p in sorted(known)]
        if not parts:
            return {}
        consumer.assign(parts)
        ends = await consumer.end_offsets(parts)
        await consumer.seek_to_beginning(*parts)
        out: Read = {tp: [] for tp in parts}
        deadline = time.monotonic() + within
        while [tp for tp in parts if await consumer.position(tp) < ends[tp]]:
            if time.monotonic() > deadline:
                raise AssertionError(f"{sorted({tp.topic for tp in parts})} not read in time")
            batch = await consumer.getmany(timeout_ms=500)
            for tp, messages in batch.items():
                out[tp].extend(m for m in messages if m.offset < ends[tp])
        read = sum(len(v) for v in out.values())
        starts = await consumer.beginning_offsets(parts)
        expected = sum(ends[tp] - starts[tp] for tp in parts)
        assert read == expected, f"read {read} of the {expected} records in {ends}"
    finally:
        await consumer.stop()
    return out


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    await consumer._client.force_metadata_update()
    return set(consumer.partitions_for_topic(topic) or ())


def read_back(bootstrap: str, topics: dict[str, str], timeout: float = 60.0) -> list[Item]:
    """Every event of the source topics (channel -> topic), partition by partition in
    offset order (each contact lives on one partition, so its events keep their order);
    values that are no JSON object are left out (the worker dead-letters them)."""
    channel_of = {t: c for c, t in topics.items()}
    read = asyncio.run(read_to_end(bootstrap, topics.values(), timeout))
    assert {tp.topic for tp in read} == set(channel_of), f"{bootstrap} lacks some of {topics}"
    assert any(read.values()), f"nothing in {sorted(topics.values())}"
    return [
        (channel_of[tp.topic], body)
        for tp, records in read.items()
        for r in records
        if (body := _object(r.value or b""))
    ]


def _object(value: bytes) -> dict[str, Any] | None:
    try:
        body = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None


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
                for p in sorted(consumer.partitions_for_topic(t) or await _partitions(consumer, t))
            ]
            ends = await consumer.end_offsets(parts)
            starts = await consumer.beginning_offsets(parts)
            done = {tp: meta.offset for tp, meta in committed.items()}
            return sum(ends[tp] - max(done.get(tp, starts[tp]), starts[tp]) for tp in parts)
        finally:
            await consumer.stop()
            await admin.close()

    return asyncio.run(run())


def topic_config(bootstrap: str, topic: str) -> dict[str, str]:
    """A topic's configuration as the broker describes it: every key, defaults included."""

    async def run() -> dict[str, str]:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            resource = ConfigResource(ConfigResourceType.TOPIC, topic)
            (response,) = await admin.describe_configs([resource])
        finally:
            await admin.close()
        ((error, message, _, _, entries),) = response.resources
        assert error == 0, f"{topic}: {message}"
        return {str(entry[0]): str(entry[1]) for entry in entries}

    return asyncio.run(run())


def delete_records(bootstrap: str, topic: str) -> dict[int, int]:
    """Delete every record the topic holds now (Kafka's DeleteRecords, what retention does
    to old segments): partition -> the offset the topic now starts at."""

    async def run() -> dict[int, int]:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
        await admin.start()
        await consumer.start()
        try:
            parts = [TopicPartition(topic, p) for p in sorted(await _partitions(consumer, topic))]
            ends = await consumer.end_offsets(parts)
            await admin.delete_records({tp: RecordsToDelete(ends[tp]) for tp in parts})
            return {tp.partition: ends[tp] for tp in parts}
        finally:
            await consumer.stop()
            await admin.close()

    return asyncio.run(run())
