"""Kafka faults on a broker of the test's own: a restart mid-stream, and a topic that takes
no writes. The worker keeps running through both, says so, and counts exactly what Kafka
holds once the broker is back (docs/reliability.md)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from golden_reference import expected_samples_of, recount_events
from support.expect import sample, wait_until_equal
from support.faults import (
    OwnService,
    Producer,
    Watch,
    WatchedWorker,
    as_records,
    lifecycles,
    poll,
    read_back,
    source_topics,
    total,
    worker_env,
)
from support.kafka_io import create_topics
from support.services import RedisServer

pytestmark = pytest.mark.integration

OUTAGE_SECONDS = 30.0


def _kafka_down(worker: WatchedWorker) -> bool:
    health = worker.health() or {}
    kafka = health.get("kafka")
    return isinstance(kafka, dict) and kafka.get("up") is False and health["status"] == "degraded"


def test_broker_restart_mid_stream_loses_nothing_and_needs_no_worker_restart(
    own: Callable[..., OwnService],
    redis_server: RedisServer,
    watch: Watch,
    unique_name: str,
    record_property: Callable[[str, Any], None],
) -> None:
    broker = own("kafka")
    topics = source_topics(unique_name)
    create_topics(broker.bootstrap, topics.values(), partitions=3)
    env = worker_env(topics, unique_name)
    worker = watch.worker(broker.bootstrap, redis_server.url, env).start()
    pid = worker.pid
    end = time.time()
    items = lifecycles(seed=5, contacts=4000, end=end, span=30 * 60, prefix="k")
    records = as_records(topics, items)
    first, rest = records[:8000], records[8000:]
    Producer(broker.bootstrap, first).send_all()
    # The rest flows meanwhile: the producer holds it while the broker is away.
    producer = Producer(broker.bootstrap, rest, per_second=400.0).start()
    # Stop the broker while the worker is in the middle of the first records.
    poll("worker counting", lambda: total(worker.samples(), "ccmon_events_total") >= 500, 60)
    stopped_at = time.monotonic()
    assert broker.stop() == "stopped"
    events_at_stop = total(worker.samples(), "ccmon_events_total")
    detected = poll("/healthz reports Kafka down", lambda: _kafka_down(worker), 20)
    detect_seconds = time.monotonic() - stopped_at
    assert detected
    assert worker.samples()[sample("ccmon_kafka_up")] == 0
    while time.monotonic() < stopped_at + OUTAGE_SECONDS:
        worker.check_alive()
        assert _kafka_down(worker), worker.health()
        time.sleep(1)
    restart_seconds = broker.start(keep_data=True)
    back_at = time.monotonic()
    producer.join(180)

    truth = read_back(broker.bootstrap, topics)
    assert len(truth) >= len(records)
    expected = expected_samples_of(recount_events(truth))
    wait_until_equal(worker.samples, expected, timeout=180)
    recovered_seconds = time.monotonic() - back_at
    poll("/healthz reports Kafka up", lambda: (worker.health() or {}).get("status") == "ok", 30)
    duplicates = len(truth) - len({b["event_id"] for _, b in truth})
    got = worker.samples()
    # Per-process pipeline counters count what was read, and records read again after the
    # group's rebalance are read twice; the per-queue numbers above are the exact ones.
    assert total(got, "ccmon_events_duplicate_total") >= duplicates
    assert total(got, "ccmon_events_total") >= len(truth)
    assert got[sample("ccmon_kafka_up")] == 1
    worker.check_alive()
    assert worker.pid == pid, "the worker was restarted"
    figures = {
        "broker_down_s": round(back_at - stopped_at, 1),
        "detected_after_s": round(detect_seconds, 1),
        "broker_restart_s": round(restart_seconds, 1),
        "exact_after_restart_s": round(recovered_seconds, 1),
        "events": len(truth),
        "events_read_when_stopped": events_at_stop,
        "producer_duplicates": duplicates,
        "records_read": total(got, "ccmon_events_total"),
    }
    record_property("figures", figures)
    print(f"broker restart figures: {figures}")
