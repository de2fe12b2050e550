"""Pipeline health counted per worker process (these are ordinary client_python metrics:
they describe this process, so Prometheus' ``instance`` label tells workers apart)."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ccmon import __version__

BATCH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class PipelineMetrics:
    def __init__(
        self,
        registry: CollectorRegistry,
        topics: Iterable[str],
        types_by_topic: dict[str, Iterable[str]],
        reasons: Iterable[str],
        channels: Iterable[str],
    ) -> None:
        self.events = Counter(
            "ccmon_events",
            "Valid events received, by source topic and type.",
            ["topic", "type"],
            registry=registry,
        )
        self.rejected = Counter(
            "ccmon_events_rejected",
            "Events sent to the dead-letter topic, by source topic and reason.",
            ["topic", "reason"],
            registry=registry,
        )
        self.duplicates = Counter(
            "ccmon_events_duplicate",
            "Events whose event_id was already counted.",
            ["channel"],
            registry=registry,
        )
        self.replayed = Counter(
            "ccmon_events_replayed",
            "Events read again and skipped because their source position was counted "
            "already (a restart, a rebalance, a resend, an offset reset): not duplicates.",
            ["channel"],
            registry=registry,
        )
        self.redis_lost = Counter(
            "ccmon_redis_writes_lost",
            "Times an owner found Redis behind what it had counted (a restart from an older "
            "snapshot, a failover to a replica that lagged): it read the missing records "
            "again or wrote its copy back.",
            registry=registry,
        )
        self.reread = Counter(
            "ccmon_redis_records_reread",
            "Repartition records read again from Kafka because Redis had lost their counts.",
            registry=registry,
        )
        self.late = Counter(
            "ccmon_events_late",
            "Events older than bucket retention: counted in totals and today, not in windows.",
            ["channel"],
            registry=registry,
        )
        self.beyond_revision = Counter(
            "ccmon_events_beyond_revision",
            "Event counts for reporting intervals older than CCMON_RECORD_REVISION_DAYS: in the "
            "cumulative counters, in no closed record (those are final).",
            registry=registry,
        )
        self.overflow = Counter(
            "ccmon_events_queue_overflow",
            'Events of queues beyond the distinct-queue cap, counted under queue="other".',
            ["channel"],
            registry=registry,
        )
        self.last_event = Gauge(
            "ccmon_last_event_timestamp_seconds",
            "Wall-clock time this worker last received a valid event from the topic.",
            ["topic"],
            registry=registry,
        )
        self.send_retries = Counter(
            "ccmon_kafka_send_retries",
            "Ingest batches sent again because Kafka refused or timed out a dead-letter or "
            "repartition send: the batch waits and is not acknowledged, nothing is dropped.",
            registry=registry,
        )
        self.queues_tracked = Gauge(
            "ccmon_queues_tracked",
            "Distinct queue labels admitted by this worker.",
            registry=registry,
        )
        self.batches = Histogram(
            "ccmon_batch_seconds",
            "Time to process one batch, from taking it to its acknowledgement, by stage "
            "(ingest: validate and send; count: guard lookup, effects, state write; expire: "
            "one expiry tick of every owned partition).",
            ["stage"],
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.readmodel_seconds = Gauge(
            "ccmon_readmodel_build_seconds",
            "Time the last read-model build (windows for every owned queue) took.",
            registry=registry,
        )
        self.catching_up = Gauge(
            "ccmon_worker_catching_up",
            "1 while this worker catches up on a backlog (CCMON_CATCH_UP_LAG_RECORDS): "
            "forecasts slowed, the wall's documents published every 2 s only.",
            registry=registry,
        )
        Gauge(
            "ccmon_worker_info", "Version of the ccmon worker.", ["version"], registry=registry
        ).labels(__version__).set(1)
        # Pre-create the series so rate() sees the first increment of each.
        reasons = sorted(reasons)  # the same order every run (REASONS is a set)
        for topic in topics:
            for reason in reasons:
                self.rejected.labels(topic, reason)
            for kind in sorted(types_by_topic.get(topic, ())):  # same order every run
                self.events.labels(topic, kind)
        for stage in ("ingest", "count", "expire"):
            self.batches.labels(stage)
        for channel in channels:
            self.duplicates.labels(channel)
            self.late.labels(channel)
            self.replayed.labels(channel)
            self.overflow.labels(channel)
