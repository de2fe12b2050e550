"""Real Kafka and Redis for one benchmark run, started and stopped through
``deploy/local/stack.py`` (the launchers the integration tests use)."""

from __future__ import annotations

import contextlib
import importlib.util
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STACK_DIR = ROOT / "deploy" / "local"


class BenchError(RuntimeError):
    """A benchmark step that cannot go on; the message says what to do."""


def _load_stack() -> ModuleType:
    # stack.py imports its sibling stack_services by plain name, hence the path entry.
    if str(STACK_DIR) not in sys.path:
        sys.path.insert(0, str(STACK_DIR))
    spec = importlib.util.spec_from_file_location("ccmon_local_stack", STACK_DIR / "stack.py")
    if spec is None or spec.loader is None:
        raise BenchError(f"cannot load {STACK_DIR / 'stack.py'}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Services:
    """Kafka + Redis in ``directory``; ``stop`` is safe to call more than once."""

    directory: Path
    env: dict[str, dict[str, str]] = field(default_factory=dict)
    _stack: Any = None

    @property
    def kafka(self) -> str:
        return self.env["kafka"]["KAFKA_BOOTSTRAP"]

    @property
    def redis(self) -> str:
        return self.env["redis"]["REDIS_URL"]

    def versions(self) -> dict[str, str]:
        return {
            "kafka": self.env.get("kafka", {}).get("KAFKA_VERSION", "?"),
            "redis": self.env.get("redis", {}).get("REDIS_VERSION", "?"),
        }

    def start(self, log: Any) -> None:
        self._stack = _load_stack()
        for service in ("kafka", "redis"):
            began = time.monotonic()
            try:
                # die_with_parent: a harness killed with SIGKILL still leaves no broker behind.
                self.env[service] = self._stack.start(service, self.directory, die_with_parent=True)
            except self._stack.StackError as exc:
                raise BenchError(
                    f"cannot start {service}: {exc}\n"
                    "Install the local services with `make deps` (deploy/local/install.sh)."
                ) from None
            log(f"{service} ready in {time.monotonic() - began:.1f}s")

    def stop(self) -> dict[str, str]:
        if self._stack is None:
            return {}
        outcome = {}
        for service in ("redis", "kafka"):
            with contextlib.suppress(Exception):
                outcome[service] = self._stack.stop(service, self.directory)
        self._stack = None
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
