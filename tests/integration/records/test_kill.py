"""Records through kill -9 (issue 26: "kill -9 between closing and writing"): a worker
killed while it closes the three simulated days, then started again, leaves records equal to
the recount, and a revision that was sent twice (decided, sent, killed before it was marked
sent) is the same bytes both times: one content per (period, revision)."""

from __future__ import annotations

import time
from pathlib import Path

import orjson

from tests.support.kafka_io import consume_all, produce
from tests.support.records import differences, settled_records, three_days
from tests.support.services import KafkaServer, RedisServer
from tests.support.worker import Worker


def test_kill_9_while_closing_records_leaves_them_exact_and_sent_once_per_revision(
    kafka: KafkaServer, redis_server: RedisServer, unique_name: str, tmp_path: Path
) -> None:
    days = three_days(kafka.bootstrap, unique_name, seed=9)
    records_topic = f"{unique_name}-records"
    env, expected = days.env, days.expected
    produce(kafka.bootstrap, days.sources)
    kills = 0
    for _ in range(3):  # killed as soon as it has sent some records, three times
        worker = Worker(kafka.bootstrap, redis_server.url, tmp_path, unique_name, env=env)
        worker.start()
        sent = len(consume_all(kafka.bootstrap, records_topic, 1, timeout=1))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            now = len(consume_all(kafka.bootstrap, records_topic, sent + 1, timeout=0.5))
            if now > sent:
                break
        worker.kill()
        kills += 1
    worker = Worker(kafka.bootstrap, redis_server.url, tmp_path, unique_name, env=env).start()
    try:
        found = settled_records(kafka.bootstrap, records_topic, set(expected))
    finally:
        worker.stop()
    assert kills == 3
    assert differences(expected, found) == []
    contents: dict[bytes, set[str]] = {}
    for record in consume_all(kafka.bootstrap, records_topic, 10**6, timeout=5):
        contents.setdefault(record.key or b"", set()).add(
            orjson.loads(record.value)["content_sha256"]
        )
    assert contents and all(len(hashes) == 1 for hashes in contents.values())
