"""A worker given a Redis address it cannot count on stops at once with one line: a cluster
URL that reaches no cluster, a cluster URL at a single Redis, a single-server URL at a node
of a cluster (each command for another node's slots would answer MOVED)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ccmon.agents.devkit.procs import free_port
from tests.support.cli import refused_worker
from tests.support.golden import golden_env
from tests.support.services import KafkaServer, RedisClusterServer, RedisServer
from tests.support.topology import source_topics

pytestmark = pytest.mark.integration


def _start(kafka: KafkaServer, redis: str, app_id: str, tmp_path: Path) -> tuple[str, float]:
    env = {
        **os.environ,
        **golden_env(source_topics(app_id), app_id),
        "CCMON_APP_ID": app_id,
        "CCMON_KAFKA": kafka.bootstrap,
        "CCMON_REDIS": redis,
        "CCMON_REDIS_PREFIX": app_id,
        "CCMON_DECLARE_SOURCE_TOPICS": "true",
        "CCMON_DATA_DIR": str(tmp_path / "data"),
    }
    line, seconds, done = refused_worker(env)
    assert done.returncode == 1
    return line, seconds


@pytest.mark.parametrize("where", ["nothing there", "a single redis", "a node as one server"])
def test_a_worker_on_a_wrong_cluster_address_exits_with_one_line(
    where: str,
    kafka: KafkaServer,
    redis_server: RedisServer,
    redis_cluster: RedisClusterServer,
    unique_name: str,
    tmp_path: Path,
) -> None:
    single_port = redis_server.url.rsplit(":", 1)[1].split("/")[0]
    url, expected = {
        "nothing there": (
            f"redis+cluster://127.0.0.1:{free_port()},127.0.0.1:{free_port()}",
            "ccmon worker: cannot use the Redis Cluster at 127.0.0.1:",
        ),
        "a single redis": (
            f"redis+cluster://127.0.0.1:{single_port}",
            f"ccmon worker: cannot use the Redis Cluster at 127.0.0.1:{single_port}: ",
        ),
        "a node as one server": (
            f"redis://127.0.0.1:{redis_cluster.ports[0]}/0",
            f"ccmon worker: cannot use Redis at 127.0.0.1:{redis_cluster.ports[0]}: it is a "
            "Redis Cluster node: use redis+cluster://",
        ),
    }[where]
    line, seconds = _start(kafka, url, unique_name, tmp_path)
    assert line.startswith(expected), line
    assert line.endswith("check CCMON_REDIS"), line
    print(f"{where}: exit 1 after {seconds:.1f}s: {line}")
