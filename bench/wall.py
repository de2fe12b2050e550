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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from bench.events import CHANNELS, Generator, queue_names, rfc3339
from bench.freshness import FreshConfig, Latencies
from bench.kafka import send_steadily
from bench.report import percentile_ms
from bench.services import BenchError, Services
from bench.stages import stage_latencies
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
PAGE_COLUMNS, PAGE_ROWS = 10, 6
SETTLE_SECONDS = 20.0
# Installed in the page: stamps each change of a measured number, per tile, with where the
# message that brought it had been: published by the worker (the tile's published_at), sent
# by the wall server (server_time), arrived in the page (before its JSON was parsed).
OBSERVER = """() => {
  window.__marks = [];
  const last = new Map();
  const fields = '[data-field="offered_today"], [data-field="flow_today"]';
  const read = () => {
    const now = Date.now();
    const w = window.ccmonWall || {};
    const state = w.state || {tiles: [], server_time: 0};
    const published = new Map(state.tiles.map((t) => [t.id, t.published_at]));
    for (const el of document.querySelectorAll(fields)) {
      const tile = el.closest('[data-tile]').dataset.tile;
      const text = el.firstChild ? el.firstChild.textContent : '';
      const n = parseInt(text.replace(/[^0-9]/g, ''), 10);
      if (Number.isNaN(n) || last.get(tile) === n) continue;
      last.set(tile, n);
      window.__marks.push([now, tile, n, w.arrivedAt || 0, state.server_time * 1000,
                           (published.get(tile) || 0) * 1000]);
    }
  };
  const all = {subtree: true, childList: true, characterData: true};
  new MutationObserver(read).observe(document.body, all);
  read();
}"""


Mark = tuple[
    float, str, int, float, float, float
]  # ms: shown, tile, value, arrived, sent, published
# Where the time goes, per measured event (docs/benchmarks.md, "Wall"): the worker (Kafka,
# the two batching hops, counting, waiting for the publication), the wall server (the
# notice, its read of Redis, the wake-up of the screen's stream), the Server-Sent Event to
# the page, and the page (JSON parse and the DOM).
STAGES = ("worker", "wall_server", "transport", "page")


@dataclass
class WallResult(Latencies):
    dom_changes: int = 0
    wall_cpu_percent: float = 0.0
    chromium: str = ""
    stages_p50_ms: dict[str, float] = field(default_factory=dict)
    stages_p99_ms: dict[str, float] = field(default_factory=dict)
    # Of the worker's part: the ingest hop, read back from Kafka's record times (bench.stages);
    # the rest is the counting hop and the wait for the publication.
    kafka_stages: dict[str, Any] = field(default_factory=dict)


def latencies(
    produced: dict[str, list[float]], marks: list[Mark], since: float
) -> tuple[list[float], int, dict[str, list[float]]]:
    """Seconds from produce to shown, per measured event produced after ``since``, the
    number never shown, and the seconds of each of STAGES. ``marks`` are in page order."""
    by_tile: dict[str, list[Mark]] = {}
    for mark in marks:
        by_tile.setdefault(mark[1], []).append(mark)
    out: list[float] = []
    stages: dict[str, list[float]] = {name: [] for name in STAGES}
    unseen = 0
    for tile, times in produced.items():
        shown = by_tile.get(tile, [])
        i = 0
        for k, stamp in enumerate(times, start=1):
            while i < len(shown) and shown[i][2] < k:
                i += 1
            if i == len(shown):
                unseen += len(times) - k + 1
                break
            if stamp >= since:
                at, _, _, arrived, sent, published = shown[i]
                out.append(at / 1000 - stamp)
                points = (stamp, published / 1000, sent / 1000, arrived / 1000, at / 1000)
                for name, begin, end in zip(STAGES, points, points[1:], strict=False):
                    stages[name].append(end - begin)
    return out, unseen, stages


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


async def _settle(page: Any, produced: dict[str, list[float]]) -> list[Mark]:
    """Marks once every measured event is on the page, or when they stop coming."""
    want = {tile: len(times) for tile, times in produced.items()}
    moved, seen = time.monotonic(), -1
    while True:
        marks = [tuple(m) for m in await page.evaluate("() => window.__marks")]
        latest: dict[str, int] = {}
        for _, tile, value, *_ in marks:
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
                    # Every tile on one page, however many: the phase measures the worst
                    # case of a screen that shrinks its tiles (the wall pages them otherwise).
                    await page.goto(wall.url + f"/?cols={PAGE_COLUMNS}&rows={PAGE_ROWS}")
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
    values, result.unseen, stages = latencies(produced, marks, began_epoch + WARMUP_SECONDS)
    result.measured, result.dom_changes = len(values), len(marks)
    result.stages_p50_ms = {name: percentile_ms(v, 0.5) for name, v in stages.items()}
    result.stages_p99_ms = {name: percentile_ms(v, 0.99) for name, v in stages.items()}
    result.kafka_stages = await stage_latencies(
        services.kafka,
        topics.values(),
        f"bench-{tag}-events-by-queue",
        began_epoch + WARMUP_SECONDS,
    )
    result.p50_ms, result.p90_ms = percentile_ms(values, 0.5), percentile_ms(values, 0.9)
    result.p99_ms, result.max_ms = percentile_ms(values, 0.99), max(values, default=0.0) * 1000
    if result.unseen:
        result.problems.append(f"{result.unseen} measured events never shown on the page")
    log(
        f"wall {cfg.rate:.0f} ev/s: produce -> page p50 {result.p50_ms:,.0f} ms, p99 "
        f"{result.p99_ms:,.0f} ms over {result.measured} events, unseen {result.unseen}"
    )
    return result
