"""A primary of the Redis Cluster killed while events flow: its replica takes over, having
missed the primary's last writes (its replication link was cut first, as a replica that
lagged would have), and issue 24's guarantees hold on a cluster too: the owner finds Redis
behind its copy, says so, reads the lost records again, and every number ends exact.
Nothing is counted without the guard while the slots have no primary."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from deploy.local.resp import call
from tests.support.expect import Measured, poll, total, wait_until_equal
from tests.support.golden import expected_samples_of, golden_env, recount_events
from tests.support.kafka_io import Producer, read_back
from tests.support.personal import Watch
from tests.support.rediscluster import HOST, pid, primary_of, replica_of, serving, whole
from tests.support.services import KafkaServer, OwnService
from tests.support.traffic import as_records, lifecycles

pytestmark = pytest.mark.integration

PARTITIONS = 8
LOST_LOG = "Redis lost writes"


def _seq(port: int, key: str) -> int:
    return int(str(call(HOST, port, "HGET", key, "seq") or 0))


def test_a_primary_killed_while_events_flow_fails_over_and_counts_stay_exact(
    own: Callable[..., OwnService], kafka: KafkaServer, watch: Watch, measured: Measured
) -> None:
    cluster = own("redis-cluster")
    url = cluster.env["REDIS_CLUSTER_URL"]
    ports = tuple(int(p) for p in cluster.env["REDIS_CLUSTER_PORTS"].split(","))
    directory = Path(cluster.env["REDIS_CLUSTER_DIR"])
    topics = watch.source_topics(kafka.bootstrap, partitions=3)
    env = golden_env(topics, watch.app_id, CCMON_PARTITIONS=str(PARTITIONS))
    worker = watch.worker(kafka.bootstrap, url, env).start(all_partitions=True)
    end = time.time()
    before = lifecycles(seed=51, contacts=600, end=end - 120, span=20 * 60, prefix="a")
    during = lifecycles(seed=52, contacts=1500, end=end, span=20 * 60, prefix="b")
    Producer(kafka.bootstrap, as_records(topics, before)).send_all()
    wait_until_equal(worker.samples, expected_samples_of(recount_events(before)), 120)

    # The busiest partition's primary: its writes go on while the fault is set up.
    metas = [f"{{{watch.app_id}:{p}}}:meta" for p in range(PARTITIONS)]
    busiest = max(metas, key=lambda key: _seq(primary_of(ports, key).port, key))
    target = primary_of(ports, busiest)
    replica = replica_of(ports, target)
    flow = Producer(kafka.bootstrap, as_records(topics, during), per_second=150).start()
    os.kill(pid(directory, replica.port), signal.SIGSTOP)
    try:
        # The replica's link cut while it cannot reconnect: what the primary writes from
        # now on never reaches it.
        assert call(HOST, target.port, "CLIENT", "KILL", "TYPE", "replica") == 1
        cut = _seq(target.port, busiest)
        poll("writes the replica never got", lambda: _seq(target.port, busiest) >= cut + 3, 30)
        unreplicated = _seq(target.port, busiest) - cut
        os.kill(pid(directory, target.port), signal.SIGKILL)
        killed_at = time.monotonic()
    finally:
        os.kill(pid(directory, replica.port), signal.SIGCONT)
    poll(
        "the replica promoted, the cluster whole again",
        lambda: (
            getattr(serving(ports, busiest), "port", 0) == replica.port
            and whole(ports, target.port)
        ),
        60,
    )
    failover = time.monotonic() - killed_at
    assert _seq(replica.port, busiest) < cut + unreplicated  # it really lacks those writes
    flow.join(300)
    truth = read_back(kafka.bootstrap, topics)
    began = time.monotonic()
    wait_until_equal(worker.samples, expected_samples_of(recount_events(truth)), 180)
    exact_after = time.monotonic() - began
    got = worker.samples()
    log = worker.log_path.read_text()
    assert "Redis unreachable" in log and "Redis reachable again" in log
    assert LOST_LOG in log
    assert total(got, "ccmon_redis_writes_lost_total") >= 1
    assert total(got, "ccmon_state_unrecoverable_records") == 0
    assert total(got, "ccmon_redis_up") == 1
    worker.check_alive()
    figures = {
        "events": len(truth),
        "unreplicated_writes": unreplicated,
        "failover_s": round(failover, 1),
        "writes_lost_detected": total(got, "ccmon_redis_writes_lost_total"),
        "records_reread": total(got, "ccmon_redis_records_reread_total"),
        "exact_after_last_record_s": round(exact_after, 1),
    }
    measured("cluster failover", figures)
