"""Run real ``ccmon worker`` processes for integration tests and read their /metrics."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

Sample = tuple[str, tuple[tuple[str, str], ...]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Worker:
    """One worker subprocess. ``env`` adds CCMON_* settings to the test's defaults."""

    kafka: str
    redis: str
    workdir: Path
    app_id: str
    env: dict[str, str] = field(default_factory=dict)
    name: str = "w1"
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def start(
        self, wait_assigned: bool = True, timeout: float = 90.0, all_partitions: bool = False
    ) -> Worker:
        """Wait until the worker owns partitions (or, with ``all_partitions``, every one of
        them: a group that still lists a killed member only settles after its session
        timeout)."""
        env = {
            **os.environ,
            "CCMON_APP_ID": self.app_id,
            "CCMON_KAFKA": self.kafka,
            "CCMON_REDIS": self.redis,
            "CCMON_REDIS_PREFIX": self.app_id,
            "CCMON_WEB_HOST": "127.0.0.1",
            "CCMON_WEB_PORT": str(self.port),
            "CCMON_DATA_DIR": str(self.workdir / f"data-{self.name}"),
            "CCMON_PARTITIONS": "4",
            "CCMON_SESSION_TIMEOUT_SECONDS": "10",
            **self.env,
        }
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "from streams.app import main; main()",
                    "worker",
                    "-l",
                    "info",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited:\n{self.log_tail()}")
            health = self.health()
            owned = len(health.get("partitions") or []) if health is not None else 0  # type: ignore[arg-type]
            want = int(self.env.get("CCMON_PARTITIONS", "4")) if all_partitions else 1
            if health is not None and (not wait_assigned or owned >= want):
                return self
            time.sleep(0.3)
        raise RuntimeError(f"worker {self.name} not ready in {timeout}s:\n{self.log_tail()}")

    def health(self) -> dict[str, object] | None:
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                return dict(json.loads(r.read()))
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def metrics_text(self) -> str:
        with urllib.request.urlopen(self.url + "/metrics", timeout=10) as r:
            return str(r.read().decode())

    def samples(self) -> dict[Sample, float]:
        out: dict[Sample, float] = {}
        for family in text_string_to_metric_families(self.metrics_text()):
            for s in family.samples:
                out[(s.name, tuple(sorted(s.labels.items())))] = s.value
        return out

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
