"""The one way to run a real ``ccmon worker`` as a child process: the demo, the test suite
and the benchmarks all start their workers here.

A worker is ``python -m ccmon worker`` with its settings in ``CCMON_*`` variables, its web
port on 127.0.0.1, its output in a log file, and it dies with its parent.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ccmon.agents.devkit.procs import Child, ChildError, WebChild, free_port, log_tail, spawn

Health = dict[str, object]


class WorkerError(ChildError):
    """The worker exited, or did not become ready; the message has its log."""


@dataclass
class WorkerProcess(WebChild):
    """``settings`` are CCMON_* variables (added to this process' environment); ``tree``
    runs the ccmon of another source tree (the benchmark's ``--commit``); ``profile``
    writes cProfile stats of the main thread there when the worker stops."""

    settings: Mapping[str, str]
    workdir: Path
    name: str = "w1"
    port: int = field(default_factory=free_port)
    log_level: str = "info"
    tree: Path | None = None
    profile: Path | None = None
    new_session: bool = False
    child: Child | None = None
    started_at: float = 0.0

    @property
    def pid(self) -> int:
        if self.child is None:
            raise WorkerError(f"worker {self.name} was not started")
        return self.child.pid

    def command(self) -> list[str]:
        if self.profile is None:
            return [sys.executable, "-m", "ccmon", "worker", "-l", self.log_level]
        # cProfile.run catches the SystemExit of a worker stopped by SIGTERM, then dumps.
        code = (
            "import cProfile; from ccmon.agents.cli import main; "
            f"cProfile.run('main()', {str(self.profile)!r})"
        )
        return [sys.executable, "-c", code, "worker", "-l", self.log_level]

    def environment(self) -> dict[str, str]:
        env = {
            **os.environ,
            "CCMON_WEB_HOST": "127.0.0.1",
            "CCMON_WEB_PORT": str(self.port),
            "CCMON_DATA_DIR": str(self.workdir / f"data-{self.name}"),
            **self.settings,
        }
        if self.tree is not None:
            env["PYTHONPATH"] = str(self.tree)
        return env

    def start(self) -> WorkerProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.child = spawn(
            f"worker {self.name}",
            self.command(),
            self.log_path,
            env=self.environment(),
            cwd=self.tree,
            new_session=self.new_session,
            append=True,
        )
        self.started_at = time.monotonic()
        return self

    def check_alive(self) -> None:
        if self.child is not None and not self.child.alive():
            code = self.child.proc.returncode
            raise WorkerError(f"worker {self.name} exited with {code}:\n{self.log_tail()}")

    def wait_ready(
        self, timeout: float = 90.0, ready: Callable[[Health], bool] = lambda health: True
    ) -> WorkerProcess:
        """Until ``/healthz`` answers and ``ready(health)`` holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            health = self.health()
            if health is not None and ready(health):
                return self
            time.sleep(0.2)
        raise WorkerError(f"worker {self.name} not ready in {timeout:.0f}s:\n{self.log_tail()}")

    def metrics_text(self, timeout: float = 30.0) -> str:
        with urllib.request.urlopen(self.url + "/metrics", timeout=timeout) as r:
            return str(r.read().decode())

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
        if self.child is not None:
            self.child.stop(sig, timeout)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.log_path, lines)


def owned_partitions(health: Health) -> int:
    partitions = health.get("partitions")
    return len(partitions) if isinstance(partitions, list) else 0
