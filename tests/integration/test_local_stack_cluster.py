"""deploy/local starts a whole Redis Cluster and Valkey cluster (3 primaries, 3 replicas) on
127.0.0.1, returns only once it is whole, and stops every node."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from ccmon.streams.store.connect import redis_client
from tests.support.services import (
    RedisClusterServer,
    alive,
    assert_stack_stopped,
    stack_cli,
    stack_started,
)

pytestmark = pytest.mark.integration


def _roles(ports: list[int]) -> dict[str, int]:
    """How many primaries own slots and how many replicas are linked, asked of every node;
    every node must say the cluster is ok with all slots covered."""
    from deploy.local.resp import call, fields

    primaries = replicas = 0
    for port in ports:
        info = fields(call("127.0.0.1", port, "CLUSTER", "INFO"))
        assert info["cluster_state"] == "ok", (port, info)
        assert info["cluster_slots_ok"] == "16384", (port, info)
        assert info["cluster_known_nodes"] == "6", (port, info)
        replication = fields(call("127.0.0.1", port, "INFO", "replication"))
        if replication["role"] == "master":
            primaries += 1
        else:
            assert replication["master_link_status"] == "up", (port, replication)
            replicas += 1
    return {"primaries": primaries, "replicas": replicas}


async def _round_trip(url: str) -> None:
    """Keys in every slot range, written and read through the cluster client."""
    client = redis_client(url)
    try:
        keys = [f"probe:{i}" for i in range(300)]
        for key in keys:
            await client.set(key, key, ex=60)
        values = [await client.get(key) for key in keys]
        assert values == [k.encode() for k in keys]
        nodes = {client.get_node_from_key(k).port for k in keys}  # type: ignore[union-attr]
        assert len(nodes) == 3  # the keys really went to the three primaries
    finally:
        await client.aclose()


def test_redis_cluster_starts_whole_and_stops_every_node(tmp_path: Path) -> None:
    output, env = stack_started("redis-cluster", tmp_path)
    ports = [int(p) for p in env["REDIS_CLUSTER_PORTS"].split(",")]
    supervisor = int((tmp_path / "redis-cluster.pid").read_text())
    nodes = json.loads((tmp_path / "redis-cluster" / "nodes.json").read_text())
    try:
        assert (
            (tmp_path / "redis-cluster.env")
            .read_text()
            .splitlines()[0]
            .startswith("REDIS_CLUSTER_URL=redis+cluster://127.0.0.1:")
        )
        assert sorted(int(p) for p in nodes) == sorted(ports)
        # Checked from the outside at once: start returned only when it was whole.
        assert _roles(ports) == {"primaries": 3, "replicas": 3}
        asyncio.run(_round_trip(env["REDIS_CLUSTER_URL"]))
        # Already running: the same cluster.
        assert stack_cli("start", "redis-cluster", tmp_path).stdout == output
    finally:
        stopped = stack_cli("stop", "redis-cluster", tmp_path)
    assert_stack_stopped("redis-cluster", tmp_path, stopped)
    assert not alive(supervisor)
    assert not any(alive(pid) for pid in nodes.values())


async def test_valkey_cluster_answers_as_a_cluster(valkey_cluster: RedisClusterServer) -> None:
    assert valkey_cluster.server == "valkey"
    assert _roles(list(valkey_cluster.ports)) == {"primaries": 3, "replicas": 3}
    await _round_trip(valkey_cluster.url)
