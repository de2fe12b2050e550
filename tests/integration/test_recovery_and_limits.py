"""Crash safety, state recovery, the Redis read model and bounded labels — each on a real
worker process, real Kafka and real Redis."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import redis

from tests.support.clock import queues_at
from tests.support.expect import sample, wait_until_equal
from tests.support.kafka_io import create_topics, produce
from tests.support.topology import Topology


def _topology(topology: Topology, partitions: int = 2, **settings: str) -> dict[str, str]:
    """The test's source topics, made; its workers expire every second."""
    topology.settings = {"CCMON_TICK_INTERVAL_SECONDS": "1", **settings}
    return topology.create_topics(partitions)


def _calls(
    topic: str, n: int, queues: int, start: int = 0
) -> list[tuple[str, bytes | None, bytes]]:
    now_ms = int(time.time() * 1000)
    return [
        (
            topic,
            None,
            orjson.dumps(
                {
                    "event_id": f"e{i}",
                    "type": "offered",
                    "queue": f"q{i % queues}",
                    "contact_id": f"c{i}",
                    "occurred_at": now_ms - 1000,
                }
            ),
        )
        for i in range(start, start + n)
    ]


def test_kill_9_mid_stream_counts_every_event_exactly_once(topology: Topology) -> None:
    topics = _topology(topology)
    records = _calls(topics["call"], 4000, queues=5)
    worker = topology.worker().start()
    produce(topology.kafka, records[:2000])
    # Kill -9 while the first half is being counted: changelog writes, Redis marks and
    # offset commits are then out of step, which is what the guards are for.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        seen = sum(v for (n, _), v in worker.samples().items() if n == "ccmon_events_total")
        if seen >= 300:
            break
        time.sleep(0.05)
    worker.kill()
    produce(topology.kafka, records[2000:] + records[:500])  # and replays of 500 events
    restarted = topology.worker("w1-restarted").start()
    expected = {
        sample("ccmon_contacts_offered_total", channel="call", queue=f"q{q}"): 800.0
        for q in range(5)
    }
    expected.update(
        {sample("ccmon_contacts_waiting", channel="call", queue=f"q{q}"): 800.0 for q in range(5)}
    )
    wait_until_equal(restarted.samples, expected, timeout=120)


def test_restart_recovers_state_and_read_model_expires(topology: Topology) -> None:
    topics = _topology(topology, CCMON_SNAPSHOT_TTL_SECONDS="3")
    topology.queues(queues_at())  # "today" holds the events at any hour CI runs
    unique_name = topology.name
    worker = topology.worker().start()
    produce(topology.kafka, _calls(topics["call"], 30, queues=3))
    expected = {
        sample("ccmon_contacts_offered_total", channel="call", queue=f"q{q}"): 10.0
        for q in range(3)
    }
    wait_until_equal(worker.samples, expected)

    client = redis.Redis.from_url(topology.redis)
    key = f"{unique_name}:live:call:q1"
    deadline = time.monotonic() + 30
    doc: dict[str, object] = {}
    while time.monotonic() < deadline:  # refreshed every second: poll, don't assume
        doc = orjson.loads(client.get(key) or b"{}")
        if doc.get("waiting") == 10:
            break
        time.sleep(0.2)
    assert doc["waiting"] == 10
    assert doc["windows"]["today"]["offered"] == 10  # type: ignore[index]
    assert 0 < client.ttl(key) <= 3

    worker.stop()
    time.sleep(4)
    assert client.get(key) is None, "a stopped worker must leave no stale read model"

    restarted = topology.worker("w2").start(all_partitions=True)
    produce(topology.kafka, _calls(topics["call"], 3, queues=3, start=30))
    expected = {k: v + 1 for k, v in expected.items()}
    wait_until_equal(restarted.samples, expected)  # 10 from Redis + 1 new


def test_ten_thousand_queue_names_stay_within_the_label_cap(
    topology: Topology, tmp_path: Path
) -> None:
    config = tmp_path / "queues.yaml"
    config.write_text("limits: {max_queues: 50}\nqueues: {vip: {}}\n")
    topics = _topology(topology, partitions=1, CCMON_QUEUE_CONFIG=str(config))
    worker = topology.worker().start()
    try:
        records = _calls(topics["call"], 10_000, queues=10_000)
        records += _calls(topics["call"], 1, queues=1, start=20_000)  # q0 again
        produce(topology.kafka, records)
        wait_until_equal(
            lambda: {k: v for k, v in worker.samples().items() if k[0] == "ccmon_events_total"},
            {sample("ccmon_events_total", topic=topics["call"], type="offered"): 10_001.0},
            timeout=180,
        )

        def counted() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
            samples = worker.samples()
            admitted = sum(
                v
                for (n, labels), v in samples.items()
                if n == "ccmon_contacts_offered_total" and dict(labels)["queue"] != "other"
            )
            overflow = samples[sample("ccmon_events_queue_overflow_total", channel="call")]
            return {("counted", ()): admitted + overflow}

        wait_until_equal(counted, {("counted", ()): 10_001.0})  # nothing lost
        samples = worker.samples()
        queues = {
            dict(labels).get("queue")
            for (name, labels) in samples
            if name == "ccmon_contacts_offered_total"
        }
        assert "other" in queues
        assert len(queues - {"other"}) <= 50
        per_family = {}
        for name, _labels in samples:
            per_family[name] = per_family.get(name, 0) + 1
        # Every per-queue family is bounded by (cap + "other") x windows x a few labels.
        assert max(per_family.values()) <= 51 * 7 * 2
    finally:
        worker.stop()


def test_worker_refuses_a_repartition_topic_with_another_partition_count(
    topology: Topology,
) -> None:
    _topology(topology)
    create_topics(topology.kafka, [f"{topology.name}-events-by-queue"], partitions=2)
    worker = topology.worker()
    try:
        worker.start(timeout=60)
    except RuntimeError:
        pass
    else:
        raise AssertionError("the worker started on a mis-partitioned topic")
    finally:
        worker.stop()
    assert "has 2 partitions but CCMON_PARTITIONS=4" in worker.log_path.read_text()
