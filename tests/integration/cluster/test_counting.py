"""Two workers count exactly on a Redis Cluster and on a Valkey cluster (3 primaries, 3
replicas), across the rebalance of a second worker joining: every partition's keys live in
its own slot, spread over the three primaries, and the duplicate counter says exactly how
many re-sends the producer sent (records read again by the rebalance are replays). The same
scenario on one Redis server: tests/integration/rebalance/test_duplicates.py."""

from __future__ import annotations

import pytest

from tests.support.expect import Measured, total
from tests.support.joining import count_across_a_join
from tests.support.personal import Watch
from tests.support.rediscluster import keys_per_primary
from tests.support.services import KafkaServer, RedisClusterServer

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("server", ["redis_cluster", "valkey_cluster"])
def test_two_workers_count_exactly_on_a_cluster_across_a_rebalance(
    server: str,
    request: pytest.FixtureRequest,
    kafka: KafkaServer,
    watch: Watch,
    measured: Measured,
) -> None:
    cluster: RedisClusterServer = request.getfixturevalue(server)
    joined = count_across_a_join(watch, kafka.bootstrap, cluster.url)
    assert joined.duplicates == joined.resends, joined.figures
    assert all(total(w.samples(), "ccmon_redis_up") == 1 for w in joined.workers)
    assert all(len((w.health() or {}).get("partitions", [])) > 0 for w in joined.workers)
    spread = keys_per_primary(cluster.ports, watch.app_id)
    assert len(spread) == 3 and all(spread.values()), spread  # the state is on every primary
    figures = {
        "server": f"{cluster.server} {cluster.version}",
        **joined.figures,
        "keys_per_primary": sorted(spread.values()),
    }
    measured("cluster counting", figures)
