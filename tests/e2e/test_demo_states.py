"""What a newcomer sees within 10 minutes of `make demo` (README, "What the demo shows"): a
queue that is OK, one breached by the scheduled drill (support loses 60 % of its agents),
and the red banner once a page alert fires, from the demo's own Prometheus and
Alertmanager with ccmon's rules. After 10 minutes of the demo's clock, each tile's staffing
row and its observed service level tell one story (issue 25): the drilled queue is short of
agents, forecast under target and observed under target; the others are staffed enough,
forecast and observed on target. The simulator runs 3 times faster than real time, as the
issue allows; Prometheus and the rules' `for:` run in real time, so the banner's delay is
the real one.

Run from the source tree (the rules are alerts/ccmon.rules.yml) with the machine's
Prometheus and Alertmanager (`make deps`); without them it fails, it never skips.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from ccmon.agents.devkit import alerting
from ccmon.agents.devkit.procs import free_port
from tests.support.paths import ROOT
from tests.support.wall import chromium, publish_readme_shot, screenshot

WITHIN_SECONDS = 600.0  # the README's promise: 10 minutes
SPEED = 3  # the simulator's clock against real time
STORY_AFTER_SECONDS = 600.0 / SPEED  # 10 minutes of the demo's clock
# Per contact tile, as the page marks them: the observed SL, the forecast SL and the
# agents needed (alarm: more needed than staffed). One story: all three low, or none.
STORY_FIELDS = ("sl_30m", "sl_predicted", "agents_required")
LOW = ("warn", "alarm")

# Minutes of the demo in real time: tests/support/phases.py runs it beside the unit suite.
pytestmark = [pytest.mark.e2e, pytest.mark.realtime]


def story_of(page: Any) -> dict[str, dict[str, str]]:
    """Each live contact tile's state of STORY_FIELDS, read from the page's cells."""
    return dict(
        page.evaluate(
            """fields => Object.fromEntries(
                [...document.querySelectorAll('[data-tile]')]
                  .filter(t => !t.classList.contains('stale') &&
                               t.querySelector('[data-field="agents_required"]'))
                  .map(t => [t.dataset.tile, Object.fromEntries(fields.map(f =>
                      [f, (t.querySelector(`[data-field="${f}"]`) || {dataset: {}})
                            .dataset.state]))]))""",
            list(STORY_FIELDS),
        )
    )


def state(url: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(url + "api/state", timeout=3) as r:
            return dict(json.loads(r.read()))
    except OSError:
        return None


def test_the_demo_shows_ok_breached_the_banner_and_one_staffing_story_in_ten_minutes(
    tmp_path: Path,
) -> None:
    assert alerting.missing() is None, alerting.missing()
    port, wall_port = free_port(), free_port()
    log = (tmp_path / "demo.log").open("wb")
    demo = subprocess.Popen(
        [sys.executable, "-m", "ccmon", "demo", "--no-view", "--speed", str(SPEED), "--port",
         str(port), "--wall-port", str(wall_port)],
        stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=dict(os.environ),
    )  # fmt: skip
    wall = f"http://127.0.0.1:{wall_port}/"
    seen: dict[str, float] = {}
    began = time.monotonic()
    try:
        while time.monotonic() - began < WITHIN_SECONDS and (
            len(seen) < 3 or time.monotonic() - began < STORY_AFTER_SECONDS
        ):
            assert demo.poll() is None, (tmp_path / "demo.log").read_text()
            now = state(wall) or {"tiles": [], "alerts": {"firing": []}}
            states = {t["id"]: t["state"] for t in now["tiles"] if t["live"]}
            at = time.monotonic() - began
            if "ok" in states.values():
                seen.setdefault("ok", at)
            if states.get("call:support") in ("warn", "alarm"):
                seen.setdefault("support at risk or breached", at)
            if any(a["queue"] == "support" for a in now["alerts"]["firing"]):
                seen.setdefault("page alert on the banner", at)
            time.sleep(2)
        print(f"seconds after the start of the demo: {seen}")
        text = (tmp_path / "demo.log").read_text()
        assert "alerts: Prometheus with ccmon's rules" in text, text
        assert set(seen) == {"ok", "support at risk or breached", "page alert on the banner"}, (
            seen,
            text,
        )
        with chromium(1920, 1080) as page:
            page.goto(wall)
            page.wait_for_function(
                "() => document.querySelector('#alerts .alert') !== null && "
                "document.querySelector('[data-tile=\"call:support\"]') !== null && "
                "['alarm', 'warn'].includes(document.querySelector("
                "'[data-tile=\"call:support\"]').dataset.state)",
                timeout=30_000,
            )
            assert "support" in page.inner_text("#alerts")
            story = story_of(page)
            shot = screenshot(page, "demo-1080p-drill")
            publish_readme_shot(shot, ROOT / "docs" / "demo.png")
        print(f"after {time.monotonic() - began:.0f} s, the page's story: {story}")
        assert {"call:sales", "call:support", "chat:billing"} <= set(story), story
        for tile, fields in story.items():
            low = {field: fields[field] in LOW for field in STORY_FIELDS}
            assert len(set(low.values())) == 1, (tile, fields)  # one story per tile
        assert all(story["call:support"][f] in LOW for f in STORY_FIELDS), story
        assert story["call:support"]["agents_required"] == "alarm", story
        for calm in ("call:sales", "chat:billing"):
            assert all(story[calm][f] == "ok" for f in STORY_FIELDS), story
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(60)
        finally:
            if demo.poll() is None:
                demo.kill()
