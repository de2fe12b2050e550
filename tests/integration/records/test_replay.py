"""Replay gives the same report (issue 26, item 5): the three-day simulation counted by one
deployment, then replayed from the same source topics into a fresh one (another app id,
so new internal and records topics, and a Redis server of its own) gives byte-identical
record contents for every period (generation times, revisions and reasons aside)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ccmon.agents.domain.records import encode
from tests.support.kafka_io import produce
from tests.support.records import records_env, settled_records, three_days
from tests.support.services import KafkaServer, OwnService, RedisServer
from tests.support.worker import Worker


def test_a_fresh_deployment_replaying_the_sources_writes_the_same_records(
    kafka: KafkaServer,
    redis_server: RedisServer,
    own: Callable[..., OwnService],
    unique_name: str,
    tmp_path: Path,
) -> None:
    days = three_days(kafka.bootstrap, unique_name, seed=5)
    expected = set(days.expected)
    produce(kafka.bootstrap, days.sources)
    runs = []
    for n, redis_url in ((1, redis_server.url), (2, own("redis").url)):
        app = f"{unique_name}-{n}"
        env = records_env(days.topics, app)
        # Different partition counts too: which worker state holds which queue changes,
        # the records do not.
        env["CCMON_PARTITIONS"] = "4" if n == 1 else "6"
        worker = Worker(kafka.bootstrap, redis_url, tmp_path / app, app, env=env).start()
        try:
            runs.append(settled_records(kafka.bootstrap, f"{app}-records", expected))
        finally:
            worker.stop()
    first, second = runs
    assert set(first) == set(second)
    different = [k for k in first if encode(first[k]["content"]) != encode(second[k]["content"])]
    assert different == [], different[:3]
    assert all(first[k]["content_sha256"] == second[k]["content_sha256"] for k in first)
