"""``ccmon wall`` as a child process: the demo, the test suite and the benchmarks start
their wall servers here (the real command, as a supervisor's screen would reach it).

Its settings are ``CCMON_*`` variables like a worker's; it listens on 127.0.0.1, writes
its output to a log file and dies with its parent.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ccmon.agents.devkit.procs import Child, ChildError, WebChild, free_port, spawn


class WallError(ChildError):
    """The wall server exited, or did not answer; the message has its log."""


@dataclass
class WallProcess(WebChild):
    redis: str
    prefix: str
    workdir: Path
    settings: Mapping[str, str] = field(default_factory=dict)  # CCMON_* for the child
    args: tuple[str, ...] = ()  # more ``ccmon wall`` flags, e.g. ("--alertmanager", url)
    port: int = field(default_factory=free_port)
    name: str = "wall"
    new_session: bool = False
    child: Child | None = None

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "ccmon", "wall", "--redis", self.redis, "--prefix",
            self.prefix, "--host", "127.0.0.1", "--port", str(self.port), *self.args,
        ]  # fmt: skip

    def start(self, timeout: float = 30.0) -> WallProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.child = spawn(
            self.name,
            self.command(),
            self.log_path,
            env={**os.environ, **self.settings},
            new_session=self.new_session,
            append=True,
        )
        try:
            self.child.wait_until(lambda: self.health() is not None, timeout)
        except ChildError as exc:
            raise WallError(str(exc)) from None
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        if self.child is not None:
            self.child.stop(sig, timeout)

    def log_tail(self, lines: int = 30) -> str:
        return "" if self.child is None else self.child.log_tail(lines)
