"""Redis that loses its *last* writes, not all of them: restarted from an older snapshot
(RDB), as after a crash with snapshots only, a failover to a replica that lagged, or AOF
``everysec``'s last second. Redis comes back with the partition's older state, older fence
tokens and older guards; the workers' copies and Kafka's committed offsets are newer. Both
orders of the issue: the loss found by a worker that restarts, and by workers that keep
counting after a rebalance. The recount at the end is exact (docs/reliability.md). And the
case that cannot be: the records Redis lost are gone from the topic too, and it says so."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import redis

from tests.support.expect import (
    Measured,
    combined,
    per_queue_counters,
    poll,
    total,
    wait_until_equal,
)
from tests.support.golden import expected_samples_of, golden_env, recount_events
from tests.support.kafka_io import Item, Producer, delete_records, uncommitted
from tests.support.personal import Watch, WatchedWorker
from tests.support.services import KafkaServer, OwnService
from tests.support.traffic import as_records, lifecycles
from tests.support.worker import Sample

pytestmark = pytest.mark.integration

LOST_LOG = "Redis lost writes"


def _expected(items: list[Item]) -> dict[Sample, float]:
    return expected_samples_of(recount_events(items))


def _all_committed(kafka: KafkaServer, app_id: str, topics: dict[str, str]) -> bool:
    """Kafka holds the group's commits of every record: nothing will be read again (the
    worker's lag gauge counts a partition never committed from its last record read)."""
    internal = f"{app_id}-events-by-queue"
    return uncommitted(kafka.bootstrap, app_id, [*topics.values(), internal]) == 0


@dataclass
class _Scene:
    """What each scenario starts from: a Redis of the test's own, which persists only what
    SAVE writes (dump.rdb), the test's source topics, the golden settings and a first
    worker on all of them."""

    store: OwnService
    client: redis.Redis
    topics: dict[str, str]
    env: dict[str, str]
    worker: WatchedWorker


def _scene(
    own: Callable[..., OwnService], kafka: KafkaServer, watch: Watch, **settings: str
) -> _Scene:
    store = own("redis")
    topics = watch.source_topics(kafka.bootstrap, 3)
    env = golden_env(topics, watch.app_id, **settings)
    worker = watch.worker(kafka.bootstrap, store.url, env).start(all_partitions=True)
    return _Scene(store, redis.Redis.from_url(store.url), topics, env, worker)


def _half_then_snapshot(kafka: KafkaServer, scene: _Scene, items: list[Item]) -> int:
    """Count the first half of ``items``, then take a snapshot of Redis (SAVE), with a key
    written before it and one after it that tell later whether Redis came back on it."""
    half = len(items) // 2
    Producer(kafka.bootstrap, as_records(scene.topics, items[:half])).send_all()
    wait_until_equal(scene.worker.samples, _expected(items[:half]), timeout=120)
    scene.client.set("ccmon-test:before-snapshot", 1)
    scene.client.save()
    scene.client.set("ccmon-test:after-snapshot", 1)
    return half


def _snapshot_then_lose(scene: _Scene) -> None:
    """Kill -9 Redis and start it again on its last snapshot; prove that it lost what was
    written after the snapshot (a key written after it is gone, one before it is there)."""
    scene.store.kill()
    scene.store.start(keep_data=True)
    assert scene.client.exists("ccmon-test:before-snapshot")
    assert not scene.client.exists("ccmon-test:after-snapshot")


def test_snapshot_more_events_redis_crash_then_worker_restart_recounts_exactly(
    own: Callable[..., OwnService], kafka: KafkaServer, watch: Watch, measured: Measured
) -> None:
    scene = _scene(own, kafka, watch)
    topics, worker = scene.topics, scene.worker
    items = lifecycles(seed=41, contacts=2400, end=time.time(), span=20 * 60, prefix="a")
    half = _half_then_snapshot(kafka, scene, items)
    Producer(kafka.bootstrap, as_records(topics, items[half:])).send_all()
    wait_until_equal(worker.samples, _expected(items), timeout=120)
    poll("every offset committed", lambda: _all_committed(kafka, watch.app_id, topics), 30)

    _snapshot_then_lose(scene)
    worker.kill()  # before it could write anything: the next owner must find the loss
    began = time.monotonic()
    restarted = watch.worker(kafka.bootstrap, scene.store.url, scene.env, name="w2")
    restarted.start(all_partitions=True)
    wait_until_equal(restarted.samples, _expected(items), timeout=120)
    exact_after = time.monotonic() - began
    got = restarted.samples()
    reread = total(got, "ccmon_redis_records_reread_total")
    assert reread > 0, "the new owner must have read the lost records again"
    assert total(got, "ccmon_state_unrecoverable_records") == 0
    assert LOST_LOG in restarted.log_path.read_text()
    figures = {
        "events": len(items),
        "lost_after_snapshot": len(items) - half,
        "records_reread": reread,
        "exact_after_restart_s": round(exact_after, 1),
    }
    measured("redis partial loss + worker restart", figures)


