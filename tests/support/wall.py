"""The wall's tests: Debian's Chromium driven by Playwright (no browser download), a
designed contact-centre state that shows every tile state, and where screenshots go."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ccmon.agents.devkit.wallproc import WallProcess
from tests.support.clock import queues_at
from tests.support.kafka_io import produce
from tests.support.paths import ROOT
from tests.support.topology import Topology
from tests.support.worker import Worker

CHROMIUM = os.environ.get("CCMON_TEST_CHROMIUM", "/usr/bin/chromium")
# Without these Chromium reaches for the network (updates, sync, field trials) at start.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
ARTIFACTS = Path(os.environ.get("CCMON_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "wall"
README_SHOT = ROOT / "docs" / "wall.png"
Record = tuple[str, bytes | None, bytes]


@contextmanager
def chromium(width: int = 1920, height: int = 1080) -> Iterator[Any]:
    """A page of a fresh headless Chromium profile; fails (never skips) without Chromium."""
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: run `make deps` "
            "(bash deploy/local/install.sh installs Debian's chromium)",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw, tempfile.TemporaryDirectory(prefix="ccmon-chromium-") as profile:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height},
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            yield page
        finally:
            context.close()


def screenshot(page: Any, name: str, folder: Path = ARTIFACTS, full_page: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def publish_readme_shot(path: Path, target: Path = README_SHOT) -> None:
    """``CCMON_UPDATE_SCREENSHOTS=1`` copies a screenshot to docs/ (by default the live
    wall's, docs/wall.png, the README's picture)."""
    if os.environ.get("CCMON_UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(path, target)


# ---- a designed state: one queue fine, one at risk, one breached, tickets overdue ---------------


class Events:
    """Contract-valid events with ids that must never reach a screen."""

    def __init__(self, topics: dict[str, str], tag: str) -> None:
        self.topics = topics
        self.tag = tag
        self.records: list[Record] = []
        self.n = 0

    def add(
        self, channel: str, type_: str, queue: str, contact: str, ago: float, **extra: Any
    ) -> None:
        self.n += 1
        event = {
            "event_id": f"{self.tag}-ev-{self.n}",
            "type": type_,
            "queue": queue,
            "contact_id": f"SECRET-CONTACT-{contact}",
            "agent_id": "SECRET-AGENT-7",
            "occurred_at": int((time.time() - ago) * 1000),
            **extra,
        }
        self.records.append((self.topics[channel], queue.encode(), orjson.dumps(event)))

    def answered(self, channel: str, queue: str, wait: float, ago: float) -> None:
        contact = f"{queue}-{self.n}"
        self.add(channel, "offered", queue, contact, ago + wait)
        self.add(channel, "answered", queue, contact, ago, wait_seconds=wait)

    def handled(self, channel: str, queue: str, wait: float, talk: float, ago: float) -> None:
        contact = f"{queue}-{self.n}"
        self.add(channel, "offered", queue, contact, ago + talk + wait)
        self.add(channel, "answered", queue, contact, ago + talk, wait_seconds=wait)
        self.add(channel, "ended", queue, contact, ago, talk_seconds=talk)

    def abandoned(self, channel: str, queue: str, wait: float, ago: float) -> None:
        contact = f"{queue}-{self.n}"
        self.add(channel, "offered", queue, contact, ago + wait)
        self.add(channel, "abandoned", queue, contact, ago, wait_seconds=wait)

    def waiting(self, channel: str, queue: str, since: float) -> None:
        self.add(channel, "offered", queue, f"{queue}-wait-{self.n}", since)

    def ticket(self, queue: str, age: float) -> None:
        self.add("ticket", "created", queue, f"{queue}-t-{self.n}", age, priority="normal")

    def resolved_ticket(self, queue: str, age: float, resolved_ago: float) -> None:
        contact = f"{queue}-t-{self.n}"
        self.add("ticket", "created", queue, contact, age)
        self.add("ticket", "resolved", queue, contact, resolved_ago)

    def agent(self, n: int, state: str, queue: str, ago: float) -> None:
        """An agent of call/`queue` logged in, then in `state` (ids that must stay off)."""
        agent = f"SECRET-AGENT-{queue}-{n}"
        for type_, extra, when in (
            ("logged_in", {"queues": [{"channel": "call", "queue": queue}]}, ago + 60),
            ("state_changed", {"state": state}, ago),
        ):
            self.n += 1
            event = {
                "event_id": f"{self.tag}-ev-{self.n}",
                "type": type_,
                "agent_id": agent,
                "occurred_at": int((time.time() - when) * 1000),
                **extra,
            }
            self.records.append((self.topics["agent"], agent.encode(), orjson.dumps(event)))


def designed_state(topics: dict[str, str], tag: str) -> Events:
    """With the built-in queue policy (90 s threshold, 80 % target, 10 waiting, 10 % abandon):
    call/sales OK, chat/billing at risk, call/support breached with a caller waiting past
    the threshold; tickets/support with overdue tickets, tickets/billing fine. With an agent
    topic: call/sales staffed for its load, call/support short-staffed."""
    ev = Events(topics, tag)
    for i in range(30):
        ev.answered("call", "sales", wait=4 + i % 7, ago=60 + 40 * i)
    ev.waiting("call", "sales", since=12)
    for i in range(41):
        ev.answered("chat", "billing", wait=20 + i % 30, ago=30 + 35 * i)
    for i in range(8):
        ev.answered("chat", "billing", wait=130, ago=100 + 90 * i)
    for i in range(14):
        ev.answered("call", "support", wait=30 + 3 * i, ago=50 + 60 * i)
    for i in range(16):
        ev.answered("call", "support", wait=140 + 5 * i, ago=80 + 50 * i)
    for i in range(4):
        ev.abandoned("call", "support", wait=100, ago=200 + 100 * i)
    for since in (135, 96, 70, 41, 22, 9, 3):
        ev.waiting("call", "support", since=since)
    for i in range(38):
        ev.ticket("support", age=3600 * (1 + 1.5 * i))
    for i in range(6):
        ev.resolved_ticket("support", age=7200, resolved_ago=600 * (i + 1))
    for i in range(9):
        ev.ticket("billing", age=1800 * (i + 1))
    for i in range(4):
        ev.resolved_ticket("billing", age=5400, resolved_ago=900 * (i + 1))
    if "agent" in topics:
        # A floor whose numbers tell one story (issue 23: the picture showed "OK" beside
        # "NEEDED 8", and no agents on a queue that answers calls): call/sales staffed for
        # its load, 7 on a contact and 3 free; call/support short, its 3 agents all busy.
        for i in range(10):
            ev.agent(i, "on_contact" if i < 7 else "available", "sales", ago=30)
        for i in range(3):
            ev.agent(i, "on_contact", "support", ago=30)
        for i in range(12):  # handle times, so the forecast has an AHT to work with
            ev.handled("call", "sales", wait=5, talk=240, ago=120 + 120 * i)
    return ev


def designed_worker_and_wall(
    topology: Topology, workdir: Path, *args: str, **settings: str
) -> tuple[Worker, WallProcess]:
    """A started worker of ``topology`` and a started wall server (more ``ccmon wall`` flags
    ``args``, more CCMON_* ``settings``) for :func:`designed_state`. Its events go 20
    minutes back: the queues live in a zone where it is afternoon, so that "today" holds
    them all at any hour the test runs (tests/support/clock.py)."""
    queues = topology.queues(queues_at())
    worker = topology.worker().start()
    named = {"CCMON_QUEUE_CONFIG": str(queues), **settings}
    wall = WallProcess(topology.redis, topology.name, workdir, args=args, settings=named)
    return worker, wall.start()


def wall_metrics(url: str, headers: dict[str, str] | None = None) -> dict[str, float]:
    """The wall server's /metrics as {sample name: value} (labels left out: one each)."""
    request = urllib.request.Request(url + "/metrics", headers=headers or {})
    with urllib.request.urlopen(request, timeout=5) as r:
        text = r.read().decode()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


