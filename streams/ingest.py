"""Source agents: decode and validate every event; bad input to the dead-letter topic with
its original bytes and a reason, good input re-keyed by channel x queue.

Nothing is dropped silently and nothing bad crashes the worker: validation never raises,
and a rejected event is acknowledged only after the dead-letter send.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from faust import StreamT

from agents.runtime import runtime
from streams.app import app
from streams.events import Event, Rejection, validate
from streams.topics import by_queue, dead_letter, settings, sources

log = logging.getLogger(__name__)


def _dead_letter_headers(event: Any, rejection: Rejection) -> list[tuple[str, bytes]]:
    msg = event.message
    return [
        ("ccmon-reason", rejection.reason.encode()),
        ("ccmon-detail", rejection.detail.encode("utf-8", "replace")),
        ("ccmon-source-topic", msg.topic.encode()),
        ("ccmon-source-partition", str(msg.partition).encode()),
        ("ccmon-source-offset", str(msg.offset).encode()),
        ("ccmon-rejected-at", f"{time.time():.3f}".encode()),
    ]


async def ingest_one(event: Any, topic: str, channel: str) -> None:
    raw = event.value if isinstance(event.value, bytes) else bytes(event.value or b"")
    result = validate(raw, channel, time.time(), runtime.limits)
    metrics = runtime.pipeline
    if isinstance(result, Rejection):
        await dead_letter.send(
            key=event.key, value=raw, headers=_dead_letter_headers(event, result)
        )
        metrics.rejected.labels(topic, result.reason).inc()
        return
    queue = await runtime.queue_cap.admit(result.queue)
    if queue != result.queue:
        metrics.overflow.labels(channel).inc()
        result = Event.from_dict({**result.to_dict(), "queue": queue})
    metrics.events.labels(topic, result.type).inc()
    metrics.last_event.labels(topic).set(time.time())
    await by_queue.send(key=f"{channel}|{queue}".encode(), value=orjson.dumps(result.to_dict()))


def _make_agent(topic_name: str, channel: str) -> None:
    async def ingest(stream: StreamT[bytes]) -> None:
        async for event in stream.events():
            await ingest_one(event, topic_name, channel)

    ingest.__name__ = f"ingest_{channel}"
    ingest.__qualname__ = ingest.__name__
    app.agent(sources[topic_name], name=f"ccmon.ingest.{channel}")(ingest)


for _topic, _channel in settings.topic_channels().items():
    _make_agent(_topic, _channel)
