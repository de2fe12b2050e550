"""The process :mod:`deploy.local.stack` starts for a local Redis (or Valkey) Cluster: it runs
every node as its child, forms the cluster, and stops the nodes when it is stopped.

    python3 -m deploy.local.clusternodes --binary redis-server --dir DIR \\
        --ports 7000,7001,... --bus-ports 17000,... [--replicas 1] [--keep]

Why a supervisor: the stack keeps one pid per service (its pid file, SIGTERM, then SIGKILL to
the process group), and a cluster is six servers. Here they share this process' group, so a
stop reaches all of them, and the kernel stops them if this process dies (PR_SET_PDEATHSIG).

Forming the cluster is what ``redis-cli --cluster create`` does, done here with the
standard library: slots split evenly between the primaries (``CLUSTER ADDSLOTSRANGE``), a
distinct config epoch each, ``CLUSTER MEET`` from the first node, then each replica
``CLUSTER REPLICATE``\\s its primary once every node knows every other. With ``--keep`` (a
restart on the kept directory) the nodes come back from their ``nodes.conf`` and re-form the
cluster themselves. The stack's probe, not this process, decides when the cluster is
ready (``cluster_state:ok``, every slot covered, every replica linked).

Signals: SIGTERM/SIGINT stop every node and exit; SIGUSR1 starts again any node that is not
running, on its own directory and ports (a fault test's "the killed primary comes back").
``DIR/nodes.json`` maps each port to its node's pid, rewritten on every change.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from ccmon.agents.devkit.procs import HOST, die_with_parent
from deploy.local.resp import Connection, ReplyError, call

SLOTS = 16384
NODE_TIMEOUT_MS = 2000  # failure detection: a primary is failed over ~2-4 s after it stops


def node_dir(base: Path, port: int) -> Path:
    return base / f"node-{port}"


def node_config(base: Path, port: int, bus: int, include: Path | None) -> Path:
    directory = node_dir(base, port)
    directory.mkdir(parents=True, exist_ok=True)
    lines = [
        f"port {port}",
        f"bind {HOST}",
        "cluster-enabled yes",
        "cluster-config-file nodes.conf",
        f"cluster-port {bus}",
        f"cluster-node-timeout {NODE_TIMEOUT_MS}",
        # Throw-away data, as the single Redis of the stack (a caller's config may differ).
        'save ""',
        "appendonly no",
        f"dir {directory}",
        f"logfile {directory / 'node.log'}",
        "daemonize no",
    ]
    if include is not None:
        lines.append(f'include "{include}"')
    path = directory / "node.conf"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Nodes:
    def __init__(self, binary: str, base: Path, ports: list[int], buses: list[int]) -> None:
        self.binary = binary
        self.base = base
        self.ports = ports
        self.buses = dict(zip(ports, buses, strict=True))
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.dead: set[int] = set()

    def start(self, port: int) -> None:
        config = node_dir(self.base, port) / "node.conf"
        out = (node_dir(self.base, port) / "node.out").open("ab")
        with out:
            self.procs[port] = subprocess.Popen(
                [self.binary, str(config)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=node_dir(self.base, port),
                preexec_fn=die_with_parent,  # noqa: PLW1509 - prctl only, async-signal-safe
            )
        self.record()

    def record(self) -> None:
        pids = {str(p): proc.pid for p, proc in self.procs.items() if proc.poll() is None}
        tmp = self.base / "nodes.json.tmp"
        tmp.write_text(json.dumps(pids), encoding="utf-8")
        tmp.replace(self.base / "nodes.json")

    def restart_dead(self) -> None:
        for port, proc in list(self.procs.items()):
            if proc.poll() is not None:
                print(f"node {port}: starting again", flush=True)
                self.start(port)

    def reap(self) -> None:
        """Say which nodes exited (a fault test killed one) and keep nodes.json current."""
        dead = {port for port, proc in self.procs.items() if proc.poll() is not None}
        for port in sorted(dead - self.dead):
            print(f"node {port}: exited with code {self.procs[port].returncode}", flush=True)
        if dead != self.dead:
            self.dead = dead
            self.record()

    def stop(self, timeout: float = 10.0) -> None:
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(max(0.1, deadline - time.monotonic()))
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)


def _wait_answering(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if call(HOST, port, "PING") == "PONG":
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.05)


def _node_ids(ports: list[int]) -> dict[int, str]:
    return {port: str(call(HOST, port, "CLUSTER", "MYID")) for port in ports}


def _everyone_known(ports: list[int], count: int) -> bool:
    for port in ports:
        table = str(call(HOST, port, "CLUSTER", "NODES"))
        rows = [row for row in table.splitlines() if row]
        if len(rows) < count or any("handshake" in row or "noaddr" in row for row in rows):
            return False
    return True


def form(ports: list[int], buses: dict[int, int], replicas: int, timeout: float = 30.0) -> None:
    """Slots, epochs, meetings and replication, as ``redis-cli --cluster create``."""
    primaries = ports[: len(ports) // (1 + replicas)]
    share = SLOTS // len(primaries)
    for i, port in enumerate(primaries):
        first = i * share
        last = SLOTS - 1 if i == len(primaries) - 1 else first + share - 1
        call(HOST, port, "CLUSTER", "ADDSLOTSRANGE", first, last)
    for epoch, port in enumerate(ports, 1):
        with contextlib.suppress(ReplyError):  # only refused when already set: a retry
            call(HOST, port, "CLUSTER", "SET-CONFIG-EPOCH", epoch)
    with Connection(HOST, ports[0]) as first_node:
        for port in ports[1:]:
            first_node.call("CLUSTER", "MEET", HOST, port, buses[port])
    deadline = time.monotonic() + timeout
    while not _everyone_known(ports, len(ports)):
        if time.monotonic() > deadline:
            raise TimeoutError("the cluster nodes did not all meet")
        time.sleep(0.1)
    ids = _node_ids(ports)
    for j, port in enumerate(ports[len(primaries) :]):
        call(HOST, port, "CLUSTER", "REPLICATE", ids[primaries[j % len(primaries)]])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m deploy.local.clusternodes")
    parser.add_argument("--binary", required=True)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--ports", required=True, help="comma separated; primaries first")
    parser.add_argument("--bus-ports", required=True)
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--config", type=Path, help="a redis.conf each node includes")
    parser.add_argument("--keep", action="store_true", help="restart on the kept directory")
    args = parser.parse_args(argv)
    ports = [int(p) for p in args.ports.split(",")]
    buses = [int(p) for p in args.bus_ports.split(",")]
    nodes = Nodes(args.binary, args.dir, ports, buses)
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    restart = False

    def again(signum: int, frame: FrameType | None) -> None:
        nonlocal restart
        restart = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGUSR1, again)
    fresh = not (args.keep and all((node_dir(args.dir, p) / "nodes.conf").exists() for p in ports))
    for port, bus in zip(ports, buses, strict=True):
        if fresh or not (node_dir(args.dir, port) / "node.conf").exists():
            node_config(args.dir, port, bus, args.config)
        nodes.start(port)
    try:
        for port in ports:
            _wait_answering(port)
        if fresh:
            form(ports, nodes.buses, args.replicas)
        print(f"cluster of {len(ports)} nodes formed" if fresh else "nodes started", flush=True)
        while not stopping:
            time.sleep(0.2)
            nodes.reap()
            if restart:
                restart = False
                nodes.restart_dead()
    except (OSError, TimeoutError) as exc:
        print(f"cluster: {exc}", file=sys.stderr, flush=True)
        nodes.stop()
        return 1
    nodes.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
