"""Source agents: decode and validate every event; bad input to the dead-letter topic with
its original bytes and a reason, good input re-keyed by channel x queue.

Nothing is dropped silently and nothing bad crashes the worker: validation never raises,
and a rejected event is acknowledged only after the dead-letter send.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import faust
import orjson
from faust import StreamT

from ccmon.agents.runtime import Runtime
from ccmon.streams.events import Event, Rejection, validate
from ccmon.streams.topics import Topics, repartition_key

log = logging.getLogger(__name__)


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
    """What one source record becomes: a dead-letter record or a repartition record."""

    def __init__(self, topics: Topics, runtime: Runtime) -> None:
        self.topics = topics
        self.runtime = runtime

    async def one(self, event: Any, topic: str, channel: str) -> None:
        raw = event.value if isinstance(event.value, bytes) else bytes(event.value or b"")
        result = validate(raw, channel, time.time(), self.runtime.limits)
        metrics = self.runtime.pipeline
        if isinstance(result, Rejection):
            await self.topics.dead_letter.send(
                key=event.key, value=raw, headers=dead_letter_headers(event, result)
            )
            metrics.rejected.labels(topic, result.reason).inc()
            return
        queue = await self.runtime.queue_cap.admit(result.queue)
        if queue != result.queue:
            metrics.overflow.labels(channel).inc()
            result = Event.from_dict({**result.to_dict(), "queue": queue})
        metrics.events.labels(topic, result.type).inc()
        metrics.last_event.labels(topic).set(time.time())
        await self.topics.by_queue.send(
            key=repartition_key(channel, queue), value=orjson.dumps(result.to_dict())
        )


def register_ingest(app: faust.App, topics: Topics, runtime: Runtime) -> None:
    """One agent per source topic, named ``ccmon.ingest.<channel>``."""
    ingest = Ingest(topics, runtime)
    for topic_name, channel in runtime.settings.topic_channels().items():

        async def agent(stream: StreamT[bytes], topic: str = topic_name, ch: str = channel) -> None:
            async for event in stream.events():
                await ingest.one(event, topic, ch)

        agent.__name__ = agent.__qualname__ = f"ingest_{channel}"
        app.agent(topics.sources[topic_name], name=f"ccmon.ingest.{channel}")(agent)
