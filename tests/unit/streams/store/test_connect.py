"""The Redis URL forms: one server, a cluster through its seeds, or the primary that Redis
Sentinel names (no server needed; the real failover is
tests/integration/faults/test_redis_sentinel.py)."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.sentinel import SentinelConnectionPool

from ccmon.streams.store.connect import (
    RedisUrlError,
    cluster_seeds,
    describe,
    is_cluster,
    is_sentinel,
    redis_client,
)


def test_a_plain_url_is_one_server() -> None:
    client = redis_client("redis://127.0.0.1:6390/2")
    assert isinstance(client, Redis)
    assert not is_cluster("redis://127.0.0.1:6390/2")
    assert client.connection_pool.connection_kwargs["db"] == 2


def test_a_cluster_url_lists_its_seeds_with_credentials_and_tls() -> None:
    url = "rediss+cluster://ccmon:s3cret@10.0.0.1:7000,10.0.0.2:7001/?ssl_cert_reqs=none"
    assert cluster_seeds(url) == [("10.0.0.1", 7000), ("10.0.0.2", 7001)]
    client = redis_client(url, socket_timeout=5)
    assert isinstance(client, RedisCluster)
    kwargs = client.connection_kwargs
    assert kwargs["username"] == "ccmon"
    assert kwargs["password"] == "s3cret"
    assert kwargs["socket_timeout"] == 5
    assert kwargs["connection_class"].__name__ == "SSLConnection"
    assert "s3cret" not in describe(url)
    assert describe(url) == "the Redis Cluster at 10.0.0.1:7000,10.0.0.2:7001"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis+cluster://h1:7000/3", "database 0 only"),
        ("redis+cluster://h1", "is not host:port"),
        ("redis+cluster:///0", "at least one host:port"),
        ("redis+sentinal://h1:26379", "unknown scheme"),
        ("redis+sentinel://h1:x/main", "is not host:port"),
    ],
)
def test_a_cluster_url_ccmon_cannot_use_says_why(url: str, problem: str) -> None:
    with pytest.raises(RedisUrlError, match=problem):
        redis_client(url)


def test_describe_never_shows_a_password() -> None:
    assert describe("redis://:pw@127.0.0.1:6379/0") == "Redis at 127.0.0.1:6379"


def test_a_sentinel_url_names_the_sentinels_the_primary_and_its_db() -> None:
    url = "redis+sentinel://ccmon:secret@s1:26380,s2,[::1]:26381/main/3?sentinel_password=sp"
    client = redis_client(url, socket_timeout=5)
    assert is_sentinel(url) and isinstance(client, Redis)
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool) and pool.service_name == "main"
    kwargs = pool.connection_kwargs
    assert (kwargs["db"], kwargs["username"], kwargs["password"]) == (3, "ccmon", "secret")
    assert kwargs["socket_timeout"] == 5
    sentinels = [s.connection_pool.connection_kwargs for s in pool.sentinel_manager.sentinels]
    assert [(s["host"], s["port"]) for s in sentinels] == [
        ("s1", 26380),
        ("s2", 26379),
        ("::1", 26381),
    ]
    assert all(s["password"] == "sp" for s in sentinels)
    assert "secret" not in describe(url)
    assert (
        describe(url) == "the primary 'main' of the Redis Sentinels at s1:26380,s2:26379,::1:26381"
    )


@pytest.mark.parametrize(
    "url", ["redis+sentinel://s1:26379", "redis+sentinel://s1/a/b/c", "redis+sentinel:///main"]
)
def test_a_sentinel_url_without_a_primary_or_sentinels_says_why_without_its_password(
    url: str,
) -> None:
    with pytest.raises(RedisUrlError, match="primary-name") as caught:
        redis_client(url.replace("//", "//u:pw@"))
    assert "pw" not in str(caught.value)


def test_a_cluster_client_hands_an_outage_to_ccmon_within_half_a_second() -> None:
    """A failover takes at least cluster-node-timeout (2 s in the dev kit, 15 s by default):
    the client must give up well within it, so the worker's own loop says Redis is
    unreachable every time, not when redis-py's jitter happened to run out first."""
    client = redis_client("redis+cluster://127.0.0.1:7000")
    assert isinstance(client, RedisCluster)
    retries = client.retry.get_retries()
    assert retries <= 3
    backoff = client.retry._backoff
    assert sum(backoff.compute(n) for n in range(1, retries + 1)) <= 0.5
    # A caller's own policy wins.
    mine = redis_client("redis+cluster://127.0.0.1:7000", retry=None)
    assert isinstance(mine, RedisCluster)
    assert mine.retry.get_retries() == 10
