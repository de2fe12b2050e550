"""Whether this worker reaches Redis and Kafka right now: what ``/healthz`` reports and
``ccmon_redis_up`` / ``ccmon_kafka_up`` export.

Redis is judged by every command the worker runs (a state write, a guard lookup, the queue
cap) and by a probe every few seconds, so an idle worker notices an outage too; Kafka by a
metadata request of its own (:class:`ccmon.streams.kafka.connection.BrokerProbe`). An outage is
reported, never acted upon: ``/healthz`` keeps answering 200, since a restart cures
neither a broker nor a Redis outage (a liveness probe that failed would restart every
worker at once), and a worker that answers keeps its metrics scraped, so the outage can be
alerted on (docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter as Tally
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge

from ccmon.agents.partitions.statestore import REDIS_ERRORS
from ccmon.streams.kafka.connection import BrokerProbe
from ccmon.streams.store.connect import RedisClient

log = logging.getLogger(__name__)

PROBE_INTERVAL_SECONDS = 2.0
PROBE_TIMEOUT_SECONDS = 5.0
# A storm: this many redirects within the window. A resharding moves slots one by one and
# answers MOVED or ASK for each key of a moving slot; a stable cluster answers none.
STORM_REDIRECTS = 20
STORM_WINDOW_SECONDS = 10.0


@dataclass
class Dependency:
    name: str
    gauge: Gauge
    up: bool = True
    since: float = 0.0  # wall time of the last change
    error: str = ""

    def set(self, up: bool, error: str = "") -> None:
        if up != self.up or not self.since:
            if up and self.since:
                log.warning("%s reachable again after %.1fs", self.name, time.time() - self.since)
            elif not up:
                log.warning("%s unreachable%s", self.name, f": {error}" if error else "")
            self.up, self.since = up, time.time()
            self.gauge.set(1 if up else 0)
        if not up and error:
            self.error = error
        elif up:
            self.error = ""

    def report(self) -> dict[str, object]:
        out: dict[str, object] = {"up": self.up, "since": round(self.since, 3)}
        if not self.up:
            out["error"] = self.error
        return out


class Redirects:
    """``MOVED``, ``ASK`` and ``TRYAGAIN`` answers of a Redis Cluster that the client
    followed (:class:`ccmon.streams.store.connect.ObservedCluster`): counted, and one log
    line when a storm starts and one when it ends, not one per redirect."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.counter = Counter(
            "ccmon_redis_redirects",
            "MOVED, ASK and TRYAGAIN answers of a Redis Cluster, followed by the client (slots "
            "moving: a resharding or a failover); none on a single Redis.",
            ["kind"],
            registry=registry,
        )
        for kind in ("moved", "ask", "tryagain"):
            self.counter.labels(kind)
        self.totals: Tally[str] = Tally()
        self.recent: deque[float] = deque()
        self.storm_since = 0.0

    def seen(self, kind: str) -> None:
        now = time.monotonic()
        self.counter.labels(kind).inc()
        self.totals[kind] += 1
        self.recent.append(now)
        self._trim(now)
        if not self.storm_since and len(self.recent) >= STORM_REDIRECTS:
            self.storm_since = now
            log.warning(
                "Redis Cluster: %d redirects (%s) within %.0fs: slots are moving (a resharding "
                "or a failover); following them",
                len(self.recent),
                ", ".join(f"{k} {n}" for k, n in sorted(self.totals.items())),
                STORM_WINDOW_SECONDS,
            )

    def calm(self) -> None:
        """Called by the probe: ends a storm once a window passed without redirects."""
        now = time.monotonic()
        self._trim(now)
        if self.storm_since and not self.recent:
            log.warning(
                "Redis Cluster: redirects stopped after %.0fs (%s in all)",
                now - self.storm_since,
                ", ".join(f"{k} {n}" for k, n in sorted(self.totals.items())),
            )
            self.storm_since = 0.0

    def _trim(self, now: float) -> None:
        while self.recent and self.recent[0] < now - STORM_WINDOW_SECONDS:
            self.recent.popleft()

    def report(self) -> dict[str, object]:
        return {**dict(sorted(self.totals.items())), "storm": bool(self.storm_since)}


class Health:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.redis = Dependency(
            "Redis",
            Gauge(
                "ccmon_redis_up",
                "1 while this worker's last Redis command succeeded, 0 while Redis is "
                "unreachable (counting waits: nothing is counted without the guard).",
                registry=registry,
            ),
        )
        self.kafka = Dependency(
            "Kafka",
            Gauge(
                "ccmon_kafka_up",
                "1 while this worker gets metadata from the Kafka cluster, 0 while it cannot.",
                registry=registry,
            ),
        )
        for dependency in (self.redis, self.kafka):
            dependency.set(True)
        self.redirects = Redirects(registry)
        # Records that Redis lost and the repartition topic no longer held when the owner
        # read them again, per owned partition (ccmon.agents.partitions.owner): numbers that
        # lack them for good, said until someone looks (docs/operations.md, "Redis").
        self.incomplete: Callable[[], dict[int, int]] = dict
        Gauge(
            "ccmon_state_unrecoverable_records",
            "Records whose counts Redis lost and that the repartition topic no longer held "
            "to count them again, in this worker's partitions: their numbers lack them.",
            registry=registry,
        ).set_function(lambda: sum(self.incomplete().values()))

    def redis_status(self, up: bool, error: str = "") -> None:
        self.redis.set(up, error)

    def kafka_status(self, up: bool, error: str = "") -> None:
        self.kafka.set(up, error)

    def report(self, partitions: list[int]) -> dict[str, object]:
        incomplete = self.incomplete()
        ok = self.redis.up and self.kafka.up and not incomplete
        redis = self.redis.report()
        if self.redirects.totals:
            redis["redirects"] = self.redirects.report()
        out: dict[str, object] = {
            "status": "ok" if ok else "degraded",
            "partitions": partitions,
            "redis": redis,
            "kafka": self.kafka.report(),
        }
        if incomplete:
            out["unrecoverable_records"] = {str(p): n for p, n in sorted(incomplete.items())}
        return out


def probe_keys(prefix: str, partitions: int, cluster: bool) -> list[str]:
    """What the probe writes: one key, or on a cluster one in each partition's slot (the
    state of a partition lives in its slot, so each partition's primary must take writes)."""
    if not cluster:
        return [f"{prefix}:health"]
    return [f"{{{prefix}:{p}}}:health" for p in range(partitions)]


async def probe(health: Health, broker: BrokerProbe, redis: RedisClient, keys: list[str]) -> None:
    """One round of probes. Redis gets a write with a TTL, not a PING: a Redis that answers
    but refuses writes (out of memory, a read-only replica) stops counting just the same."""
    error = await broker.check()
    health.kafka_status(not error, error)
    health.redirects.calm()
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
            async with redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.set(key, "1", ex=60)
                await pipe.execute()
    except (*REDIS_ERRORS, TimeoutError) as exc:
        health.redis_status(False, f"{type(exc).__name__}: {exc}".rstrip(": "))
    else:
        health.redis_status(True)
