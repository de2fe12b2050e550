"""The Redis URL forms: one server, or a cluster through its seeds (no server needed)."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from ccmon.streams.store.connect import (
    RedisUrlError,
    cluster_seeds,
    describe,
    is_cluster,
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
    ],
)
def test_a_cluster_url_ccmon_cannot_use_says_why(url: str, problem: str) -> None:
    with pytest.raises(RedisUrlError, match=problem):
        redis_client(url)


def test_describe_never_shows_a_password() -> None:
    assert describe("redis://:pw@127.0.0.1:6379/0") == "Redis at 127.0.0.1:6379"
