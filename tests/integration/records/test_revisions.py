"""A late event after its day closed writes revision 2 of that day, with its reason and the
hash of revision 1; the records topic keeps both (one key per revision), and ``ccmon
report`` reads the latest."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import orjson

from tests.support.cli import run_ccmon
from tests.support.kafka_io import consume_all, produce
from tests.support.records import records_env, settled_records
from tests.support.services import KafkaServer, RedisServer
from tests.support.topology import create_source_topics
from tests.support.traffic import answered_call
from tests.support.worker import Worker

MONDAY = 1795993200.0  # 2026-11-30T00:00:00+01:00 (Paris), a Monday


def test_a_late_event_after_the_day_closed_writes_revision_2(
    kafka: KafkaServer, redis_server: RedisServer, unique_name: str, tmp_path: Path
) -> None:
    topics = create_source_topics(kafka.bootstrap, unique_name, 1)
    env = records_env(topics, unique_name)
    records_topic = f"{unique_name}-records"
    day = ("call", "sales", "day", "2026-11-30T00:00+01:00")
    morning = MONDAY + 10 * 3600  # 10:00, the office is open
    calls = topics["call"]
    worker = Worker(kafka.bootstrap, redis_server.url, tmp_path, unique_name, env=env).start()
    try:
        produce(
            kafka.bootstrap,
            [r for n in range(4) for r in answered_call(calls, n, morning + 60 * n, 10.0, "sales")],
        )
        produce(kafka.bootstrap, answered_call(calls, 99, MONDAY + 86400 + 7200, 1.0, "sales"))
        first = settled_records(kafka.bootstrap, records_topic, {day})[day]
        assert first["revision"] == 1 and first["reason"] == "closed"
        assert first["content"]["counts"]["answered"] == 4
        # Monday 15:00, delivered on Tuesday: the day is closed already.
        produce(kafka.bootstrap, answered_call(calls, 7, MONDAY + 15 * 3600, 50.0, "sales"))
        found = settled_records(
            kafka.bootstrap, records_topic, {day}, want=lambda r: r[day]["revision"] == 2
        )
    finally:
        worker.stop()
    second = found[day]
    assert second["revision"] == 2
    assert second["reason"].startswith(
        "2 late event(s) after revision 1, the first at source call:0:"
    )
    assert second["previous_sha256"] == first["content_sha256"]
    assert second["content"]["counts"]["answered"] == 5
    assert second["content"]["service_level"]["profiles"]["answered_abandoned"]["good"] == 4
    # Both revisions are in the topic, each under a key of its own.
    keys = [
        orjson.loads(r.key or b"")
        for r in consume_all(kafka.bootstrap, records_topic, 10**6, timeout=5)
    ]
    assert [k[4] for k in keys if k[:4] == list(day)] == [1, 2]
    report = run_ccmon("report", "--from", "2026-11-30", "--to", "2026-11-30",
                       CCMON_KAFKA=kafka.bootstrap, CCMON_APP_ID=unique_name)  # fmt: skip
    (row,) = [r for r in csv.DictReader(io.StringIO(report.stdout)) if r["row"] == "day"]
    assert (row["counted"], row["revision"]) == ("5", "2")
    assert row["reason"] == second["reason"]
