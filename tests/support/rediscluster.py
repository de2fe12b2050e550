"""A local Redis Cluster seen from outside: which node is primary for a key, its replica,
node pids (for a fault test), and where an app's keys are, asked of the nodes themselves
over raw RESP (deploy/local/resp.py), never through the client under test."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from deploy.local.resp import call, fields

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Node:
    port: int
    node_id: str
    primary: bool
    of: str  # a replica's primary id; "-" for a primary
    slots: tuple[tuple[int, int], ...]
    failed: bool


def nodes(ports: tuple[int, ...]) -> list[Node]:
    """The cluster's table as the first node that answers sees it."""
    for port in ports:
        try:
            table = str(call(HOST, port, "CLUSTER", "NODES"))
        except OSError:
            continue
        out = []
        for row in filter(None, table.splitlines()):
            parts = row.split()
            flags = parts[2].split(",")
            ranges = []
            for item in parts[8:]:
                if item.startswith("["):
                    continue  # a slot being migrated
                first, _, last = item.partition("-")
                ranges.append((int(first), int(last or first)))
            address = parts[1].split("@")[0]
            out.append(
                Node(
                    int(address.rsplit(":", 1)[1]),
                    parts[0],
                    "master" in flags,
                    parts[3],
                    tuple(ranges),
                    "fail" in flags or "fail?" in flags,
                )
            )
        return out
    raise OSError(f"no node of {ports} answers")


def slot_of(ports: tuple[int, ...], key: str) -> int:
    for port in ports:
        try:
            return int(str(call(HOST, port, "CLUSTER", "KEYSLOT", key)))
        except OSError:
            continue
    raise OSError(f"no node of {ports} answers")


def serving(ports: tuple[int, ...], key: str) -> Node | None:
    """The primary that serves ``key``'s slot, None while none does (a failover)."""
    slot = slot_of(ports, key)
    for node in nodes(ports):
        if node.primary and not node.failed and any(a <= slot <= b for a, b in node.slots):
            return node
    return None


def primary_of(ports: tuple[int, ...], key: str) -> Node:
    node = serving(ports, key)
    if node is None:
        raise AssertionError(f"no primary serves the slot of {key}")
    return node


def replica_of(ports: tuple[int, ...], primary: Node) -> Node:
    (replica,) = [n for n in nodes(ports) if n.of == primary.node_id]
    return replica


def pid(directory: Path, port: int) -> int:
    """The pid of a node of a stack cluster (its ``nodes.json``)."""
    return int(json.loads((directory / "nodes.json").read_text())[str(port)])


def whole(ports: tuple[int, ...], without: int) -> bool:
    """Every node but ``without`` says the cluster is ok with every slot covered."""
    for port in ports:
        if port == without:
            continue
        try:
            info = fields(call(HOST, port, "CLUSTER", "INFO"))
        except OSError:
            return False
        if info.get("cluster_state") != "ok" or info.get("cluster_slots_ok") != "16384":
            return False
    return True


def keys_per_primary(ports: tuple[int, ...], prefix: str) -> dict[int, int]:
    """How many of ``prefix``'s keys each primary holds."""
    counts: dict[int, int] = {}
    for node in nodes(ports):
        if not node.primary or node.failed:
            continue
        found, cursor = 0, "0"
        while True:
            reply = call(HOST, node.port, "SCAN", cursor, "MATCH", f"*{prefix}*", "COUNT", 1000)
            assert isinstance(reply, list) and isinstance(reply[1], list)
            cursor, found = str(reply[0]), found + len(reply[1])
            if cursor == "0":
                break
        counts[node.port] = found
    return counts
