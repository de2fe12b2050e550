"""Phase ``restart``: how long a worker killed with SIGKILL takes, once restarted, to serve
correct /metrics again, with the state of a full retention window.

The state: events over the last 115 minutes of event time for every channel x queue, so
every 1-minute bucket the worker keeps (120 minutes) is populated, plus the day buckets,
totals and live contacts: what a worker holds after a day of traffic (older buckets are
expired). One worker counts them, is killed with SIGKILL, and a new one starts in its place
with the same app: the clock runs from its spawn until it owns every partition and its
/metrics equal the recount. Its log names the state load time of each partition.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from bench.events import TOPICS, build_dataset, queue_names
from bench.kafka import preload
from bench.services import BenchError, Services
from bench.verify import verify
from bench.worker import Worker, counted_events, parse_metrics
from tests.support.kafka_io import ensure_topics
from tests.support.topology import source_topics, topic_settings

Log = Any
SPAN_SECONDS = 115 * 60
SOURCE_PARTITIONS = 3
DEADLINE_SECONDS = 120.0
LOADED = re.compile(r"partition (\d+): state loaded in ([\d.]+)s")


@dataclass
class RestartConfig:
    events: int
    queues: int
    partitions: int
    run_id: str
    workdir: Path
    tree: Path
    queue_config: Path | None


async def _counted(redis: Redis, app_id: str, partitions: int) -> int:
    return await counted_events(redis, app_id, partitions)


async def run(services: Services, cfg: RestartConfig, log: Log) -> dict[str, Any]:
    topics = source_topics(f"bench-restart-{cfg.run_id}", TOPICS)
    data = build_dataset(
        cfg.events, queue_names(cfg.queues), f"r{cfg.run_id}", time.time() - 60, SPAN_SECONDS
    )
    channel_of = {t: c for c, t in TOPICS.items()}
    records = [replace(r, topic=topics[channel_of[r.topic]]) for r in data.records]
    expected = data.expected
    expected.by_topic_type = Counter(
        {(topics[channel_of[t]], kind): n for (t, kind), n in expected.by_topic_type.items()}
    )
    await ensure_topics(services.kafka, topics.values(), SOURCE_PARTITIONS)
    await preload(services.kafka, records, log)
    app_id = f"bench-restart-{cfg.run_id}"
    env = {
        "CCMON_PARTITIONS": str(cfg.partitions),
        "CCMON_CLOCK": "stream",
        **topic_settings(topics, None),
        "CCMON_SESSION_TIMEOUT_SECONDS": "10",
        **({"CCMON_QUEUE_CONFIG": str(cfg.queue_config)} if cfg.queue_config else {}),
    }

    def worker(name: str) -> Worker:
        return Worker(
            services.kafka, services.redis, cfg.workdir, app_id, cfg.tree, dict(env), name
        )

    redis = Redis.from_url(services.redis)
    first = worker("before-kill").start()
    try:
        deadline = time.monotonic() + 600
        while await _counted(redis, app_id, cfg.partitions) < cfg.events:
            first.check_alive()
            if time.monotonic() > deadline:
                raise BenchError(f"restart: the state was not built in 600s:\n{first.log_tail()}")
            await asyncio.sleep(0.5)
        memory = (await redis.info("memory"))["used_memory"]
        log(f"restart: state of {cfg.events:,} events built; killing the worker (SIGKILL)")
        first.proc.kill()
        spawned = time.monotonic()
        second = worker("after-kill").start()
        try:
            healthy = correct = 0.0
            problems: list[str] = ["not checked"]
            while time.monotonic() - spawned < DEADLINE_SECONDS:
                second.check_alive()
                health = second.health() or {}
                owned = len(health.get("partitions") or [])  # type: ignore[arg-type]
                if owned == cfg.partitions:
                    healthy = healthy or time.monotonic() - spawned
                    text = await asyncio.to_thread(second.metrics_text)
                    problems = verify(parse_metrics(text), expected, intake=False)
                    if not problems:
                        correct = time.monotonic() - spawned
                        break
                await asyncio.sleep(0.25)
            loads = {
                int(p): float(s)
                for p, s in LOADED.findall(second.log_path.read_text(errors="replace"))
            }
        finally:
            second.stop()
    finally:
        first.stop()
        await redis.aclose()
    result = {
        "events": cfg.events,
        "channel_queues": len(expected.by_queue),
        "redis_used_memory_mb": memory / 2**20,  # the whole server: every phase so far
        "owns_every_partition_after_seconds": healthy,
        "correct_metrics_after_seconds": correct,
        "state_load_seconds_by_partition": loads,
        "problems": [] if correct else problems[:5],
    }
    log(
        f"restart: all partitions after {healthy:.1f}s, correct /metrics after {correct:.1f}s "
        f"(state loads {max(loads.values(), default=0):.2f}s at most)"
    )
    return result
