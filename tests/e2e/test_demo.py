"""The README's main command: `ccmon demo` starts the embedded broker and Redis, the
simulator, a worker and the wall server, serves metrics and the wall page (the three
simulated queues live), and on Ctrl-C leaves no process behind.

It runs from what a user installs for it, not from the test environment: a new environment
from the lock with ccmon as a wheel and its `embedded` extra, without the `dev` tools
(issue 20), started outside the source tree so that only the installed package is found."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import psutil
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ccmon.agents.devkit.procs import free_port
from tests.support.deploy import environment_without_dev, installed, pyproject
from tests.support.wall import chromium, screenshot


def _offered(url: str) -> float:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            text = r.read().decode()
    except OSError:
        return 0.0
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("ccmon_contacts_offered_total{")
    )


def _live_queues(url: str) -> set[str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            state = json.loads(r.read())
    except OSError:
        return set()
    return {t["id"] for t in state["tiles"] if t["live"]}


@pytest.fixture(scope="module")
def demo_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    bin_dir = environment_without_dev(tmp_path_factory.mktemp("demo") / "venv")
    dev = pyproject()["project"]["optional-dependencies"]["dev"]
    tools = {canonicalize_name(Requirement(r).name) for r in dev}
    assert not installed(bin_dir) & tools, "the demo's environment holds development tools"
    return bin_dir


def test_demo_serves_metrics_and_ctrl_c_leaves_nothing_behind(
    tmp_path: Path, demo_bin: Path
) -> None:
    port, wall_port = free_port(), free_port()
    log = (tmp_path / "demo.log").open("wb")
    demo = subprocess.Popen(
        [demo_bin / "ccmon", "demo", "--no-view", "--port", str(port), "--wall-port",
         str(wall_port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,  # not the source tree: the installed wheel only
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline and _offered(url) < 100:
            assert demo.poll() is None, (tmp_path / "demo.log").read_text()
            time.sleep(1)
        assert _offered(url) >= 100, (tmp_path / "demo.log").read_text()
        wall = f"http://127.0.0.1:{wall_port}/"
        assert f"wall screen: {wall}" in (tmp_path / "demo.log").read_text()
        queues = {"call:sales", "call:support", "chat:billing"}
        while time.monotonic() < deadline and not queues <= _live_queues(wall + "api/state"):
            time.sleep(0.5)
        assert queues <= _live_queues(wall + "api/state"), "the wall shows the three queues"
        # What a newcomer sees: the page itself, in a browser, live, with the three queues
        # (and the simulated ticket queues).
        live = (
            "[...document.querySelectorAll('.tile.contact:not(.stale)')].map(e => e.dataset.tile)"
        )
        with chromium(1920, 1080) as page:
            page.goto(wall)
            page.wait_for_function(
                "() => document.getElementById('status').dataset.state === 'ok' && "
                f"{live}.length === 3",
                timeout=30_000,
            )
            assert set(page.evaluate(f"() => {live}")) == queues
            assert page.inner_text("#status .word") == "LIVE"
            screenshot(page, "demo-1080p")
        children = psutil.Process(demo.pid).children(recursive=True)
        names = " ".join(" ".join(c.cmdline()) for c in children)
        assert "tansu" in names and "valkey" in names and "worker" in names and "wall" in names
        workers = [c for c in children if "worker" in c.cmdline()]
        assert workers and all(c.cmdline()[0].startswith(str(demo_bin)) for c in workers)
        demo.send_signal(signal.SIGINT)
        assert demo.wait(60) == 0, (tmp_path / "demo.log").read_text()
        _gone, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, f"left behind: {[c.pid for c in alive]}"
        assert "everything it started has exited" in (tmp_path / "demo.log").read_text()
    finally:
        if demo.poll() is None:
            demo.kill()
