"""The one way ccmon connects to Redis: a single server, Redis Sentinel, or a Redis Cluster /
Valkey cluster.

``CCMON_REDIS`` (and ``ccmon wall --redis``) takes:

- ``redis://[user:password@]host:port/db`` or ``rediss://...`` (TLS): one server, as before;
- ``redis+cluster://[user:password@]host:port[,host:port...]`` or ``rediss+cluster://...``:
  a cluster, reached through any of the seed nodes listed (redis-py's
  ``redis.asyncio.cluster.RedisCluster``, which learns the rest of the topology and follows
  ``MOVED`` and ``ASK``). The query string takes redis-py's URL options, as for one server
  (``?ssl_ca_certs=...``). A cluster has database 0 only.
- ``redis+sentinel://[user:password@]host:port[,host:port...]/primary-name[/db]`` or
  ``rediss+sentinel://...`` (TLS to the sentinels and the primary): Redis Sentinel, the
  hosts being the sentinels (port 26379 unless given) and ``primary-name`` the name they
  monitor; user and password are the primary's, ``?sentinel_password=...`` (and
  ``sentinel_username``) the sentinels'. Every new connection goes to the primary the
  sentinels name now: after a failover, the next command reaches the new one (a command
  that meets a demoted primary, READONLY, reconnects likewise). A replica promoted while
  it lagged holds fewer writes than were acknowledged: the owners find it behind and
  count the missing records again (docs/architecture.md, "Idempotency").

The worker, the wall, the demo, the tests and the benchmark all call :func:`redis_client`,
so a new form is added here once. :func:`check_redis` is the worker's check before it joins
its group: a cluster URL that reaches no cluster, or a single-server URL that points at a
cluster node (whose every command for another node's slots would answer ``MOVED``), stops
the worker with one line instead of a worker that retries for ever.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.connection import SSLConnection, parse_url
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff
from redis.exceptions import AskError, RedisClusterException, RedisError, TryAgainError

RedisClient = Redis | RedisCluster
SCHEMES = (
    "redis",
    "rediss",
    "unix",
    "redis+cluster",
    "rediss+cluster",
    "redis+sentinel",
    "rediss+sentinel",
)
SENTINEL_PORT = 26379
CHECK_TIMEOUT_SECONDS = 10.0
# How long a cluster client retries a command on its own before the error reaches ccmon: at
# most 0.1 + 0.2 + 0.2 s. redis-py's default (10 retries, jittered backoff up to 1 s each)
# rides out 0 to about 4 s at random, as long as a failover takes, so whether a worker saw
# (and said) that a primary was gone was a coin toss (tests/integration/cluster/
# test_failover.py failed on it). ccmon's own loops wait and retry every Redis error and
# report it (ccmon_redis_up, /healthz, one log line); the client only absorbs a blip.
CLUSTER_RETRIES = 3
CLUSTER_BACKOFF = ExponentialBackoff(cap=0.2, base=0.05)


class RedisUrlError(ValueError):
    """A Redis URL ccmon cannot use; the message says why, never the password."""


def is_cluster(url: str) -> bool:
    return url.partition("://")[0].endswith("+cluster")


def is_sentinel(url: str) -> bool:
    return url.partition("://")[0].endswith("+sentinel")


def cluster_seeds(url: str) -> list[tuple[str, int]]:
    """The seed nodes of a ``redis+cluster://`` URL."""
    return _split_cluster(url)[1]


