"""A tile's service level by interval through the day (issue 26, item 6), on the wall page in
real Chromium: from the closed interval records of a real worker (their Redis copy), one bar
per closed interval, met and missed told apart by colour and by shape."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis

from ccmon.agents.devkit.wallproc import WallProcess
from ccmon.agents.domain import periods as pd
from ccmon.agents.domain.buckets import local_day
from ccmon.streams.store import livemodel
from tests.support.clock import zone_at
from tests.support.kafka_io import produce
from tests.support.paths import ROOT
from tests.support.topology import Topology
from tests.support.traffic import answered_call
from tests.support.wall import assert_fits, chromium, publish_readme_shot, screenshot

INTERVAL = 1800.0


def test_a_tile_shows_the_days_closed_intervals(topology: Topology, tmp_path: Path) -> None:
    now = time.time()
    zone = zone_at(now=now)  # the day so far has intervals to close
    current = now - (now - datetime(2000, 1, 1, tzinfo=UTC).timestamp()) % INTERVAL
    topology.queues(
        f"queues:\n  trend:\n    timezone: {zone}\n"
        "    service_level: {threshold_seconds: 20, target_ratio: 0.8}\n"
    )
    topology.settings.update({"CCMON_TICK_INTERVAL_SECONDS": "1",
                              "CCMON_RECORD_GRACE_SECONDS": "10"})  # fmt: skip
    topics = topology.create_topics(1, ("call",))
    fine, poor = [5.0] * 6, [5.0, 5.0, 5.0, 40.0, 40.0, 40.0]
    records = [
        record
        for n, waits in enumerate((fine, poor, fine, poor))
        for i, wait in enumerate(waits)
        for record in answered_call(
            topics["call"], 10 * n + i, current - (4 - n) * INTERVAL + 60 + 120 * i, wait, "trend"
        )
    ]
    topology.worker().start()
    wall = WallProcess(topology.redis, topology.name, tmp_path).start()
    try:
        produce(topology.kafka, records)
        with chromium(1920, 1080) as page:
            page.goto(wall.url + "/")
            bars = "document.querySelectorAll('[data-tile=\"call:trend\"] .trend .bar')"
            page.wait_for_function(f"() => {bars}.length === 4", timeout=90_000)
            classes: list[Any] = page.evaluate(f"() => [...{bars}].map(b => b.className)")
            assert classes == ["bar met", "bar missed", "bar met", "bar missed"]
            label = page.evaluate(
                "() => document.querySelector('[data-tile=\"call:trend\"] .trend')"
                ".getAttribute('aria-label')"
            )
            assert label == "4 intervals closed today, 2 missed"
            trend = page.evaluate("() => window.ccmonWall.state.tiles[0].trend")
            assert [round(i["ratio"], 2) for i in trend] == [1.0, 0.5, 1.0, 0.5]
            assert json.dumps(trend).count('"target": 0.8') == 4
            assert_fits(page, 1080)  # one wide tile: its rows still inside it
            shot = screenshot(page, "wall-trend")
        # The wall's copy is kept two days past its day's end (event time), not past its
        # last write: a replay of older days does not pile it up.
        day = local_day(current - 4 * INTERVAL, zone)  # the four intervals' local day
        day_end = pd.day_bounds(day, zone)[1]
        key = livemodel.intervals_key(topology.name, "call", "trend", day)
        with redis.Redis.from_url(topology.redis) as client:
            expires = client.expiretime(key)
        assert expires == int(day_end) + livemodel.INTERVALS_TTL_SECONDS
        publish_readme_shot(shot, ROOT / "docs" / "wall-trend.png")
    finally:
        wall.stop()
