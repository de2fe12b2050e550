"""A real ``ccmon worker`` subprocess (the approach of tests/support/worker.py), its
/metrics, and the resident memory of any process under test."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.events import EVENT_COUNTERS
from bench.services import ROOT, BenchError

Labels = tuple[tuple[str, str], ...]
Samples = dict[tuple[str, Labels], float]

_LINE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? (\S+)")
_LABEL = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG


def parse_metrics(text: str) -> Samples:
    """Prometheus text format -> {(sample name, sorted labels): value}; fast enough to run
    twenty times a second (no escapes in our label values beyond what the regex handles)."""
    out: Samples = {}
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        m = _LINE.match(line)
        if m is None:
            continue
        labels = tuple(sorted(_LABEL.findall(m.group(2) or "")))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def queue_sums(samples: Samples) -> dict[tuple[str, str], float]:
    """Per (channel, queue): the sum of the counters each event type increments once."""
    sums: dict[tuple[str, str], float] = defaultdict(float)
    for (name, labels), value in samples.items():
        if name in EVENT_COUNTERS:
            d = dict(labels)
            sums[(d["channel"], d["queue"])] += value
    return dict(sums)


def total(samples: Samples, name: str, **match: str) -> float:
    return sum(
        v
        for (n, labels), v in samples.items()
        if n == name and all(dict(labels).get(k) == want for k, want in match.items())
    )


@dataclass
class Worker:
    kafka: str
    redis: str
    workdir: Path
    app_id: str
    tree: Path = ROOT  # the ccmon source tree whose worker runs (PYTHONPATH and cwd)
    env: dict[str, str] = field(default_factory=dict)
    name: str = "w1"
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    profile: Path | None = None  # cProfile the main thread; stats written on SIGTERM

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.app_id}-{self.name}.log"

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise BenchError("worker not started")
        return self.proc.pid

    def start(self) -> Worker:
        env = {
            **os.environ,
            "PYTHONPATH": str(self.tree),
            "CCMON_APP_ID": self.app_id,
            "CCMON_KAFKA": self.kafka,
            "CCMON_REDIS": self.redis,
            "CCMON_REDIS_PREFIX": self.app_id,
            "CCMON_WEB_HOST": "127.0.0.1",
            "CCMON_WEB_PORT": str(self.port),
            "CCMON_DATA_DIR": str(self.workdir / f"data-{self.app_id}-{self.name}"),
            "CCMON_DECLARE_SOURCE_TOPICS": "true",
            **self.env,
        }
        self.workdir.mkdir(parents=True, exist_ok=True)
        code = "from streams.app import main; main()"
        if self.profile is not None:
            # cProfile.run catches the SystemExit of a worker stopped by SIGTERM, then dumps.
            run = f"cProfile.run('main()', {str(self.profile)!r})"
            code = f"import cProfile; from streams.app import main; {run}"
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", code, "worker", "-l", "info"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.tree,
                start_new_session=True,  # Ctrl-C reaches the harness, which stops us in order
                preexec_fn=die_with_parent,  # noqa: PLW1509
            )
        self.started_at = time.monotonic()
        return self

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            if self.health() is not None:
                return
            time.sleep(0.2)
        raise BenchError(f"worker {self.name} not ready in {timeout:.0f}s:\n{self.log_tail()}")

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise BenchError(
                f"worker {self.name} exited with {self.proc.returncode}:\n{self.log_tail()}"
            )

    def health(self) -> dict[str, object] | None:
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                return dict(json.loads(r.read()))
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def metrics_text(self, timeout: float = 30.0) -> str:
        with urllib.request.urlopen(self.url + "/metrics", timeout=timeout) as r:
            return str(r.read().decode())

    def samples(self) -> Samples:
        return parse_metrics(self.metrics_text())

    def stop(self, timeout: float = 60.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def log_tail(self, lines: int = 8) -> str:
        """Warnings and errors of the worker's log (Faust's INFO tables say little about a
        stall), then its last lines."""
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        noisy = ("producer buffer full", "producer flush took")
        worrying = [
            line
            for line in text
            if any(f"[{level}]" in line for level in ("WARNING", "ERROR", "CRITICAL"))
            and not any(n in line for n in noisy)
        ]
        return "\n".join([*worrying[:15], "...", *text[-lines:]])


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of some processes, all threads included."""
    seconds = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            t = psutil.Process(pid).cpu_times()
            seconds += t.user + t.system
    return seconds


class RssSampler:
    """Samples the resident set size of some pids every ``interval`` seconds in a thread.
    ``peak`` is the largest summed RSS seen; ``latest`` the last sample."""

    def __init__(self, pids: list[int], interval: float = 0.25) -> None:
        self.procs = [psutil.Process(pid) for pid in pids]
        self.interval = interval
        self.peak = 0
        self.latest = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> int:
        rss = 0
        for proc in self.procs:
            with contextlib.suppress(psutil.Error):
                rss += proc.memory_info().rss
        self.latest = rss
        self.peak = max(self.peak, rss)
        return rss

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> RssSampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


MB = 1024 * 1024