def test_snapshot_rebalance_redis_crash_then_more_events_recounts_exactly(
    own: Callable[..., OwnService], kafka: KafkaServer, watch: Watch, measured: Measured
) -> None:
    scene = _scene(own, kafka, watch, CCMON_TICK_INTERVAL_SECONDS="1")
    items = lifecycles(seed=42, contacts=2600, end=time.time(), span=20 * 60, prefix="b")
    half = _half_then_snapshot(kafka, scene, items)
    # A second worker joins: every partition changes hands or is taken again, and each new
    # ownership is written to Redis after the snapshot.
    second = watch.worker(kafka.bootstrap, scene.store.url, scene.env, name="w2").start()
    workers = [scene.worker, second]
    poll(
        "partitions shared",
        lambda: all(0 < len((w.health() or {}).get("partitions") or []) < 4 for w in workers),
        60,
    )
    wait_until_equal(lambda: combined(workers), _expected(items[:half]), timeout=120)

    _snapshot_then_lose(scene)
    began = time.monotonic()
    Producer(kafka.bootstrap, as_records(scene.topics, items[half:])).send_all()
    wait_until_equal(lambda: combined(workers), _expected(items), timeout=120)
    exact_after = time.monotonic() - began
    logs = "".join(w.log_path.read_text() for w in workers)
    assert LOST_LOG in logs
    assert "another worker owns it now" not in logs
    lost = sum(total(w.samples(), "ccmon_redis_writes_lost_total") for w in workers)
    assert lost > 0
    figures = {
        "events": len(items),
        "sent_after_loss": len(items) - half,
        "partitions_that_found_the_loss": lost,
        "exact_after_loss_s": round(exact_after, 1),
    }
    measured("redis partial loss after a rebalance", figures)


def test_lost_writes_the_topic_no_longer_holds_are_counted_as_lost_loudly(
    own: Callable[..., OwnService], kafka: KafkaServer, watch: Watch, measured: Measured
) -> None:
    """The case that cannot be exact (docs/reliability.md, "What is not guaranteed"): the
    first scenario, but the repartition topic's records are gone (retention) before the new
    owner could read them again. It says so: ccmon_state_unrecoverable_records equals the
    records lost, /healthz names the partitions, one log line each; what it still has is
    exact, and so is everything after."""
    scene = _scene(own, kafka, watch)
    topics, worker = scene.topics, scene.worker
    items = lifecycles(seed=43, contacts=2000, end=time.time() - 120, span=20 * 60, prefix="d")
    later = lifecycles(seed=44, contacts=600, end=time.time(), span=10 * 60, prefix="e")
    half = _half_then_snapshot(kafka, scene, items)
    internal = f"{watch.app_id}-events-by-queue"
    # The snapshot's records go first, as retention would take them (they are counted and
    # in the snapshot); where the topic ends now is where Redis will come back to.
    at_snapshot = delete_records(kafka.bootstrap, internal)
    Producer(kafka.bootstrap, as_records(topics, items[half:])).send_all()
    wait_until_equal(worker.samples, _expected(items), timeout=120)
    poll("every offset committed", lambda: _all_committed(kafka, watch.app_id, topics), 30)

    _snapshot_then_lose(scene)
    worker.kill()
    gone = delete_records(kafka.bootstrap, internal)  # the records that Redis lost
    lost = sum(gone.values()) - sum(at_snapshot.values())
    restarted = watch.worker(kafka.bootstrap, scene.store.url, scene.env, name="w2")
    restarted.start(all_partitions=True)
    poll(
        "the loss counted",
        lambda: total(restarted.samples(), "ccmon_state_unrecoverable_records") == lost,
        60,
    )
    health = restarted.health() or {}
    named = health.get("unrecoverable_records")
    assert isinstance(named, dict) and sum(named.values()) == lost, health
    assert "no longer in the repartition topic" in restarted.log_path.read_text()
    # What Redis kept is exact: its cumulative counters. Not yet its windows: they end at the
    # stream clock, and a worker that has counted no event yet takes the shared stream time
    # Redis came back with (the snapshot's, or none: then the wall clock), not the time of
    # the last event it holds; the next events set it (DEVELOPERS.md, pitfall 35).
    kept = per_queue_counters(_expected(items[:half]))
    wait_until_equal(lambda: per_queue_counters(restarted.samples()), kept, timeout=60)
    # What comes after is counted exactly on top of it, windows included.
    Producer(kafka.bootstrap, as_records(topics, later)).send_all()
    wait_until_equal(restarted.samples, _expected(items[:half] + later), timeout=120)
    measured(
        "redis partial loss beyond the topic's retention",
        {"events": len(items) + len(later), "records_lost": lost, "partitions": len(named)},
    )
