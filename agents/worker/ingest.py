"""Source agents: decode and validate every event; bad input to the dead-letter topic with
its original bytes and a reason, good input re-keyed by channel x queue.

In batches: what a batch holds for one repartition partition travels as one record (a
list of events, each with ``src``, its source position), so the counting hop pays Kafka
and Faust once per partition and batch instead of once per event. A batch is acknowledged
only once every record it produced (dead-letter and repartition) is acknowledged by
Kafka: a crash before that reads the batch again, and the counting side recognises the
events it already counted by their ``src``. Nothing bad crashes the worker: validation
never raises.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Sequence
from typing import Any

import faust
import orjson
from aiokafka.errors import KafkaError
from faust import StreamT
from faust.exceptions import ProducerSendError

from ccmon.agents.domain.partition import partition_for
from ccmon.agents.partitions.statestore import REDIS_ERRORS
from ccmon.agents.worker.runtime import Runtime
from ccmon.streams.contract.events import AGENT_CHANNEL, Event, Rejection, validate
from ccmon.streams.kafka.topics import Topics

log = logging.getLogger(__name__)

# Repartition records stay well below Kafka's default 1 MB message limit, whatever the
# events hold (ids of 200 characters make an event about 1 kB).
MAX_EVENTS_PER_RECORD = 2000
MAX_RECORD_BYTES = 512 * 1024
MAX_BACKOFF_SECONDS = 5.0


def dead_letter_headers(event: Any, rejection: Rejection) -> list[tuple[str, bytes]]:
    msg = event.message
    return [
        ("ccmon-reason", rejection.reason.encode()),
        ("ccmon-detail", rejection.detail.encode("utf-8", "replace")),
        ("ccmon-source-topic", msg.topic.encode()),
        ("ccmon-source-partition", str(msg.partition).encode()),
        ("ccmon-source-offset", str(msg.offset).encode()),
        ("ccmon-rejected-at", f"{time.time():.3f}".encode()),
    ]


MAX_DEAD_LETTER_KEY_BYTES = 4096


def dead_letter_record(
    key: bytes | None, raw: bytes, limit: int
) -> tuple[bytes | None, bytes, list[tuple[str, bytes]]]:
    """Key and value as they came, cut when longer than Kafka can take (``limit`` for the
    value, 4 kB for the key): a record that could never be sent would stop its partition
    for good. A cut says so in a header holding the original length."""
    cut: list[tuple[str, bytes]] = []
    if key is not None and len(key) > MAX_DEAD_LETTER_KEY_BYTES:
        cut.append(("ccmon-key-truncated-from", str(len(key)).encode()))
        key = key[:MAX_DEAD_LETTER_KEY_BYTES]
    if len(raw) > limit:
        cut.append(("ccmon-truncated-from", str(len(raw)).encode()))
        raw = raw[:limit]
    return key, raw, cut


def repartition_values(records: list[dict[str, Any]]) -> list[bytes]:
    """JSON lists of at most MAX_EVENTS_PER_RECORD events and about MAX_RECORD_BYTES."""
    values: list[bytes] = []
    chunk: list[bytes] = []
    size = 0
    for record in records:
        encoded = orjson.dumps(record)
        if chunk and (
            len(chunk) == MAX_EVENTS_PER_RECORD or size + len(encoded) > MAX_RECORD_BYTES
        ):
            values.append(b"[" + b",".join(chunk) + b"]")
            chunk, size = [], 0
        chunk.append(encoded)
        size += len(encoded) + 1
    if chunk:
        values.append(b"[" + b",".join(chunk) + b"]")
    return values


def _bytes(key: Any) -> bytes | None:
    if key is None or isinstance(key, bytes):
        return key
    return key.encode() if isinstance(key, str) else bytes(key)


class Ingest:
    """What a batch of source records becomes: dead-letter records and repartition
    records, sent and acknowledged by Kafka before the batch is."""

    def __init__(self, topics: Topics, runtime: Runtime) -> None:
        self.topics = topics
        self.runtime = runtime
        self.partitions = runtime.settings.partitions

    async def batch(self, events: Sequence[Any], topic: str, channel: str) -> None:
        metrics = self.runtime.pipeline
        now = time.time()
        by_partition: dict[int, list[dict[str, Any]]] = {}
        rejected: list[tuple[Any, bytes, Rejection]] = []
        types: Counter[str] = Counter()
        overflow = 0
        for event in events:
            raw = event.value if isinstance(event.value, bytes) else bytes(event.value or b"")
            result = validate(raw, channel, now, self.runtime.limits)
            if isinstance(result, Rejection):
                rejected.append((event, raw, result))
                continue
            if result.channel == AGENT_CHANNEL:
                # An agent's events go to its agent's partition (ccmon.agents.domain.staffing):
                # they name an agent, not a queue; the queues it serves are capped here.
                if result.queues:
                    result, capped = await self._cap_skills(result)
                    overflow += capped
                key = f"{AGENT_CHANNEL}|{result.agent_id}"
            else:
                queue = await self._admit(result.queue)
                if queue != result.queue:
                    overflow += 1
                    result = Event.from_dict({**result.to_dict(), "queue": queue})
                key = f"{channel}|{queue}"
            types[result.type] += 1
            record = result.to_dict()
            msg = event.message
            record["src"] = f"{channel}:{msg.partition}:{msg.offset}"
            target = partition_for(key, self.partitions)
            by_partition.setdefault(target, []).append(record)
        await self._send(by_partition, rejected)
        # Counted per batch, not per event: a labelled counter costs microseconds a call.
        for kind, n in types.items():
            metrics.events.labels(topic, kind).inc(n)
        if overflow:
            metrics.overflow.labels(channel).inc(overflow)
        metrics.queues_tracked.set(self.runtime.queue_cap.tracked)
        for reason, n in Counter(r.reason for _, _, r in rejected).items():
            metrics.rejected.labels(topic, reason).inc(n)
        if len(rejected) < len(events):
            metrics.last_event.labels(topic).set(time.time())

    async def _admit(self, queue: str) -> str:
        """The queue cap's answer; while Redis is unreachable, wait and ask again (the
        batch waits: an event is never counted under a label the cap did not give)."""
        delay = 0.1
        while True:
            try:
                admitted = await self.runtime.queue_cap.admit(queue)
            except REDIS_ERRORS as exc:
                self.runtime.health.redis_status(False, str(exc))
                log.warning("ingest: Redis unavailable for the queue cap (%s); retrying", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_SECONDS)
                continue
            if delay > 0.1:
                self.runtime.health.redis_status(True)
            return admitted

    async def _cap_skills(self, ev: Event) -> tuple[Event, int]:
        """Skill queues pass the same label cap as contact queues (cached: no round trip
        once a name is known)."""
        pairs: set[str] = set()
        capped = 0
        for pair in ev.queues or ():
            channel, queue = pair.split("|", 1)
            admitted = await self._admit(queue)
            capped += admitted != queue
            pairs.add(f"{channel}|{admitted}")
        if not capped:
            return ev, 0
        return Event.from_dict({**ev.to_dict(), "queues": sorted(pairs)}), capped

    async def _send(
        self,
        by_partition: dict[int, list[dict[str, Any]]],
        rejected: list[tuple[Any, bytes, Rejection]],
    ) -> None:
        """Send everything, then wait for Kafka's acknowledgements; on a Kafka error send
        the whole set again (duplicates are harmless: the counting side drops them by
        ``src``, a dead-letter consumer by source position)."""
        delay = 0.1
        limit = self.runtime.settings.dead_letter_max_bytes
        values = {p: repartition_values(records) for p, records in sorted(by_partition.items())}
        while True:
            try:
                pending: list[Awaitable[Any]] = []
                for event, raw, rejection in rejected:
                    key, value, cut = dead_letter_record(_bytes(event.key), raw, limit)
                    headers = dead_letter_headers(event, rejection) + cut
                    pending.append(
                        await self.topics.dead_letter.send(key=key, value=value, headers=headers)
                    )
                for partition, chunks in values.items():
                    for chunk in chunks:
                        pending.append(
                            await self.topics.by_queue.send(value=chunk, partition=partition)
                        )
                # Every send settles before a resend, and every failure is retrieved: with
                # a plain gather the first one raised and the others were logged at garbage
                # collection as "exception was never retrieved", with a traceback each.
                results = await asyncio.gather(*pending, return_exceptions=True)
                failed = [r for r in results if isinstance(r, BaseException)]
                if not failed:
                    return
                raise failed[0]
            except (KafkaError, ProducerSendError) as exc:
                self.runtime.pipeline.send_retries.inc()
                log.warning("ingest: Kafka send failed (%s); sending the batch again", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_SECONDS)


def register_ingest(app: faust.App, topics: Topics, runtime: Runtime) -> None:
    """One agent per source topic, named ``ccmon.ingest.<channel>``."""
    ingest = Ingest(topics, runtime)
    settings = runtime.settings
    for topic_name, channel in settings.topic_channels().items():

        async def agent(stream: StreamT[bytes], topic: str = topic_name, ch: str = channel) -> None:
            batches = runtime.batches(stream)
            async for batch in batches:
                with runtime.pipeline.batches.labels("ingest").time():
                    await ingest.batch(batch, topic, ch)
                    for event in batch:
                        await stream.ack(event)

        agent.__name__ = agent.__qualname__ = f"ingest_{channel}"
        app.agent(topics.sources[topic_name], name=f"ccmon.ingest.{channel}")(agent)