def _split_cluster(url: str) -> tuple[str, list[tuple[str, int]]]:
    """(the URL of the first seed with the scheme's TLS, credentials and options; seeds)."""
    scheme, _, rest = url.partition("://")
    rest, sep, query = rest.partition("?")
    netloc, _, path = rest.partition("/")
    userinfo, at, hostlist = netloc.rpartition("@")
    if path.strip("/") not in ("", "0"):
        raise RedisUrlError(f"a Redis Cluster has database 0 only, not /{path.strip('/')}")
    seeds: list[tuple[str, int]] = []
    for item in filter(None, (h.strip() for h in hostlist.split(","))):
        host, colon, port = item.rpartition(":")
        if not colon or not port.isdigit() or not host:
            raise RedisUrlError(f"cluster seed {item!r} is not host:port")
        seeds.append((unquote(host.strip("[]")), int(port)))
    if not seeds:
        raise RedisUrlError("a cluster URL needs at least one host:port")
    base = scheme.removesuffix("+cluster")
    first = f"{seeds[0][0]}:{seeds[0][1]}"
    return f"{base}://{userinfo}{at}{first}/0{sep}{query}", seeds


class ObservedCluster(RedisCluster):
    """redis-py's cluster client, telling ``on_redirect`` of each ``MOVED``, ``ASK`` and
    ``TRYAGAIN`` it meets (it follows them itself): slots moving under a worker during a
    resharding are reported instead of only slowing it down.

    The hook is the client's own error-metric call (its OpenTelemetry recorder), made once per
    redirect of a command; tests/integration/cluster/test_cluster.py fails if a release of
    redis-py stops calling it."""

    on_redirect: Callable[[str], None] | None = None

    async def _record_error_metric(
        self,
        error: Exception,
        connection: Any,
        is_internal: bool = True,
        retry_attempts: int | None = None,
    ) -> None:
        if self.on_redirect is not None and isinstance(error, AskError | TryAgainError):
            self.on_redirect(type(error).__name__.removesuffix("Error").lower())
        await super()._record_error_metric(error, connection, is_internal, retry_attempts)


def redis_client(
    url: str, on_redirect: Callable[[str], None] | None = None, **options: Any
) -> RedisClient:
    """A client for ``url`` (a single server or a cluster); ``options`` go to redis-py
    (``socket_timeout=5``...), the URL's own options win as in redis-py. ``on_redirect``
    hears of each ``MOVED`` (``"moved"``), ``ASK`` and ``TRYAGAIN`` a cluster answers."""
    scheme = url.partition("://")[0]
    if scheme not in SCHEMES:
        raise RedisUrlError(f"unknown scheme {scheme!r}; use one of {', '.join(SCHEMES)}")
    if is_sentinel(url):
        return _sentinel_client(url, **options)
    if not is_cluster(url):
        return Redis.from_url(url, **options)
    first, seeds = _split_cluster(url)
    kwargs = {**options, **parse_url(first)}
    for name in ("host", "port", "db", "path"):
        kwargs.pop(name, None)
    if kwargs.pop("connection_class", None) is SSLConnection:
        kwargs["ssl"] = True
    kwargs.setdefault("retry", Retry(CLUSTER_BACKOFF, CLUSTER_RETRIES))
    nodes = [ClusterNode(host, port) for host, port in seeds]
    client = ObservedCluster(startup_nodes=nodes, **kwargs)
    client.on_redirect = on_redirect
    return client


def _split_sentinel(url: str) -> tuple[list[tuple[str, int]], str, int, dict[str, str]]:
    """(sentinels, primary name, db, the URL's userinfo and query) of a Sentinel URL."""
    rest = url.partition("://")[2]
    rest, _, query = rest.partition("?")
    netloc, _, path = rest.partition("/")
    userinfo, _, hostlist = netloc.rpartition("@")
    sentinels: list[tuple[str, int]] = []
    for item in filter(None, (h.strip() for h in hostlist.split(","))):
        host, colon, port = item.rpartition(":")
        if not colon:
            host, port = item, str(SENTINEL_PORT)
        if not port.isdigit() or not host:
            raise RedisUrlError(f"sentinel {item!r} is not host:port")
        sentinels.append((unquote(host.strip("[]")), int(port)))
    parts = [p for p in path.split("/") if p]
    db_ok = len(parts) == 1 or (len(parts) == 2 and parts[1].isdigit())
    if not sentinels or not db_ok:
        raise RedisUrlError(
            "a Sentinel URL is redis+sentinel://[user:password@]host:port[,host:port...]"
            "/primary-name[/db]"
        )
    user, _, password = userinfo.partition(":")
    extra = {k: unquote(v) for k, _, v in (p.partition("=") for p in query.split("&") if p)}
    extra |= {"username": unquote(user), "password": unquote(password)}
    return sentinels, unquote(parts[0]), int(parts[1]) if len(parts) == 2 else 0, extra


