"""Ingest, one task per source topic: decode and validate every event; bad input to the
dead-letter topic with its original bytes and a reason, good input re-keyed by channel x
queue. The records come in batches from the topic's intake (ccmon.streams.kafka.intake).

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
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import faust

from ccmon.agents.domain.partition import partition_for
from ccmon.agents.partitions.statestore import REDIS_ERRORS
from ccmon.agents.worker.runtime import Runtime
from ccmon.agents.worker.sending import MAX_BACKOFF_SECONDS, RepartitionSender, Send
from ccmon.streams.contract.events import AGENT_CHANNEL, Event, Rejection, validate
from ccmon.streams.kafka.intake import Intake
from ccmon.streams.kafka.topics import Topics

log = logging.getLogger(__name__)


def dead_letter_headers(msg: Any, rejection: Rejection) -> list[tuple[str, bytes]]:
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
        self.sender = RepartitionSender(
            topics.by_queue, runtime.pipeline.send_retries.inc, "ingest"
        )

    async def batch(self, messages: Sequence[Any], topic: str, channel: str) -> None:
        """Count nothing, send everything: ``messages`` are the source records (Kafka
        messages: ``key``, ``value``, ``partition``, ``offset``)."""
        metrics = self.runtime.pipeline
        now = time.time()
        by_partition: dict[int, list[dict[str, Any]]] = {}
        rejected: list[tuple[Any, bytes, Rejection]] = []
        types: Counter[str] = Counter()
        overflow = 0
        for msg in messages:
            value = msg.value
            raw = value if isinstance(value, bytes) else bytes(value or b"")
            result = validate(raw, channel, now, self.runtime.limits)
            if isinstance(result, Rejection):
                rejected.append((msg, raw, result))
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
                if result.target_queue is not None:
                    # A flow-out's or transfer's target becomes a label too: the same cap.
                    admitted = await self._admit(result.target_queue)
                    if admitted != result.target_queue:
                        overflow += 1
                        result = Event.from_dict({**result.to_dict(), "target_queue": admitted})
                key = f"{channel}|{queue}"
            types[result.type] += 1
            record = result.to_dict()
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
        if len(rejected) < len(messages):
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
        """Send everything and wait for Kafka's acknowledgements (:mod:`ccmon.agents.worker.
        sending`: in order per partition, again on a Kafka error; a record the broker wrote
        before it failed to answer is read twice, and recognised by its source position;
        a dead-letter consumer dedupes by source position)."""
        limit = self.runtime.settings.dead_letter_max_bytes
        dead = self.topics.dead_letter

        def dead_letter(msg: Any, raw: bytes, rejection: Rejection) -> Send:
            key, value, cut = dead_letter_record(_bytes(msg.key), raw, limit)
            headers = dead_letter_headers(msg, rejection) + cut
            return lambda: dead.send(key=key, value=value, headers=headers)

        await self.sender.send(by_partition, [dead_letter(*r) for r in rejected])


def register_ingest(app: faust.App, topics: Topics, runtime: Runtime) -> None:
    """One task per source topic (``ingest_<channel>``), fed in batches by the topic's
    intake (ccmon.streams.kafka.intake), not by a Faust stream. A task that raises stops
    the worker, as an agent's crash did."""
    ingest = Ingest(topics, runtime)
    for topic_name, channel in runtime.settings.topic_channels().items():
        # Subscribed (and declared where configured) as an agent's topic would be.
        app.topics.add(topics.sources[topic_name])
        intake = Intake(app, topic_name, app.conf.stream_buffer_maxsize)
        app.task(_ingest_task(ingest, intake, topic_name, channel, runtime))


def _ingest_task(
    ingest: Ingest, intake: Intake, topic: str, channel: str, runtime: Runtime
) -> Callable[[], Awaitable[None]]:
    settings = runtime.settings
    timer = runtime.pipeline.batches.labels("ingest")

    async def run() -> None:
        while True:
            batch = await intake.take(settings.batch_max_events, settings.batch_max_wait_seconds)
            with timer.time():
                await ingest.batch(batch, topic, channel)
            intake.done(batch)

    run.__name__ = run.__qualname__ = f"ingest_{channel}"
    return run
