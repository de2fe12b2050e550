"""Phase 2: freshness at a steady rate — the time from producing an event to seeing it
counted on /metrics, per event.

A fresh worker (own consumer group, own source topics, ``CCMON_CLOCK=wall``) gets ``rate``
events/s over ``queues`` queues x 3 channels. Each channel x queue is keyed to one source
partition, and ccmon re-keys by channel x queue, so a queue's events are counted in the
order they were produced: when a queue's counter (the sum of the per-type counters; each
event adds exactly one) first shows ``k`` at a poll, its ``k``-th event became visible
between the previous poll (lower bound) and that poll (upper bound, the one reported).

/metrics is polled from a thread every 50 ms, or less often when scrapes are slow, so
that serving the observer takes at most ``MAX_LOAD`` of the worker's time: a scrape runs
on the worker's only event loop and delays counting while it runs.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import psutil

from bench.events import CHANNELS, Generator, queue_names, rfc3339
from bench.kafka import send_steadily
from bench.load import ForeignLoad
from bench.report import percentile_ms
from bench.services import Services
from bench.stages import stage_latencies
from bench.worker import MB, RssSampler, Worker, parse_metrics, queue_sums, total
from tests.support.kafka_io import Outgoing, ensure_topics
from tests.support.topology import source_topics, topic_settings

Log = Callable[[str], None]
Polls = list[tuple[float, dict[tuple[str, str], float]]]
Produced = dict[tuple[str, str], list[float]]
POLL_SECONDS = 0.05
MAX_LOAD = 0.1
WARMUP_SECONDS = 3.0
SETTLE_SECONDS = 30.0  # after the last event: give up when the counts stop moving this long


@dataclass
class FreshConfig:
    """A steady rate for a while: the freshness phase's and the wall phase's."""

    rate: float
    seconds: float
    queues: int
    partitions: int
    tree: Path
    run_id: str
    workdir: Path


@dataclass
class Latencies:
    """Produce -> visible per event, what the freshness and the wall phases report."""

    rate: float
    seconds: float
    channel_queues: int
    achieved_rate: float = 0.0
    measured: int = 0
    unseen: int = 0
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    problems: list[str] = field(default_factory=list)


@dataclass
class FreshnessResult(Latencies):
    p50_lower_ms: float = 0.0  # same events, previous poll: the resolution of the method
    p99_lower_ms: float = 0.0
    p50_first_half_ms: float = 0.0  # growing from first to second half: rate above capacity
    p50_second_half_ms: float = 0.0
    scrape_p50_ms: float = 0.0
    poll_p50_ms: float = 0.0
    rss_mb: float = 0.0
    cpu_percent: float = 0.0
    foreign_cpu_percent: float = 0.0  # other processes on the machine (bench.load)
    commit_mean_ms: float = 0.0  # the worker's own ccmon_faust_commit_seconds
    commits: int = 0
    stages: dict[str, Any] = field(default_factory=dict)  # bench.stages, from Kafka


class Poller(threading.Thread):
    def __init__(self, worker: Worker) -> None:
        super().__init__(daemon=True)
        self.worker = worker
        self.polls: Polls = []
        self.scrape_seconds: list[float] = []
        self.errors = 0
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            began = time.perf_counter()
            try:
                sums = queue_sums(parse_metrics(self.worker.metrics_text(timeout=10)))
            except OSError:
                self.errors += 1
            else:
                done = time.perf_counter()
                self.scrape_seconds.append(done - began)
                self.polls.append((done, sums))
            recent = statistics.median(self.scrape_seconds[-5:] or [0.0])
            pause = max(POLL_SECONDS, recent / MAX_LOAD) - (time.perf_counter() - began)
            self.stop_event.wait(max(0.0, pause))

    def latest(self) -> dict[tuple[str, str], float]:
        return self.polls[-1][1] if self.polls else {}


def latencies(
    produced: Produced, polls: Polls, since: float
) -> tuple[list[tuple[float, float, float]], int]:
    """(produced at, upper, lower bound of produce -> visible) for events produced after
    ``since``, and the number of events never seen."""
    out: list[tuple[float, float, float]] = []
    unseen = 0
    for cq, times in produced.items():
        k = 0
        previous = 0.0
        for polled_at, sums in polls:
            count = min(int(sums.get(cq, 0)), len(times))
            for stamp in times[k:count]:
                if stamp >= since:
                    out.append((stamp, polled_at - stamp, max(0.0, previous - stamp)))
            k = max(k, count)
            previous = polled_at
        unseen += len(times) - k
    return out, unseen


async def _produce(
    bootstrap: str,
    topics: dict[str, str],
    events: list[tuple[str, dict[str, object]]],
    rate: float,
    log: Log,
) -> tuple[Produced, float, float]:
    """Each event stamped with its send time, as a live source would send it."""
    produced: Produced = {}
    last_log = time.perf_counter()

    def record(i: int) -> Outgoing:
        nonlocal last_log
        channel, event = events[i]
        event["occurred_at"] = rfc3339(time.time())
        queue = str(event["queue"])
        stamp = time.perf_counter()
        produced.setdefault((channel, queue), []).append(stamp)
        if stamp - last_log >= 5:
            last_log = stamp
            log(f"freshness {rate:.0f} ev/s: produced {i + 1:,}/{len(events):,}")
        return topics[channel], queue.encode(), orjson.dumps(event)

    began, ended = await send_steadily(bootstrap, len(events), rate, record)
    return produced, began, ended


def _summarise(result: FreshnessResult, produced: Produced, poller: Poller, since: float) -> None:
    rows, result.unseen = latencies(produced, poller.polls, since)
    result.measured = len(rows)
    if rows:
        upper, lower = [r[1] for r in rows], [r[2] for r in rows]
        result.p50_ms, result.p90_ms = percentile_ms(upper, 0.5), percentile_ms(upper, 0.9)
        result.p99_ms, result.max_ms = percentile_ms(upper, 0.99), max(upper) * 1000
        result.p50_lower_ms, result.p99_lower_ms = (
            percentile_ms(lower, 0.5),
            percentile_ms(lower, 0.99),
        )
        ordered = [r[1] for r in sorted(rows)]
        half = len(ordered) // 2
        result.p50_first_half_ms = percentile_ms(ordered[:half], 0.5)
        result.p50_second_half_ms = percentile_ms(ordered[half:], 0.5)
    if poller.scrape_seconds:
        result.scrape_p50_ms = statistics.median(poller.scrape_seconds) * 1000
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(poller.polls)]
    result.poll_p50_ms = statistics.median(gaps) * 1000 if gaps else 0.0
    final = poller.latest()
    wrong = [cq for cq, times in produced.items() if final.get(cq, 0) != len(times)]
    if wrong:
        result.problems.append(
            f"{len(wrong)} channel x queue counts stopped short for {SETTLE_SECONDS:.0f}s, "
            f"e.g. {wrong[0]}: {final.get(wrong[0], 0):g}, want {len(produced[wrong[0]])}"
        )
    if poller.errors:
        result.problems.append(f"{poller.errors} /metrics polls failed")


async def _settle(poller: Poller, produced: Produced, log: Log) -> None:
    """Wait for every event to show: as long as the counts keep moving (an overloaded
    worker works off its backlog), until they stand still for ``SETTLE_SECONDS``."""
    want = sum(len(t) for t in produced.values())
    seen, moved, last_log = -1.0, time.perf_counter(), time.perf_counter()
    while time.perf_counter() - moved < SETTLE_SECONDS:
        got = poller.latest()
        shown = sum(min(got.get(cq, 0), len(t)) for cq, t in produced.items())
        if shown >= want:
            return
        now = time.perf_counter()
        if shown != seen:
            seen, moved = shown, now
        if now - last_log >= 5:
            last_log = now
            log(f"freshness: {want - shown:,.0f} events not yet visible, waiting")
        await asyncio.sleep(0.1)


async def run(services: Services, cfg: FreshConfig, log: Log) -> FreshnessResult:
    queues = queue_names(cfg.queues, "f")
    result = FreshnessResult(cfg.rate, cfg.seconds, len(queues) * 3)
    tag = f"{cfg.run_id}-fresh{cfg.rate:.0f}"
    topics = source_topics(f"bench-{tag}", CHANNELS)
    await ensure_topics(services.kafka, topics.values(), 3)
    count = int(cfg.rate * cfg.seconds)
    # An hour of simulated lifecycles, replayed at ``rate`` with occurred_at = send time.
    timed = Generator(queues, f"{tag}-", seed=11).events(count, 0.0, 3600.0)
    env = {
        "CCMON_PARTITIONS": str(cfg.partitions),
        "CCMON_CLOCK": "wall",
        **topic_settings(topics, f"bench-{tag}.dead-letter"),
    }
    worker = Worker(services.kafka, services.redis, cfg.workdir, f"bench-{tag}", cfg.tree, env)
    log(f"freshness {cfg.rate:.0f} ev/s for {cfg.seconds:.0f}s: worker starting")
    worker.start()
    poller = Poller(worker)
    produced: Produced = {}
    try:
        worker.wait_ready()
        while not (worker.health() or {}).get("partitions"):
            worker.check_alive()
            await asyncio.sleep(0.2)
        proc = psutil.Process(worker.pid)
        poller.start()
        with RssSampler([worker.pid]) as sampler, ForeignLoad() as load:
            before = proc.cpu_times()
            wall_began = time.time()
            produced, began, ended = await _produce(
                services.kafka, topics, [(c, e) for _, c, e in timed], cfg.rate, log
            )
            after = proc.cpu_times()
            result.foreign_cpu_percent = load.sample()
            busy = after.user + after.system - before.user - before.system
            result.cpu_percent = 100 * busy / (ended - began)
            result.achieved_rate = count / (ended - began)
            await _settle(poller, produced, log)
            result.rss_mb = sampler.peak / MB
        samples = parse_metrics(await asyncio.to_thread(worker.metrics_text))
        result.commits = int(total(samples, "ccmon_faust_commit_seconds_count"))
        commit_seconds = total(samples, "ccmon_faust_commit_seconds_sum")
        result.commit_mean_ms = 1000 * commit_seconds / max(result.commits, 1)
    finally:
        poller.stop_event.set()
        poller.join(5)
        worker.stop()
    _summarise(result, produced, poller, began + WARMUP_SECONDS)
    result.stages = await stage_latencies(
        services.kafka,
        topics.values(),
        f"bench-{tag}-events-by-queue",
        wall_began + WARMUP_SECONDS,
    )
    log(
        f"freshness {cfg.rate:.0f} ev/s: p50 {result.p50_ms:,.0f} ms, p99 "
        f"{result.p99_ms:,.0f} ms (p50 first/second half {result.p50_first_half_ms:,.0f}/"
        f"{result.p50_second_half_ms:,.0f} ms), unseen {result.unseen}"
    )
    return result
