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

from ccmon.agents.runtime import Runtime
from ccmon.streams.events import AGENT_CHANNEL, Event, Rejection, validate
from ccmon.streams.topics import Topics, partition_for

log = logging.getLogger(__name__)

# Repartition records stay well below Kafka's default 1 MB message limit.
MAX_EVENTS_PER_RECORD = 2000
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
                # An agent's events go to its agent's partition (ccmon.agents.staffing):
                # they name an agent, not a queue; the queues it serves are capped here.
                if result.queues:
                    result, capped = await self._cap_skills(result)
                    overflow += capped
                key = f"{AGENT_CHANNEL}|{result.agent_id}"
            else:
                queue = await self.runtime.queue_cap.admit(result.queue)
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
        for reason, n in Counter(r.reason for _, _, r in rejected).items():
            metrics.rejected.labels(topic, reason).inc(n)
        if len(rejected) < len(events):
            metrics.last_event.labels(topic).set(time.time())

    async def _cap_skills(self, ev: Event) -> tuple[Event, int]:
        """Skill queues pass the same label cap as contact queues (cached: no round trip
        once a name is known)."""
        pairs: set[str] = set()
        capped = 0
        for pair in ev.queues or ():
            channel, queue = pair.split("|", 1)
            admitted = await self.runtime.queue_cap.admit(queue)
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
        while True:
            try:
                pending: list[Awaitable[Any]] = []
                for event, raw, rejection in rejected:
                    pending.append(
                        await self.topics.dead_letter.send(
                            key=event.key, value=raw, headers=dead_letter_headers(event, rejection)
                        )
                    )
                for partition, records in sorted(by_partition.items()):
                    for i in range(0, len(records), MAX_EVENTS_PER_RECORD):
                        chunk = records[i : i + MAX_EVENTS_PER_RECORD]
                        pending.append(
                            await self.topics.by_queue.send(
                                value=orjson.dumps(chunk), partition=partition
                            )
                        )
                await asyncio.gather(*pending)
                return
            except (KafkaError, ProducerSendError) as exc:
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
