"""Phase: wall — freshness from an event produced to its value on the wall page, as a
screen shows it: a fresh worker, ``ccmon wall`` and headless Chromium (Debian's, driven by
Playwright) on the page, ``rate`` events/s over ``queues`` queues x 3 channels.

The measured value is the one a supervisor reads: "offered today" of a call or chat tile
(one per ``offered`` event) and "in" of a ticket tile (one per ``created`` event); the
other event types flow through the same pipeline at the same rate, unmeasured. A
MutationObserver in the page stamps every change of those numbers with the page's clock
(``Date.now()``, the same machine clock the producer stamps with), so the method's
resolution is the browser's, not a poll interval. The k-th measured event of a tile became
visible at the first stamp showing at least k. Path: producer -> Kafka -> ingest ->
counting -> snapshot (every ``CCMON_SNAPSHOT_INTERVAL_SECONDS``) -> Redis + notice ->
wall server -> Server-Sent Event -> DOM.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench.events import CHANNELS, Generator, queue_names, rfc3339
from bench.freshness import FreshConfig, Latencies
from bench.kafka import send_steadily
from bench.report import percentile_ms
from bench.services import BenchError, Services
from bench.worker import Worker, cpu_seconds
from ccmon.agents.devkit.wallproc import WallError, WallProcess
from tests.support.kafka_io import Outgoing, ensure_topics
from tests.support.topology import source_topics, topic_settings

Log = Callable[[str], None]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]  # fmt: skip
MEASURED = {"offered": "offered_today", "created": "flow_today"}
WARMUP_SECONDS = 3.0
SETTLE_SECONDS = 20.0
# Installed in the page: stamps each change of a measured number, per tile.
OBSERVER = """() => {
  window.__marks = [];
  const last = new Map();
  const fields = '[data-field="offered_today"], [data-field="flow_today"]';
  const read = () => {
    const now = Date.now();
    for (const el of document.querySelectorAll(fields)) {
      const tile = el.closest('[data-tile]').dataset.tile;
      const text = el.firstChild ? el.firstChild.textContent : '';
      const n = parseInt(text.replace(/,/g, ''), 10);
      if (Number.isNaN(n) || last.get(tile) === n) continue;
      last.set(tile, n);
      window.__marks.push([now, tile, n]);
    }
  };
  const all = {subtree: true, childList: true, characterData: true};
  new MutationObserver(read).observe(document.body, all);
  read();
}"""


@dataclass
class WallResult(Latencies):
    dom_changes: int = 0
    wall_cpu_percent: float = 0.0
    chromium: str = ""


def latencies(
    produced: dict[str, list[float]], marks: list[tuple[float, str, int]], since: float
) -> tuple[list[float], int]:
    """Seconds from produce to shown, per measured event produced after ``since``, and the
    number never shown. ``marks`` are (epoch ms, tile, value) in page order."""
    by_tile: dict[str, list[tuple[float, int]]] = {}
    for stamp, tile, value in marks:
        by_tile.setdefault(tile, []).append((stamp / 1000, value))
    out: list[float] = []
    unseen = 0
    for tile, times in produced.items():
        shown = by_tile.get(tile, [])
        i = 0
        for k, stamp in enumerate(times, start=1):
            while i < len(shown) and shown[i][1] < k:
                i += 1
            if i == len(shown):
                unseen += len(times) - k + 1
                break
            if stamp >= since:
                out.append(shown[i][0] - stamp)
    return out, unseen


async def _produce(
    bootstrap: str, topics: dict[str, str], events: list[tuple[str, dict[str, Any]]],
    rate: float, log: Log,
) -> tuple[dict[str, list[float]], float, float]:  # fmt: skip
    """Each event stamped with its send time; the measured ones' times kept per tile."""
    produced: dict[str, list[float]] = {}

    def record(i: int) -> Outgoing:
        channel, event = events[i]
        event["occurred_at"] = rfc3339(time.time())
        stamp = time.time()
        if event["type"] in MEASURED:
            produced.setdefault(f"{channel}:{event['queue']}", []).append(stamp)
        if i and i % int(rate * 10) == 0:
            log(f"wall {rate:.0f} ev/s: produced {i:,}/{len(events):,}")
        return topics[channel], str(event["queue"]).encode(), orjson.dumps(event)

    began, ended = await send_steadily(bootstrap, len(events), rate, record)
    return produced, began, ended


