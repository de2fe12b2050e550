"""Phases 1 and 3: drain the preload with real ccmon workers, verify every count against
the tally of what was produced, then measure memory and /metrics at that state.

Progress is watched from outside, so watching costs the worker nothing (a /metrics scrape
at 1500 channel x queue is work on its event loop):
- started = the first repartition record (Kafka end offsets);
- ingested = the group's committed offsets of the source topics reached their end;
- counted = ``<prefix>:counted`` in Redis, which the state script raises by the events each
  batch counted, atomically with the counts themselves.
The drain ends when every event is counted (polled every 0.1 s).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from bench.events import TOPICS, Expected
from bench.kafka import Offsets
from bench.load import ForeignLoad
from bench.scrape import DrainScraper, settled_costs
from bench.services import BenchError, Services
from bench.verify import verify
from bench.worker import (
    MB,
    RssSampler,
    Samples,
    Worker,
    counted_events,
    cpu_seconds,
    parse_metrics,
    total,
)

Log = Callable[[str], None]
STALL_SECONDS = 180.0
STARTUP_SECONDS = 90.0
POLL_SECONDS = 0.1


@dataclass
class DrainConfig:
    partitions: int
    workers: int
    run_id: str
    workdir: Path
    tree: Path
    queue_config: Path | None
    scrape_rounds: int = 0  # timed /metrics scrapes after the drain (0: none)
    scrape_every: float = 0.0  # scrape worker 1 this often during the drain (0: never)
    variant: str = ""  # a name for ``env``, e.g. "no snapshot"
    env: dict[str, str] = field(default_factory=dict)
    profile: Path | None = None  # run the (first) worker under cProfile, stats to this file
    # Called once the counts are verified, before the workers stop: what Redis holds then
    # (bench.memory), into ``extra["inspect"]``.
    inspect: Callable[[], Awaitable[dict[str, Any]]] | None = None

    @property
    def app_id(self) -> str:
        tag = "".join(c for c in self.variant if c.isalnum())
        return f"bench-{self.run_id}-p{self.partitions}w{self.workers}{tag}"

    @property
    def label(self) -> str:
        plural = "s" if self.workers > 1 else ""
        extra = f", {self.variant}" if self.variant else ""
        return f"ccmon ({self.partitions} partitions, {self.workers} worker{plural}{extra})"


@dataclass
class DrainResult:
    system: str
    events: int
    seconds: float = 0.0
    rate: float = 0.0
    startup_seconds: float = 0.0
    rss_peak_mb: float = 0.0
    rss_steady_mb: float = 0.0
    verified: bool = False
    problems: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Timeline:
    started: float = 0.0  # first record in the repartition topic
    ingested: float = 0.0  # all events in the repartition topic
    first_write: float = 0.0  # first event counted
    ended: float = 0.0  # every event counted
    repartition_records: int = 0
    cpu_started: float = 0.0  # CPU seconds of the workers at ``started`` and at the end
    cpu_ended: float = 0.0
    redis_cpu_started: float = 0.0  # the Redis server's CPU seconds, the same two moments
    redis_cpu_ended: float = 0.0
    broker_cpu_started: float = 0.0  # the Kafka broker's (the whole JVM), the same two moments
    broker_cpu_ended: float = 0.0


async def redis_cpu_seconds(redis: Redis) -> float:
    """CPU time of the Redis server (``INFO cpu``: main thread and background, user and
    system): the server is single-threaded for commands, so this is its first limit."""
    cpu = await redis.info("cpu")
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


async def scrape_all(workers: list[Worker]) -> Samples:
    """Samples of all workers, summed: each exports only the queues it owns."""
    texts = await asyncio.gather(*(asyncio.to_thread(w.metrics_text) for w in workers))
    merged: Samples = {}
    for text in texts:
        for key, value in parse_metrics(text).items():
            merged[key] = merged.get(key, 0.0) + value
    return merged


async def _drain(
    workers: list[Worker],
    offsets: Offsets,
    counted: Callable[[], Awaitable[int]],
    redis: Redis,
    broker: list[int],
    app_id: str,
    sources: list[str],
    n: int,
    sampler: RssSampler,
    log: Log,
) -> Timeline:
    by_queue = f"{app_id}-events-by-queue"
    tl = Timeline()
    last_log = last_move = time.monotonic()
    seen = -1
    ingested = 0
    while True:
        await asyncio.sleep(POLL_SECONDS)
        for w in workers:
            w.check_alive()
        now = time.monotonic()
        records, done = await offsets.end([by_queue]), await counted()
        if records and not tl.started:
            tl.started, tl.cpu_started = now, cpu_seconds([w.pid for w in workers])
            tl.redis_cpu_started = await redis_cpu_seconds(redis)
            tl.broker_cpu_started = cpu_seconds(broker)
        if done and not tl.first_write:
            tl.first_write = now
        if not tl.ingested and tl.started:
            ingested = await offsets.committed(app_id, sources)
            if ingested >= n:
                tl.ingested = now
        if done != seen:
            seen, last_move = done, now
        elif now - last_move > STALL_SECONDS:
            raise BenchError(f"no progress for {STALL_SECONDS:.0f}s:\n{workers[0].log_tail()}")
        if not tl.started and now - workers[0].started_at > STARTUP_SECONDS:
            raise BenchError(
                f"nothing ingested {STARTUP_SECONDS:.0f}s after the start:\n{workers[0].log_tail()}"
            )
        if now - last_log >= 3 and tl.started:
            last_log = now
            log(
                f"{app_id}: counted {done:,}/{n:,} "
                f"({done / max(now - tl.started, POLL_SECONDS):,.0f} ev/s), "
                f"repartition records {records:,}, RSS {sampler.latest / MB:,.0f} MB"
            )
        if done >= n:
            tl.ended, tl.repartition_records = now, records
            tl.cpu_ended = cpu_seconds([w.pid for w in workers])
            tl.redis_cpu_ended = await redis_cpu_seconds(redis)
            tl.broker_cpu_ended = cpu_seconds(broker)
            if not tl.ingested:
                tl.ingested = now
            return tl


async def _final_samples(workers: list[Worker], expected: Expected) -> tuple[Samples, list[str]]:
    """The committed offsets say everything is counted; allow a little slack anyway."""
    problems: list[str] = []
    samples: Samples = {}
    for _ in range(3):
        samples = await scrape_all(workers)
        problems = verify(samples, expected)
        if not problems:
            break
        await asyncio.sleep(2)
    return samples, problems


async def _steady_rss(sampler: RssSampler) -> float:
    """Median RSS a few seconds after the drain (ticks and snapshots only by then)."""
    await asyncio.sleep(4)
    values = []
    for _ in range(5):
        values.append(sampler.sample())
        await asyncio.sleep(0.2)
    return statistics.median(values)


def _timings(result: DrainResult, tl: Timeline, spawned: float, n: int) -> None:
    result.seconds = tl.ended - tl.started
    result.rate = n / result.seconds if result.seconds > 0 else 0.0
    result.startup_seconds = tl.started - spawned
    result.extra.update(
        ingest_seconds=tl.ingested - tl.started,
        ingest_rate=n / max(tl.ingested - tl.started, 1e-9),
        counting_started_after_seconds=tl.first_write - tl.started,
        repartition_records=tl.repartition_records,
        events_per_repartition_record=n / max(tl.repartition_records, 1),
        cpu_ms_per_event=1000 * (tl.cpu_ended - tl.cpu_started) / n,
        cpu_percent=100 * (tl.cpu_ended - tl.cpu_started) / max(result.seconds, 1e-9),
        redis_cpu_ms_per_event=1000 * (tl.redis_cpu_ended - tl.redis_cpu_started) / n,
        broker_cpu_ms_per_event=1000 * (tl.broker_cpu_ended - tl.broker_cpu_started) / n,
    )


async def run_ccmon(
    services: Services, expected: Expected, cfg: DrainConfig, log: Log
) -> DrainResult:
    app_id = cfg.app_id
    env = {
        "CCMON_PARTITIONS": str(cfg.partitions),
        "CCMON_CLOCK": "stream",
        **({"CCMON_QUEUE_CONFIG": str(cfg.queue_config)} if cfg.queue_config else {}),
        **cfg.env,
    }
    workers = [
        Worker(services.kafka, services.redis, cfg.workdir, app_id, cfg.tree, dict(env), f"w{i}")
        for i in range(1, cfg.workers + 1)
    ]
    workers[0].profile = cfg.profile
    result = DrainResult(cfg.label, expected.events, extra={"variant": cfg.variant})
    log(f"{app_id}: starting {cfg.label}, log {workers[0].log_path}")
    try:
        for w in workers:
            w.start()
        spawned = time.monotonic()
        redis = Redis.from_url(services.redis)

        async def counted() -> int:
            return await counted_events(redis, app_id, cfg.partitions)

        async with Offsets(services.kafka) as offsets, redis:
            with RssSampler([w.pid for w in workers]) as sampler, ForeignLoad() as load:
                sources = list(TOPICS.values())
                scraper = DrainScraper(workers[0], cfg.scrape_every)
                if cfg.scrape_every:
                    scraper.start()
                try:
                    tl = await _drain(
                        workers,
                        offsets,
                        counted,
                        redis,
                        [pid for pid in (services.pid("kafka"),) if pid],
                        app_id,
                        sources,
                        expected.events,
                        sampler,
                        log,
                    )
                finally:
                    if cfg.scrape_every:
                        result.extra.update(scraper.stop())
                result.extra["foreign_cpu_percent"] = load.sample()
                _timings(result, tl, spawned, expected.events)
                result.rss_peak_mb = sampler.peak / MB
                log(f"{app_id}: drained in {result.seconds:.1f}s; verifying the counts")
                samples, result.problems = await _final_samples(workers, expected)
                result.verified = not result.problems
                result.rss_steady_mb = await _steady_rss(sampler) / MB
                if cfg.inspect is not None:
                    result.extra["inspect"] = await cfg.inspect()
                if cfg.scrape_rounds:
                    log(f"{app_id}: timing /metrics")
                    result.extra.update(await settled_costs(workers, cfg.scrape_rounds))
                result.rss_peak_mb = sampler.peak / MB  # scrapes are part of normal life
                result.extra["redelivered"] = total(samples, "ccmon_events_total") - expected.events
                result.extra["duplicates"] = total(samples, "ccmon_events_duplicate_total")
    except BenchError as exc:
        # One drain that stalls or crashes is a result (FAIL), not the end of the run.
        result.problems.append(str(exc).splitlines()[0] + f" (log: {workers[0].log_path})")
        log(f"{app_id}: {exc}")
    finally:
        for w in workers:
            w.stop()
    status = "PASS" if result.verified else "FAIL"
    log(f"{app_id}: {result.rate:,.0f} ev/s over {result.seconds:.1f}s, counts {status}")
    for problem in result.problems:
        log(f"  {problem}")
    return result
