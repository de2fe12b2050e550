"""What the duplicate guard may and may not take for a duplicate: ids that two source
systems number independently (docs/events.md: an id is unique within its channel), and
records read again long after the guard forgot them (offsets reset by an operator, a group
whose offsets expired): read again, never counted again."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
import pytest
import redis
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import OffsetAndMetadata, TopicPartition

from tests.support.expect import Measured, poll, sample, total, wait_until_equal
from tests.support.golden import expected_samples_of, golden_env, recount_events
from tests.support.kafka_io import Producer, produce, uncommitted
from tests.support.personal import Watch
from tests.support.services import KafkaServer, RedisServer
from tests.support.traffic import as_records, lifecycles

pytestmark = pytest.mark.integration


def _event(topic: str, event_id: str, kind: str, queue: str, contact: str) -> Any:
    body = {
        "event_id": event_id,
        "type": kind,
        "occurred_at": int((time.time() - 60) * 1000),
        "queue": queue,
        "contact_id": contact,
    }
    return (topic, contact.encode(), orjson.dumps(body))


def test_the_same_id_in_two_channels_is_two_events(
    kafka: KafkaServer, redis_server: RedisServer, watch: Watch
) -> None:
    topics = watch.source_topics(kafka.bootstrap, 1)
    produce(
        kafka.bootstrap,
        [
            _event(topics["call"], "1001", "offered", "sales", "k1"),
            _event(topics["ticket"], "1001", "created", "sales", "k2"),
            _event(topics["chat"], "1002", "offered", "sales", "k3"),
            _event(topics["ticket"], "1002", "created", "sales", "k4"),
        ],
    )
    worker = watch.worker(kafka.bootstrap, redis_server.url, golden_env(topics, watch.app_id))
    worker.start()
    wait_until_equal(
        worker.samples,
        {
            sample("ccmon_contacts_offered_total", channel="call", queue="sales"): 1.0,
            sample("ccmon_contacts_offered_total", channel="chat", queue="sales"): 1.0,
            sample("ccmon_tickets_created_total", channel="ticket", queue="sales"): 2.0,
        },
    )
    duplicates = [
        v for (n, _), v in worker.samples().items() if n == "ccmon_events_duplicate_total"
    ]
    assert not any(duplicates)


def forget_guards(url: str, prefix: str) -> int:
    """What the guard's expiry does after a day: every event id forgotten (the counts
    stay); its index goes with it, as the owner's expiry drops both."""
    client = redis.Redis.from_url(url)
    keys = [
        k
        for k in client.scan_iter(match=f"*{prefix}*")
        if any(part in k for part in (b":seen:", b"}:g:", b"}:dg:")) or k.endswith(b"}:gi")
    ]
    if keys:
        client.delete(*keys)
    return len(keys)


def reset_offsets_to_earliest(bootstrap: str, group: str, topics: list[str]) -> None:
    """What ``kafka-consumer-groups --reset-offsets --to-earliest --execute`` does (the group
    must be empty)."""

    async def run() -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
        )
        await consumer.start()
        try:
            await consumer._client.force_metadata_update()
            parts = [
                TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()
            ]
            starts = await consumer.beginning_offsets(parts)
            consumer.assign(parts)
            await consumer.commit({tp: OffsetAndMetadata(starts[tp], "") for tp in parts})
        finally:
            await consumer.stop()

    asyncio.run(run())


def test_records_read_again_after_the_guard_forgot_them_are_not_counted_again(
    kafka: KafkaServer, redis_server: RedisServer, watch: Watch, measured: Measured
) -> None:
    topics = watch.source_topics(kafka.bootstrap, 3)
    env = golden_env(topics, watch.app_id)
    worker = watch.worker(kafka.bootstrap, redis_server.url, env).start(all_partitions=True)
    items = lifecycles(seed=61, contacts=1500, end=time.time(), span=20 * 60, prefix="g")
    Producer(kafka.bootstrap, as_records(topics, items)).send_all()
    expected = expected_samples_of(recount_events(items))
    wait_until_equal(worker.samples, expected, timeout=120)
    internal = [*topics.values(), f"{watch.app_id}-events-by-queue"]
    poll(
        "every offset committed",
        lambda: uncommitted(kafka.bootstrap, watch.app_id, internal) == 0,
        30,
    )
    worker.stop()

    forgotten = forget_guards(redis_server.url, watch.app_id)
    assert forgotten > 0
    reset_offsets_to_earliest(kafka.bootstrap, watch.app_id, internal)
    assert uncommitted(kafka.bootstrap, watch.app_id, internal) > 0
    began = time.monotonic()
    again = watch.worker(kafka.bootstrap, redis_server.url, env, name="w2").start()
    # Every record read again, none counted again: the numbers do not move.
    poll(
        "everything read again",
        lambda: uncommitted(kafka.bootstrap, watch.app_id, internal) == 0,
        120,
    )
    wait_until_equal(again.samples, expected, timeout=30)
    figures = {
        "events": len(items),
        "guards_forgotten": forgotten,
        "reread_s": round(time.monotonic() - began, 1),
        "replayed": total(again.samples(), "ccmon_events_replayed_total"),
    }
    measured("re-read beyond the guard", figures)
