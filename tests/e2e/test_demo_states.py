"""What a newcomer sees within 10 minutes of `make demo` (README, "What the demo shows"): a
queue that is OK, one breached by the scheduled drill (support loses 60 % of its agents),
and the red banner once a page alert fires, from the demo's own Prometheus and
Alertmanager with ccmon's rules. The simulator runs 3 times faster than real time, as the
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

from ccmon.agents.devkit import alerting
from ccmon.agents.devkit.procs import free_port
from tests.support.paths import ROOT
from tests.support.wall import chromium, screenshot

WITHIN_SECONDS = 600.0  # the README's promise: 10 minutes


def state(url: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(url + "api/state", timeout=3) as r:
            return dict(json.loads(r.read()))
    except OSError:
        return None


def test_the_demo_shows_ok_breached_and_the_page_banner_within_ten_minutes(
    tmp_path: Path,
) -> None:
    assert alerting.missing() is None, alerting.missing()
    port, wall_port = free_port(), free_port()
    log = (tmp_path / "demo.log").open("wb")
    demo = subprocess.Popen(
        [sys.executable, "-m", "ccmon", "demo", "--no-view", "--speed", "3", "--port",
         str(port), "--wall-port", str(wall_port)],
        stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=dict(os.environ),
    )  # fmt: skip
    wall = f"http://127.0.0.1:{wall_port}/"
    seen: dict[str, float] = {}
    began = time.monotonic()
    try:
        while time.monotonic() - began < WITHIN_SECONDS and len(seen) < 3:
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
            screenshot(page, "demo-1080p-drill")
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(60)
        finally:
            if demo.poll() is None:
                demo.kill()