# Geometry at a screen size: every tile on the screen, every number, label and badge inside
# its tile (the page never scrolls: body is overflow hidden, so a spill would be clipped
# silently), and the smallest number and label in CSS pixels.
LAYOUT = """() => {
  const inside = (a, b) => a.left >= b.left - 1 && a.right <= b.right + 1 &&
    a.top >= b.top - 1 && a.bottom <= b.bottom + 1;
  const screen = {left: 0, top: 0, right: innerWidth, bottom: innerHeight};
  const spills = [];
  let value = Infinity, label = Infinity;
  for (const tile of document.querySelectorAll('[data-tile]')) {
    const box = tile.getBoundingClientRect();
    if (!inside(box, screen)) spills.push(tile.dataset.tile);
    for (const el of tile.querySelectorAll('[data-field], .label, .queue, .badge, .target')) {
      if (el.getClientRects().length === 0) continue;  // not shown: no room on this tile
      if (!inside(el.getBoundingClientRect(), box) || el.scrollWidth > el.clientWidth + 1)
        spills.push(tile.dataset.tile + ' ' + (el.dataset.field || el.className));
      const px = parseFloat(getComputedStyle(el).fontSize);
      if (el.dataset.field) value = Math.min(value, px); else label = Math.min(label, px);
    }
  }
  return {spills, value, label};
}"""
# Readable at 5 m on a 55" TV (0.63 mm a pixel at 1080p): numbers at least 1/30 of the
# screen's height (36 px at 1080p, caps ~16 mm, about 1/300 of 5 m), labels at least 1/60
# (18 px, caps ~8 mm). Measured: 39 px and 20 px at 1080p, twice that at 2160p.
MIN_VALUE_FRACTION, MIN_LABEL_FRACTION = 1 / 30, 1 / 60


def assert_fits(page: Any, height: int) -> None:
    layout = page.evaluate(LAYOUT)
    if layout["spills"]:
        screenshot(page, f"wall-spills-{height}")
    assert layout["spills"] == [], layout
    assert layout["value"] >= height * MIN_VALUE_FRACTION, layout
    assert layout["label"] >= height * MIN_LABEL_FRACTION, layout


def send(bootstrap: str, records: list[Record]) -> None:
    """produce() from another thread: sync Playwright keeps an event loop in this one."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(produce, bootstrap, records).result()


def secrets_in(text: str) -> list[str]:
    # Event ids too: a source system may build them from a contact id ("c123-answered").
    ids = ("SECRET-CONTACT", "SECRET-AGENT", "-ev-", "contact_id", "agent_id", "event_id")
    return [s for s in ids if s in text]


def configured_wall(
    redis: str, prefix: str, workdir: Path, wall_yaml: str, queues: Path, **settings: str
) -> WallProcess:
    """A wall server (not started) on its configuration file, ``wall_yaml`` written to
    ``workdir``/wall.yaml, and the workers' queue configuration ``queues``; ``settings``
    are more CCMON_* variables."""
    config = workdir / "wall.yaml"
    config.write_text(wall_yaml, encoding="utf-8")
    named = {"CCMON_WALL_CONFIG": str(config), "CCMON_QUEUE_CONFIG": str(queues)}
    return WallProcess(redis, prefix, workdir, settings=named | settings)
