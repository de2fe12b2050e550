"""Redis Sentinel failing over to a replica that lagged, while events flow: Debian's
redis-server as primary and replica, three redis-sentinel processes, the worker connected
through the sentinels (``redis+sentinel://``). The replica's link to its primary is held
(it stays up and healthy, and receives nothing), so that it lags by a known amount; then
the primary is killed (SIGKILL), the sentinels promote the replica, and the workers find
it behind what they counted. The recount at the end is exact (docs/reliability.md)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from tests.support.expect import Measured, poll, total, wait_until_equal
from tests.support.golden import expected_samples_of, golden_env, recount_events
from tests.support.kafka_io import Producer
from tests.support.netfault import LinkHolder
from tests.support.personal import Watch
from tests.support.services import KafkaServer, OwnService
from tests.support.traffic import as_records, lifecycles

pytestmark = pytest.mark.integration

NAME = "ccmon"  # the primary's name in the sentinels


def _in_sync(replica: redis.Redis) -> bool:
    info = replica.info("replication")
    return bool(info.get("master_link_status") == "up" and not info.get("master_sync_in_progress"))


def _sentinels_ready(sentinels: list[redis.Redis]) -> bool:
    """Every sentinel knows the replica and the two other sentinels."""
    return all(
        len(s.sentinel_slaves(NAME)) == 1 and len(s.sentinel_sentinels(NAME)) == 2
        for s in sentinels
    )


def _primary_port(sentinel: redis.Redis) -> int:
    return int(sentinel.sentinel_get_master_addr_by_name(NAME)[1])


def test_failover_to_a_replica_that_lagged_recounts_exactly(
    own: Callable[..., OwnService],
    kafka: KafkaServer,
    watch: Watch,
    tmp_path: Path,
    measured: Measured,
) -> None:
    primary = own("redis")
    link = LinkHolder("127.0.0.1", primary.port).start()
    try:
        config = tmp_path / "replica.conf"
        config.write_text(f"replicaof 127.0.0.1 {link.listen_port}\n")
        replica = own("redis", config)
        replica_client = redis.Redis(port=replica.port)
        poll("replica in sync", lambda: _in_sync(replica_client), 30)
        watched = tmp_path / "sentinel.conf"
        watched.write_text(
            f"sentinel monitor {NAME} 127.0.0.1 {link.listen_port} 2\n"
            f"sentinel down-after-milliseconds {NAME} 1000\n"
            f"sentinel failover-timeout {NAME} 10000\n"
        )
        sentinels = [own("sentinel", watched) for _ in range(3)]
        clients = [redis.Redis(port=s.port) for s in sentinels]
        poll("sentinels know each other and the replica", lambda: _sentinels_ready(clients), 60)

        topics = watch.source_topics(kafka.bootstrap, 3)
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in sentinels)
        env = golden_env(topics, watch.app_id, CCMON_TICK_INTERVAL_SECONDS="1")
        url = f"redis+sentinel://{hosts}/{NAME}/0"
        worker = watch.worker(kafka.bootstrap, url, env).start(all_partitions=True)
        items = lifecycles(seed=71, contacts=2400, end=time.time(), span=20 * 60, prefix="f")
        thirds = len(items) // 3
        Producer(kafka.bootstrap, as_records(topics, items[:thirds])).send_all()
        wait_until_equal(worker.samples, expected_samples_of(recount_events(items[:thirds])))

        link.hold()  # from now on the replica receives nothing: it lags
        Producer(kafka.bootstrap, as_records(topics, items[thirds : 2 * thirds])).send_all()
        counted = items[: 2 * thirds]
        wait_until_equal(worker.samples, expected_samples_of(recount_events(counted)))
        held = link.held
        assert held > 0, "the replica did not miss any write"

        killed_at = time.monotonic()
        primary.kill()
        link.cut()
        producer = Producer(kafka.bootstrap, as_records(topics, items[2 * thirds :]))
        producer.start()  # events flow through the failover
        poll("replica promoted", lambda: _primary_port(clients[0]) == replica.port, 60)
        promoted = time.monotonic() - killed_at
        producer.join(300)
        wait_until_equal(worker.samples, expected_samples_of(recount_events(items)), timeout=120)
        exact_after = time.monotonic() - killed_at
        assert replica_client.info("replication")["role"] == "master"
        got = worker.samples()
        assert total(got, "ccmon_redis_writes_lost_total") > 0
        assert "Redis lost writes" in worker.log_path.read_text()
        figures = {
            "events": len(items),
            "held_from_replica_bytes": held,
            "promoted_after_kill_s": round(promoted, 1),
            "exact_after_kill_s": round(exact_after, 1),
            "partitions_that_found_the_loss": total(got, "ccmon_redis_writes_lost_total"),
            "records_reread": total(got, "ccmon_redis_records_reread_total"),
        }
        measured("sentinel failover", figures)
    finally:
        link.stop()
