"""A state write whose reply is lost after Redis ran it (a connection reset, a failover, a
stall past the socket timeout): the client sends it again (redis-py retries a command on a
connection error; the owner retries a write). It must be recognised as applied, neither
taken for records read again (the batch would then be missing from the owner's copy) nor
applied twice (the expiry timer's increments carry no duplicate guard)."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from ccmon.agents.partitions.lua import APPLY
from tests.support.expect import Measured, sample, wait_until_equal
from tests.support.golden import golden_env
from tests.support.kafka_io import create_topics, produce
from tests.support.netfault import ReplyDropper, script_call
from tests.support.personal import Watch
from tests.support.services import KafkaServer, RedisServer
from tests.support.topology import source_topics
from tests.support.traffic import PLAIN_QUEUES, call, plain_queues

pytestmark = pytest.mark.integration

QUEUES = PLAIN_QUEUES
MAX_WAIT = 600.0


def test_writes_whose_replies_were_lost_count_once_in_the_copy_and_in_redis(
    kafka: KafkaServer, redis_server: RedisServer, watch: Watch, tmp_path: Path, measured: Measured
) -> None:
    topics = source_topics(watch.app_id)
    # One source partition: read in event-time order, so that the expiry timer (on the stream
    # clock) never meets an offer whose answer is still unread (docs/reliability.md, "What
    # is not guaranteed": source partitions read unevenly).
    create_topics(kafka.bootstrap, topics.values(), partitions=1)
    queues = plain_queues(tmp_path, MAX_WAIT)
    rng = random.Random(11)
    end = time.time() - 5
    timed: list[tuple[float, Any]] = []
    expected: dict[Any, float] = {}

    def add(name: str, queue: str, n: float = 1.0) -> None:
        key = sample(name, channel="call", queue=queue)
        expected[key] = expected.get(key, 0.0) + n

    for n in range(6000):
        queue = rng.choice(QUEUES)
        t = end - 1800 + rng.random() * 1790
        timed.append((t, call(topics["call"], n, "offered", t, queue)))
        add("ccmon_contacts_offered_total", queue)
        if rng.random() < 0.1:
            continue  # never answered: expired by the timer once older than max_wait
        timed.append((t + 3, call(topics["call"], n, "answered", t + 3, queue, wait_seconds=3)))
        add("ccmon_contacts_answered_total", queue)
    now = max(t + 3 for t, _ in timed)  # the stream clock's "now" at the end
    answered = {orjson.loads(r[2])["contact_id"] for _, r in timed if b'"answered"' in r[2]}
    for t, record in timed:
        body = orjson.loads(record[2])
        if body["type"] == "offered" and body["contact_id"] not in answered:
            if now - t > MAX_WAIT:
                add("ccmon_contacts_expired_total", body["queue"])
            else:
                add("ccmon_contacts_waiting", body["queue"])
    for q in QUEUES:
        expected.setdefault(sample("ccmon_contacts_waiting", channel="call", queue=q), 0.0)
    produce(kafka.bootstrap, [r for _, r in sorted(timed, key=lambda x: x[0])])

    host, port = redis_server.url.removeprefix("redis://").split("/")[0].split(":")
    # Every fifth state write (a call of the state script, told by its SHA1) has its reply
    # lost; counting and the expiry timer both write.
    proxy = ReplyDropper(host, int(port), script_call(APPLY), every=5).start()
    try:
        env = golden_env(
            topics,
            watch.app_id,
            CCMON_QUEUE_CONFIG=str(queues),
            CCMON_TICK_INTERVAL_SECONDS="0.2",
            CCMON_BATCH_MAX_EVENTS="200",  # more writes, more of them lost
        )
        url = f"redis://127.0.0.1:{proxy.listen_port}/0"
        worker = watch.worker(kafka.bootstrap, url, env).start()
        wait_until_equal(worker.samples, expected, timeout=120)
        dropped = proxy.dropped
        seen = proxy.seen
        assert dropped >= 5, f"{dropped} replies lost of {seen} state writes: no fault happened"
        worker.stop()
    finally:
        proxy.stop()
    # What Redis holds is what the worker exported: a new worker loads the same numbers.
    again = watch.worker(kafka.bootstrap, redis_server.url, env, name="w2").start()
    wait_until_equal(again.samples, expected, timeout=60)
    figures = {"events": len(timed), "state_writes": seen, "replies_lost": dropped}
    measured("lost replies", figures)
