"""Process helpers shared by the dev kit, the test suite and the benchmarks: free ports,
children that die with their parent, and waiting for a child to answer.

Standard library only: :mod:`deploy.local.stack` runs with the system ``python3``
before any virtualenv exists.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
_PR_SET_PDEATHSIG = 1


class ChildError(RuntimeError):
    """A child process exited or did not answer in time; the message has its log tail."""


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = HOST) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """``preexec_fn`` for children that must not outlive us: the kernel sends them SIGTERM
    when the parent dies (PR_SET_PDEATHSIG), even after a kill -9 or an OOM kill of the
    test run. Only a prctl call: async-signal-safe."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class WebChild:
    """What a worker and a wall server share as child processes: a web port on 127.0.0.1,
    a log file named after the child in its working directory, and ``/healthz``."""

    port: int
    name: str
    workdir: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def health(self) -> dict[str, object] | None:
        """``/healthz``'s document, or None while it does not answer."""
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                return dict(json.loads(r.read()))
        except (urllib.error.URLError, OSError, ValueError):
            return None


@dataclass
class Child:
    """A child process whose output goes to ``log_path``."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        """``sig`` (SIGTERM by default), then SIGKILL after ``timeout`` seconds."""
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def log_tail(self, lines: int = 20) -> str:
        return log_tail(self.log_path, lines)

    def wait_until(self, ready: Callable[[], bool], timeout: float) -> None:
        """Poll ``ready`` until it holds; stop the child and raise if it exits or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ChildError(
                    f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            if ready():
                return
            time.sleep(0.1)
        self.stop()
        raise ChildError(f"{self.name} did not answer within {timeout:.0f}s:\n{self.log_tail()}")


def spawn(
    name: str,
    argv: list[str],
    log_path: Path,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    new_session: bool = False,
    append: bool = False,
) -> Child:
    """Start ``argv`` with stdout and stderr to ``log_path``; it dies with us.

    ``new_session`` keeps a terminal's Ctrl-C away from it, so the parent stops children in
    its own order."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab" if append else "wb") as log:
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=new_session,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - prctl only, async-signal-safe
        )
    return Child(name, proc, log_path)
