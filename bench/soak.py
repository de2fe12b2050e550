"""``python -m bench soak``: a week in an hour (issue 22, item 4).

Simulated days of traffic (:mod:`bench.week`) go through real Kafka and Redis to two
``ccmon worker`` processes on the stream clock, hour by simulated hour. Each simulated day,
at ``--restart-hour``, each worker in turn is stopped and started again while events keep
flowing (a rolling restart: the other one owns every partition meanwhile). Once a simulated
hour is counted (the state script's own count in Redis), the workers' resident memory and
Redis's ``used_memory`` are sampled. At the end:

- every per-queue counter of the whole run, summed over both workers' /metrics, equals the
  tally of what was produced (:func:`bench.verify.verify`), and every channel x queue's
  "today" window equals the tally of the last simulated day (:func:`bench.verify.verify_window`);
- flat memory: the mean worker RSS and Redis memory of the last day are within
  ``--flat-tolerance`` of the second day's (the first day fills the retention windows);
- a plot of both per simulated hour (:mod:`bench.soakplot`) and a JSON result.

Exit status: 0 exact and flat, 1 error, 2 a count or the memory check FAILed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from redis.asyncio import Redis

from bench import options, report, soakplot
from bench.events import TOPICS, queue_config, queue_names
from bench.kafka import preload
from bench.memory import inventory
from bench.options import log
from bench.restart import LOADED
from bench.services import ROOT, BenchError, Services, running_services
from bench.throughput import STALL_SECONDS, redis_cpu_seconds, scrape_all
from bench.verify import verify, verify_window, window_families
from bench.week import DAY, Hour, Week
from bench.worker import MB, Worker, counted_events
from tests.support.kafka_io import ensure_topics

SOURCE_PARTITIONS = 3
# Simulated hours produced ahead of the last one counted. Lateness is judged against the
# stream clock shared by every partition (the newest event time counted anywhere): a backlog
# deeper than the minute buckets' retention (2 h) would let one partition run that far ahead
# of another and turn the other's events late.
LEAD_HOURS = 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench soak",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
        epilog="Full size (docs/benchmarks.md, 'Soak'): --days 7 --events-per-day 2000000 "
        "--plot docs/soak.png. Exit status: 0 exact and flat, 1 error, 2 FAIL.",
    )
    add = parser.add_argument
    add("--days", type=int, default=7, help="simulated UTC days (default 7)")
    add("--events-per-day", type=int, default=2_000_000, help="about (default 2,000,000)")
    options.add_load(parser)
    add("--workers", type=int, default=2, help="workers (default 2)")
    add("--restart-hour", type=int, default=12, help="simulated hour of the rolling restart")
    add("--flat-tolerance", type=float, default=0.10, help="last day vs the baseline (0.10)")
    add(
        "--flat-from-day",
        type=int,
        default=2,
        help="the baseline day of the memory check (default 2; state kept N days grows for N)",
    )
    add("--plot", type=Path, help="PNG (default bench/results/soak-<time>.png)")
    options.add_output(parser, "soak")
    return parser


@dataclass
class Run:
    """What the soak measured, hour by hour; the JSON result is this, as a dict."""

    args: dict[str, Any]
    hours: list[dict[str, Any]] = field(default_factory=list)
    restarts: list[dict[str, Any]] = field(default_factory=list)
    state_loads_s: list[float] = field(default_factory=list)  # per partition taken, any worker
    # At the end of each simulated day: Redis's bytes by key class (bench.memory.inventory),
    # to tell what grows from what is bounded by its retention.
    days: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    flat: dict[str, Any] = field(default_factory=dict)
    events: int = 0
    resends: int = 0
    seconds: float = 0.0
    services: dict[str, str] = field(default_factory=dict)


def rss(workers: list[Worker]) -> list[int]:
    out = []
    for w in workers:
        try:
            out.append(psutil.Process(w.pid).memory_info().rss)
        except (psutil.Error, BenchError):
            out.append(0)
    return out


class Soak:
    def __init__(self, services: Services, args: argparse.Namespace, run: Run) -> None:
        self.services, self.args, self.run = services, args, run
        run_id = uuid.uuid4().hex[:6]
        self.app_id = f"soak-{run_id}"
        midnight = int(time.time() // DAY) * DAY  # the week ends at the last UTC midnight
        self.week = Week(
            queue_names(args.queues), f"s{run_id}", args.days, args.events_per_day,
            float(midnight), args.duplicates,
        )  # fmt: skip
        workdir = services.directory / "work"
        workdir.mkdir(parents=True, exist_ok=True)
        config = queue_config(workdir, args.queues)
        env = {
            "CCMON_PARTITIONS": str(args.partitions),
            "CCMON_CLOCK": "stream",
            "CCMON_SESSION_TIMEOUT_SECONDS": "10",
            **({"CCMON_QUEUE_CONFIG": str(config)} if config else {}),
        }
        self.workers = [
            Worker(services.kafka, services.redis, workdir, self.app_id, ROOT, dict(env), f"w{i}")
            for i in range(1, args.workers + 1)
        ]
        self.produced_through = -1  # the last simulated hour fully acknowledged by Kafka
        self.cumulative: list[int] = []  # distinct events produced through each hour
        self.wake = asyncio.Event()

    async def produce(self, counted_through: list[int]) -> None:
        """Hour after hour, at most LEAD_HOURS ahead of the last hour counted."""
        quiet = lambda message: None  # noqa: E731 (preload's per-2s lines: one per hour here)
        for index in range(self.week.hours()):
            while index > counted_through[0] + LEAD_HOURS:
                await self.wake.wait()
                self.wake.clear()
            hour: Hour = await asyncio.to_thread(self.week.hour, index)
            await preload(self.services.kafka, hour.records, quiet)
            before = self.cumulative[-1] if self.cumulative else 0
            self.cumulative.append(before + hour.events)
            self.produced_through = index

    async def rolling_restart(self, index: int) -> None:
        day = index // 24 + 1
        for w in self.workers:
            began = time.monotonic()
            await asyncio.to_thread(w.stop)
            stopped = time.monotonic() - began
            w.start()
            await asyncio.to_thread(w.wait_ready, 180.0, 1)
            seconds = time.monotonic() - began
            self.run.restarts.append(
                {
                    "day": day,
                    "hour": index,
                    "worker": w.name,
                    "stop_s": stopped,
                    "back_owning_s": seconds,
                    "redis_used_mb": self.run.hours[-1]["redis_used_mb"],
                }
            )
            log(f"day {day}: {w.name} restarted (stopped in {stopped:.1f}s, owns partitions "
                f"again {seconds:.1f}s after the stop began)")  # fmt: skip

    async def count(self, redis: Redis) -> None:
        counted_through = [-1]
        producer = asyncio.create_task(self.produce(counted_through))
        try:
            await self._follow(redis, counted_through, producer)
        finally:
            producer.cancel()
            with contextlib.suppress(asyncio.CancelledError, BenchError):
                await producer

    async def _follow(
        self, redis: Redis, counted_through: list[int], producer: asyncio.Task[None]
    ) -> None:
        args, hours = self.args, self.week.hours()
        last_move, seen, began = time.monotonic(), -1, time.monotonic()
        index = 0
        while index < hours:
            await asyncio.sleep(0.2)
            if producer.done():
                producer.result()  # raises what stopped the producer
            for w in self.workers:
                w.check_alive()
            done = await counted_events(redis, self.app_id, args.partitions)
            now = time.monotonic()
            if done != seen:
                seen, last_move = done, now
            elif now - last_move > STALL_SECONDS:
                raise BenchError(
                    f"no progress for {STALL_SECONDS:.0f}s:\n{self.workers[0].log_tail()}"
                )
            while index <= self.produced_through and done >= self.cumulative[index]:
                await self._sample(redis, index, done, now - began)
                counted_through[0] = index
                self.wake.set()
                if index % 24 == 23:
                    found = await inventory(redis, self.app_id)
                    self.run.days.append({"day": index // 24 + 1, **found})
                    log(f"day {index // 24 + 1} ends: Redis by key class, MB: " + ", ".join(
                        f"{k} {v['bytes'] / MB:,.1f}" for k, v in found["classes"].items()
                        if v["bytes"] >= MB
                    ))  # fmt: skip
                    last_move = time.monotonic()
                if index % 24 == args.restart_hour:
                    await self.rolling_restart(index)
                    last_move = time.monotonic()
                index += 1

    async def _sample(self, redis: Redis, index: int, done: int, elapsed: float) -> None:
        memory = await redis.info("memory")
        redis_cpu = await redis_cpu_seconds(redis)
        sizes = [round(s / MB, 1) for s in rss(self.workers)]
        sample: dict[str, Any] = {
            "hour": index,
            "counted": done,
            "elapsed_s": round(elapsed, 1),
            "rss_mb": sizes,
            "redis_used_mb": round(int(memory["used_memory"]) / MB, 1),
            "redis_rss_mb": round(int(memory["used_memory_rss"]) / MB, 1),
            "redis_cpu_s": round(redis_cpu, 2),
        }
        self.run.hours.append(sample)
        total_hours = self.week.hours()
        rate = done / max(elapsed, 1e-9)
        eta = (self.week.events_per_day * self.args.days - done) / max(rate, 1e-9)
        log(
            f"day {index // 24 + 1}/{self.args.days} hour {index % 24:02d} "
            f"({index + 1}/{total_hours}): counted {done:,} ({rate:,.0f} ev/s, ETA "
            f"{max(eta, 0) / 60:.0f} min); RSS {' + '.join(f'{m:,.0f}' for m in sizes)}"
            f" MB; Redis {sample['redis_used_mb']:,.0f} MB"
        )

    async def verify(self) -> list[str]:
        """Both workers' /metrics, summed, against the tallies. The workers publish what
        they counted at most a second later (the read model's refresh): as the drain does
        (bench.throughput), a few scrapes 2 s apart before a difference is a FAIL."""
        problems: list[str] = []
        for _ in range(5):
            samples = await scrape_all(self.workers)
            # Restarted workers: the per-process intake counters (received, duplicates) began
            # again at each start; the per-queue counters and windows are the state's.
            problems = verify(samples, self.week.total, windows=False, intake=False)
            problems += verify_window(samples, self.week.last_day)
            if not problems:
                break
            await asyncio.sleep(2)
        log(f"the last day's 'today' window checked for: {', '.join(window_families(samples))}")
        return problems

    async def main(self) -> None:
        run = self.run
        await ensure_topics(self.services.kafka, TOPICS.values(), SOURCE_PARTITIONS)
        log(
            f"{self.app_id}: {self.args.days} simulated days of ~{self.args.events_per_day:,} "
            f"events over {self.args.queues} queues x 3 channels, {len(self.workers)} workers, "
            f"{self.args.partitions} partitions; logs in {self.workers[0].workdir}"
        )
        for w in self.workers:
            w.start()
        for w in self.workers:
            await asyncio.to_thread(w.wait_ready, 180.0)
        redis = Redis.from_url(self.services.redis)
        try:
            began = time.monotonic()
            await self.count(redis)
            run.seconds = time.monotonic() - began
            run.events, run.resends = self.week.total.events, self.week.total.duplicates
            log(f"{run.events:,} events counted in {run.seconds / 60:.1f} min; verifying")
            run.problems = await self.verify()
        finally:
            await redis.aclose()
            for w in self.workers:
                w.stop()
                # Every start of the worker appends to one log: each partition it took over,
                # at a start or in a rebalance, logged the time its state took to load.
                text = w.log_path.read_text(errors="replace") if w.log_path.exists() else ""
                run.state_loads_s += [float(s) for _, s in LOADED.findall(text)]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not 1 <= args.flat_from_day < args.days:
        raise SystemExit("--flat-from-day must be a day before the last (--days)")
    if not 0 <= args.restart_hour < 24:
        raise SystemExit("--restart-hour must be 0..23")
    stamp = options.stamp()
    out = options.result_path(args.out, "soak", stamp)
    plot = options.result_path(args.plot, "soak", stamp, "png")
    run = Run(options.arguments(args))
    if importlib.util.find_spec("matplotlib") is None:
        # Said before the hour-long run, not after it: a venv synced without the extra
        # (make venv, make lint) lost the first full run's verdict (docs/benchmarks.md).
        log(
            "error: matplotlib is missing, the plot needs the bench extra: "
            "make bench BENCH_ARGS='soak ...', or uv sync --extra bench"
        )
        return 1
    status = 0
    try:
        with running_services(args.keep, log) as services:
            run.services = services.versions()
            asyncio.run(Soak(services, args, run).main())
    except KeyboardInterrupt:
        log("interrupted; services stopped")
        return 130
    except BenchError as exc:
        log(f"error: {exc}")
        run.problems.append(f"error: {str(exc).splitlines()[0]}")
        status = 1
    if run.hours:
        run.flat = soakplot.flatness(run.hours, args.flat_tolerance, args.flat_from_day)
    # The verdict first: whatever the plot does, an hour of soak is not lost.
    report.write(out, run.__dict__)
    print(soakplot.summary(run.__dict__))
    log(f"results written to {out}")
    if run.hours:
        soakplot.draw(run.hours, run.restarts, run.days, run.flat, plot)
        log(f"plot written to {plot}")
    if status == 0 and (run.problems or not run.flat.get("flat")):
        status = 2
    return status
