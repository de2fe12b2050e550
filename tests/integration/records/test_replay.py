"""Replay gives the same report (issue 26, item 5): the three-day simulation counted by one
deployment, then replayed from the same source topics into a fresh one (another app id,
so new internal and records topics, and a Redis server of its own) gives byte-identical
record contents for every period (generation times, revisions and reasons aside)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ccmon.agents.domain.records import encode
from tests.support.kafka_io import create_topics, produce
from tests.support.records import (
    END_MARK,
    GRACE_SECONDS,
    THREE_DAY_RULES,
    end_mark,
    records_env,
    recount,
    settled_records,
    source_records,
    three_day_events,
)
from tests.support.services import KafkaServer, OwnService, RedisServer
from tests.support.worker import Worker

DATA = Path(__file__).parents[1] / "data"


def test_a_fresh_deployment_replaying_the_sources_writes_the_same_records(
    kafka: KafkaServer,
    redis_server: RedisServer,
    own: Callable[..., OwnService],
    unique_name: str,
    tmp_path: Path,
) -> None:
    topics = {c: f"{unique_name}.{c}s" for c in ("call", "chat", "ticket")}
    create_topics(kafka.bootstrap, topics.values(), partitions=3)
    events = three_day_events(seed=5)
    expected = set(
        recount([(c, e) for _, c, e in events], THREE_DAY_RULES, END_MARK - GRACE_SECONDS)
    )
    produce(kafka.bootstrap, [*source_records(topics, events), *end_mark(topics)])
    config = str(DATA / "records-queues.yaml")
    runs = []
    for n, redis_url in ((1, redis_server.url), (2, own("redis").url)):
        app = f"{unique_name}-{n}"
        env = records_env(topics, app, config)
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
