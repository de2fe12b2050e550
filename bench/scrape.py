"""/metrics as Prometheus sees it: scrape time while the worker drains, size and series
per channel x queue pair once everything is counted.

Issue 11's bars are measured here: series per pair of the default budget, scrape p50 and
max *while the worker is also draining events*, and (with the drain of the same preload
without scraping, in bench.throughput) the drain rate lost to a scrape every second.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections import Counter
from typing import Any

from bench.worker import Worker, parse_metrics, queue_sums, total


class DrainScraper(threading.Thread):
    """Scrapes one worker every ``every`` seconds, as a Prometheus job would; a thread so
    that the bench's own event loop (polling Kafka and Redis) never delays a scrape."""

    def __init__(self, worker: Worker, every: float) -> None:
        super().__init__(daemon=True, name="drain-scraper")
        self.worker = worker
        self.every = every
        self.seconds: list[float] = []
        self.sizes: list[int] = []
        self.errors: list[str] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            began = time.perf_counter()
            try:
                text = self.worker.metrics_text(timeout=10)
            except OSError as exc:
                # Before the first answer the worker is still starting (Prometheus shows
                # the target down); after it, a failed scrape is a failure.
                if self.seconds:
                    self.errors.append(str(exc))
            else:
                self.seconds.append(time.perf_counter() - began)
                self.sizes.append(len(text.encode()))
            self.stop_event.wait(max(0.0, self.every - (time.perf_counter() - began)))

    def stop(self) -> dict[str, Any]:
        self.stop_event.set()
        self.join(timeout=15)
        if not self.seconds:
            return {"drain_scrapes": 0, "drain_scrape_errors": len(self.errors)}
        return {
            "drain_scrapes": len(self.seconds),
            "drain_scrape_errors": len(self.errors),
            "drain_scrape_p50_ms": statistics.median(self.seconds) * 1000,
            "drain_scrape_max_ms": max(self.seconds) * 1000,
            "drain_scrape_bytes_max": max(self.sizes),
            "drain_scrape_ms": [round(x * 1000, 1) for x in self.seconds],
        }


async def settled_costs(workers: list[Worker], rounds: int) -> dict[str, Any]:
    """Scrapes of worker 1 after the drain: size, series and series per populated pair."""
    times, sizes = [], []
    text = ""
    for _ in range(rounds):
        await asyncio.sleep(1.0)  # past the staleness bound: every scrape sees fresh views
        began = time.perf_counter()
        text = await asyncio.to_thread(workers[0].metrics_text)
        times.append(time.perf_counter() - began)
        sizes.append(len(text.encode()))
    samples = parse_metrics(text)
    families = Counter(name.removesuffix("_bucket") for name, _ in samples)
    pairs = len([v for v in queue_sums(samples).values() if v])
    per_pair = [
        key for key in samples if any(label == "queue" for label, _ in key[1])
    ]  # the series that grow with the pairs; the rest is the worker's own
    return {
        "series_by_name": dict(families.most_common(12)),
        "scrape_p50_ms": statistics.median(times) * 1000,
        "scrape_max_ms": max(times) * 1000,
        "scrape_bytes": statistics.median(sizes),
        "scrape_series": len(samples),
        "series_per_pair": len(per_pair) / max(pairs, 1),
        "readmodel_build_ms": total(samples, "ccmon_readmodel_build_seconds") * 1000,
        "channel_queues": pairs,
    }
