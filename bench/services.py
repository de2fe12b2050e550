"""Real Kafka and Redis for one benchmark run, started and stopped through
:mod:`deploy.local.stack` (the launchers the integration tests use)."""

from __future__ import annotations

import contextlib
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from deploy.local import stack

ROOT = Path(__file__).resolve().parent.parent


class BenchError(RuntimeError):
    """A benchmark step that cannot go on; the message says what to do."""


@dataclass
class Services:
    """Kafka + Redis in ``directory``; ``stop`` is safe to call more than once."""

    directory: Path
    env: dict[str, dict[str, str]] = field(default_factory=dict)
    _started: bool = False

    @property
    def kafka(self) -> str:
        return self.env["kafka"]["KAFKA_BOOTSTRAP"]

    @property
    def redis(self) -> str:
        return self.env["redis"]["REDIS_URL"]

    def pid(self, service: str) -> int | None:
        """The server's process (its pid file, deploy.local.stack's), for its CPU time."""
        try:
            return int((self.directory / f"{service}.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def versions(self) -> dict[str, str]:
        return {
            "kafka": self.env.get("kafka", {}).get("KAFKA_VERSION", "?"),
            "redis": self.env.get("redis", {}).get("REDIS_VERSION", "?"),
        }

    def start(self, log: Any) -> None:
        self._started = True
        for service in ("kafka", "redis"):
            began = time.monotonic()
            try:
                # die_with_parent: a harness killed with SIGKILL still leaves no broker behind.
                self.env[service] = stack.start(service, self.directory, die_with_parent=True)
            except stack.StackError as exc:
                raise BenchError(
                    f"cannot start {service}: {exc}\n"
                    "Install the local services with `make deps` (deploy/local/install.sh)."
                ) from None
            log(f"{service} ready in {time.monotonic() - began:.1f}s")

    def stop(self) -> dict[str, str]:
        if not self._started:
            return {}
        outcome = {}
        for service in ("redis", "kafka"):
            with contextlib.suppress(Exception):
                outcome[service] = stack.stop(service, self.directory)
        self._started = False
        return outcome


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def running_services(keep: bool, log: Any) -> Iterator[Services]:
    """Start Kafka and Redis in a fresh temporary directory; stop them and remove it on the
    way out, whether the run finished, failed, or was interrupted (Ctrl-C or SIGTERM)."""
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    directory = Path(tempfile.mkdtemp(prefix="ccmon-bench-"))
    services = Services(directory)
    try:
        services.start(log)
        yield services
    finally:
        # A second Ctrl-C while stopping must not leave a broker behind.
        sigint = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            outcome = services.stop()
            if outcome:
                log("services: " + ", ".join(f"{k} {v}" for k, v in outcome.items()))
            if keep:
                log(f"kept {directory}")
            else:
                shutil.rmtree(directory, ignore_errors=True)
        finally:
            signal.signal(signal.SIGINT, sigint)
            signal.signal(signal.SIGTERM, previous)