async def _settle(page: Any, produced: dict[str, list[float]]) -> list[tuple[float, str, int]]:
    """Marks once every measured event is on the page, or when they stop coming."""
    want = {tile: len(times) for tile, times in produced.items()}
    moved, seen = time.monotonic(), -1
    while True:
        marks = [tuple(m) for m in await page.evaluate("() => window.__marks")]
        latest: dict[str, int] = {}
        for _, tile, value in marks:
            latest[tile] = value
        if all(latest.get(t, 0) >= n for t, n in want.items()):
            return marks
        if len(marks) != seen:
            seen, moved = len(marks), time.monotonic()
        if time.monotonic() - moved > SETTLE_SECONDS:
            return marks
        await asyncio.sleep(0.2)


async def run(services: Services, cfg: FreshConfig, log: Log) -> WallResult:
    if not await asyncio.to_thread(Path(CHROMIUM).is_file):
        raise BenchError(f"the wall phase needs Chromium at {CHROMIUM}: run `make deps`")
    from playwright.async_api import async_playwright

    queues = queue_names(cfg.queues, "w")
    result = WallResult(cfg.rate, cfg.seconds, len(queues) * 3)
    tag = f"{cfg.run_id}-wall{cfg.rate:.0f}"
    topics = source_topics(f"bench-{tag}", CHANNELS)
    await ensure_topics(services.kafka, topics.values(), 3)
    timed = Generator(queues, f"{tag}-", seed=13).events(int(cfg.rate * cfg.seconds), 0.0, 3600.0)
    env = {
        "CCMON_PARTITIONS": str(cfg.partitions),
        "CCMON_CLOCK": "wall",
        **topic_settings(topics, f"bench-{tag}.dead-letter"),
    }
    worker = Worker(services.kafka, services.redis, cfg.workdir, f"bench-{tag}", cfg.tree, env)
    wall = WallProcess(
        services.redis, f"bench-{tag}", cfg.workdir, name=f"wall-{tag}", new_session=True
    )
    log(f"wall {cfg.rate:.0f} ev/s for {cfg.seconds:.0f}s: worker, wall server, Chromium")
    worker.start()
    try:
        worker.wait_ready()
        while not (worker.health() or {}).get("partitions"):
            worker.check_alive()
            await asyncio.sleep(0.2)
        try:
            await asyncio.to_thread(wall.start)
        except WallError as exc:
            raise BenchError(f"ccmon wall did not start: {exc}") from None
        pid = wall.child.pid if wall.child else 0
        async with async_playwright() as pw:
            with tempfile.TemporaryDirectory(prefix="ccmon-bench-chromium-") as profile:
                browser = await pw.chromium.launch_persistent_context(
                    profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                    viewport={"width": 1920, "height": 1080},
                )  # fmt: skip
                try:
                    page = browser.pages[0] if browser.pages else await browser.new_page()
                    result.chromium = await page.evaluate("() => navigator.userAgent")
                    await page.goto(wall.url + "/")
                    await page.evaluate(OBSERVER)
                    cpu_before = cpu_seconds([pid])
                    began_epoch = time.time()
                    produced, began, ended = await _produce(
                        services.kafka, topics, [(c, e) for _, c, e in timed], cfg.rate, log
                    )
                    result.wall_cpu_percent = (
                        100 * (cpu_seconds([pid]) - cpu_before) / (ended - began)
                    )
                    result.achieved_rate = len(timed) / (ended - began)
                    marks = await _settle(page, produced)
                finally:
                    await browser.close()
    finally:
        wall.stop()
        worker.stop()
    values, result.unseen = latencies(produced, marks, began_epoch + WARMUP_SECONDS)
    result.measured, result.dom_changes = len(values), len(marks)
    result.p50_ms, result.p90_ms = percentile_ms(values, 0.5), percentile_ms(values, 0.9)
    result.p99_ms, result.max_ms = percentile_ms(values, 0.99), max(values, default=0.0) * 1000
    if result.unseen:
        result.problems.append(f"{result.unseen} measured events never shown on the page")
    log(
        f"wall {cfg.rate:.0f} ev/s: produce -> page p50 {result.p50_ms:,.0f} ms, p99 "
        f"{result.p99_ms:,.0f} ms over {result.measured} events, unseen {result.unseen}"
    )
    return result
