"""Baseline (a), run as its own process by the harness: the simplest thing that could
work — one aiokafka consumer, ``orjson.loads`` per event, one prometheus_client Counter
per (channel, queue, type). No validation beyond JSON, no windows, no dedupe, no state
beyond process memory (a restart loses every count).

    python -m bench.naive BOOTSTRAP GROUP EXPECTED
Prints ``{"progress": n}`` lines while draining and one ``{"result": {...}}`` line at the end.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter as Tally

import orjson
import psutil
from aiokafka import AIOKafkaConsumer
from prometheus_client import CollectorRegistry, Counter, generate_latest

from bench.events import TOPICS

CHANNEL_OF = {topic: channel for channel, topic in TOPICS.items()}


def emit(obj: object) -> None:
    sys.stdout.write(orjson.dumps(obj).decode() + "\n")
    sys.stdout.flush()


async def drain(bootstrap: str, group: str, expected: int) -> dict[str, object]:
    spawned = time.monotonic()
    registry = CollectorRegistry()
    events = Counter(
        "naive_events",
        "Events by channel, queue, type.",
        ["channel", "queue", "type"],
        registry=registry,
    )
    consumer = AIOKafkaConsumer(
        *TOPICS.values(),
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=True,
        max_poll_records=2000,
    )
    await consumer.start()
    n = 0
    t0 = cpu0 = 0.0
    last = time.monotonic()
    by_topic_type: Tally[str] = Tally()
    try:
        while n < expected:
            batch = await consumer.getmany(timeout_ms=1000)
            if batch and not t0:
                t0, cpu0 = time.monotonic(), time.process_time()
            for tp, messages in batch.items():
                channel = CHANNEL_OF[tp.topic]
                for msg in messages:
                    ev = orjson.loads(msg.value)
                    events.labels(channel, ev["queue"], ev["type"]).inc()
                    by_topic_type[f"{tp.topic}|{ev['type']}"] += 1
                n += len(messages)
            if time.monotonic() - last >= 2:
                last = time.monotonic()
                emit({"progress": n})
        t1, cpu1 = time.monotonic(), time.process_time()
    finally:
        await consumer.stop()
    by_queue: Tally[str] = Tally()
    for metric in registry.collect():
        for s in metric.samples:
            if s.name == "naive_events_total":
                by_queue[f"{s.labels['channel']}|{s.labels['queue']}"] += int(s.value)
    began = time.perf_counter()
    size = len(generate_latest(registry))
    return {
        "events": n,
        "seconds": t1 - t0,
        "startup_seconds": t0 - spawned,
        "cpu_ms_per_event": 1000 * (cpu1 - cpu0) / max(n, 1),
        "cpu_percent": 100 * (cpu1 - cpu0) / max(t1 - t0, 1e-9),
        "rss_end": psutil.Process().memory_info().rss,
        "by_queue": by_queue,
        "by_topic_type": by_topic_type,
        "scrape_ms": (time.perf_counter() - began) * 1000,
        "scrape_bytes": size,
    }


def main() -> None:
    bootstrap, group, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
    emit({"result": asyncio.run(drain(bootstrap, group, expected))})


if __name__ == "__main__":
    main()
