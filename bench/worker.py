"""A real ``ccmon worker`` subprocess (the dev kit's launcher), its /metrics, and the
resident memory of any process under test."""

from __future__ import annotations

import contextlib
import re
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from redis.asyncio import Redis

from bench.events import EVENT_COUNTERS
from bench.services import ROOT, BenchError
from ccmon.agents.devkit.launcher import WorkerError, WorkerProcess, owned_partitions
from ccmon.agents.partitions.statestore import StateStore

Labels = tuple[tuple[str, str], ...]
Samples = dict[tuple[str, Labels], float]

_LINE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? (\S+)")
_LABEL = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')


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
    """A bench worker: the dev kit's launcher with the bench's settings, errors as
    :class:`BenchError`, and a log tail that puts warnings first."""

    kafka: str
    redis: str
    workdir: Path
    app_id: str
    tree: Path = ROOT  # the ccmon source tree whose worker runs (PYTHONPATH and cwd)
    env: dict[str, str] = field(default_factory=dict)
    name: str = "w1"
    profile: Path | None = None  # cProfile the main thread; stats written on SIGTERM
    process: WorkerProcess | None = None

    @property
    def proc(self) -> WorkerProcess:
        if self.process is None:
            raise BenchError(f"worker {self.name} not started")
        return self.process

    @property
    def url(self) -> str:
        return self.proc.url

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.app_id}-{self.name}.log"

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def started_at(self) -> float:
        return self.proc.started_at

    def start(self) -> Worker:
        settings = {
            "CCMON_APP_ID": self.app_id,
            "CCMON_KAFKA": self.kafka,
            "CCMON_REDIS": self.redis,
            "CCMON_REDIS_PREFIX": self.app_id,
            "CCMON_DECLARE_SOURCE_TOPICS": "true",
            **self.env,
        }
        self.process = WorkerProcess(
            settings,
            self.workdir,
            name=f"{self.app_id}-{self.name}",
            tree=self.tree,
            profile=self.profile,
            new_session=True,  # Ctrl-C reaches the harness, which stops us in order
        ).start()
        return self

    def wait_ready(self, timeout: float = 120.0, owns: int = 0) -> None:
        """Until /healthz answers and the worker owns at least ``owns`` partitions."""
        try:
            self.proc.wait_ready(timeout, lambda health: owned_partitions(health) >= owns)
        except WorkerError:
            raise BenchError(f"worker {self.name} not ready:\n{self.log_tail()}") from None

    def check_alive(self) -> None:
        try:
            self.proc.check_alive()
        except WorkerError:
            raise BenchError(f"worker {self.name} exited:\n{self.log_tail()}") from None

    def health(self) -> dict[str, object] | None:
        return self.proc.health()

    def metrics_text(self, timeout: float = 30.0) -> str:
        return self.proc.metrics_text(timeout)

    def samples(self) -> Samples:
        return parse_metrics(self.metrics_text())

    def stop(self, timeout: float = 60.0) -> None:
        if self.process is not None:
            self.process.stop(timeout=timeout)

    def log_tail(self, lines: int = 8) -> str:
        """Warnings and errors of the worker's log (Faust's INFO tables say little about a
        stall), then its last lines."""
        try:
            text = self.proc.log_path.read_text(errors="replace").splitlines()
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


async def counted_events(redis: Redis, app_id: str, partitions: int) -> int:
    """Events the workers of ``app_id`` counted, as their state script records them: per
    partition in its meta hash (the layout of docs/architecture.md, "State in Redis"), or
    in one key for a tree from before it (``bench --commit``)."""
    store = StateStore(redis, app_id, 60, {})
    legacy = await redis.get(f"{app_id}:counted")
    return await store.counted(partitions) + int(legacy or 0)
