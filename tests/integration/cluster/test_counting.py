"""Two workers count exactly on a Redis Cluster and on a Valkey cluster (3 primaries, 3
replicas), across the rebalance of a second worker joining: every partition's keys live in
its own slot, spread over the three primaries, and the duplicate counter says exactly how
many re-sends the producer sent (records read again by the rebalance are replays)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.expect import combined, total, wait_until_equal
from tests.support.golden import expected_samples_of, golden_env, recount_events
from tests.support.kafka_io import Producer, read_back
from tests.support.personal import Watch
from tests.support.rediscluster import keys_per_primary
from tests.support.resends import resends_in, with_resends
from tests.support.services import KafkaServer, RedisClusterServer
from tests.support.traffic import as_records, lifecycles

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("server", ["redis_cluster", "valkey_cluster"])
def test_two_workers_count_exactly_on_a_cluster_across_a_rebalance(
    server: str,
    request: pytest.FixtureRequest,
    kafka: KafkaServer,
    watch: Watch,
    unique_name: str,
    record_property: Callable[[str, Any], None],
) -> None:
    cluster: RedisClusterServer = request.getfixturevalue(server)
    topics = watch.source_topics(kafka.bootstrap, partitions=3)
    env = golden_env(topics, unique_name, CCMON_PARTITIONS="8", CCMON_SESSION_TIMEOUT_SECONDS="6")
    end = time.time()
    first = with_resends(lifecycles(31, 800, end - 60, 20 * 60, "a"), 0.05, seed=1)
    second = with_resends(lifecycles(32, 800, end, 20 * 60, "b"), 0.05, seed=2)
    w1 = watch.worker(kafka.bootstrap, cluster.url, env, name="w1").start()
    Producer(kafka.bootstrap, as_records(topics, first)).send_all()
    # The second worker joins while the first is still counting: a rebalance mid-stream,
    # whose new owners read records of the first half again.
    w2 = watch.worker(kafka.bootstrap, cluster.url, env, name="w2").start()
    Producer(kafka.bootstrap, as_records(topics, second)).send_all()
    truth = read_back(kafka.bootstrap, topics)
    began = time.monotonic()
    workers = [w1, w2]
    wait_until_equal(lambda: combined(workers), expected_samples_of(recount_events(truth)), 180)
    exact_after = time.monotonic() - began
    both = [w.samples() for w in workers]
    duplicates = sum(total(s, "ccmon_events_duplicate_total") for s in both)
    replayed = sum(total(s, "ccmon_events_replayed_total") for s in both)
    assert duplicates == resends_in(truth), (duplicates, resends_in(truth), replayed)
    assert all(total(s, "ccmon_redis_up") == 1 for s in both)
    assert all(len((w.health() or {}).get("partitions", [])) > 0 for w in workers)
    spread = keys_per_primary(cluster.ports, unique_name)
    assert len(spread) == 3 and all(spread.values()), spread  # the state is on every primary
    figures = {
        "server": f"{cluster.server} {cluster.version}",
        "events": len(truth),
        "resends": resends_in(truth),
        "duplicates_counted": duplicates,
        "replayed": replayed,
        "keys_per_primary": sorted(spread.values()),
        "exact_after_s": round(exact_after, 1),
    }
    record_property("figures", figures)
    print(f"cluster counting figures: {figures}")