def _sentinel_client(url: str, **options: Any) -> Redis:
    sentinels, name, db, extra = _split_sentinel(url)
    tls = url.startswith("rediss+")
    timeouts = {k: v for k, v in options.items() if k.startswith("socket_")}
    sentinel_kwargs: dict[str, Any] = {"ssl": tls, **timeouts}
    for key in ("sentinel_username", "sentinel_password"):
        if extra.get(key):
            sentinel_kwargs[key.removeprefix("sentinel_")] = extra[key]
    primary: dict[str, Any] = {"ssl": tls, "db": db, **options}
    for key in ("username", "password"):
        if extra[key]:
            primary[key] = extra[key]
    client: Redis = Sentinel(sentinels, sentinel_kwargs=sentinel_kwargs, **primary).master_for(name)
    return client


async def get_many(client: RedisClient, keys: list[str]) -> list[Any]:
    """``MGET`` of keys that may live in several slots of a cluster (one ``MGET`` per slot,
    pipelined: not atomic across slots, which no reader here needs)."""
    if isinstance(client, RedisCluster):
        return await client.mget_nonatomic(keys)
    return await client.mget(keys)


def describe(url: str) -> str:
    """Where ``url`` points, without credentials: for log lines and errors."""
    if is_cluster(url):
        try:
            return "the Redis Cluster at " + ",".join(f"{h}:{p}" for h, p in cluster_seeds(url))
        except RedisUrlError:
            return "a Redis Cluster"
    if is_sentinel(url):
        try:
            sentinels, name, _, _ = _split_sentinel(url)
        except RedisUrlError:
            return "Redis Sentinel"
        where = ",".join(f"{h}:{p}" for h, p in sentinels)
        return f"the primary {name!r} of the Redis Sentinels at {where}"
    rest = url.partition("://")[2].rpartition("@")[2]
    return "Redis at " + rest.partition("/")[0].partition("?")[0]


async def _check(url: str) -> str | None:
    client = redis_client(url, socket_timeout=5, socket_connect_timeout=5)
    try:
        if isinstance(client, RedisCluster):
            await client.initialize()
            return None
        try:
            info = await client.info("cluster")
        except RedisError:
            return None  # down, or a password Redis may yet accept: the worker reports it
        if str(info.get("cluster_enabled", "0")) == "1":
            return "it is a Redis Cluster node: use redis+cluster://host:port[,host:port...]"
        return None
    finally:
        await client.aclose()


def check_redis(url: str) -> str | None:
    """None when ``url`` can be used, else one line saying why not.

    A cluster must answer now: a cluster URL whose seeds reach no cluster is a wrong
    address far more often than an outage at the very moment of a start (and a restart
    policy starts the worker again). A single server that does not answer is not checked:
    an outage pauses counting and is reported, as documented (docs/operations.md)."""
    where = describe(url)
    try:
        problem = asyncio.run(asyncio.wait_for(_check(url), CHECK_TIMEOUT_SECONDS))
    except RedisUrlError as exc:
        return f"CCMON_REDIS: {exc}"
    except TimeoutError:
        problem = f"no answer within {CHECK_TIMEOUT_SECONDS:.0f}s"
    except (RedisError, RedisClusterException, OSError) as exc:
        problem = " ".join(f"{type(exc).__name__}: {exc}".split())
    if problem is None:
        return None
    return f"cannot use {where}: {problem}; check CCMON_REDIS"
