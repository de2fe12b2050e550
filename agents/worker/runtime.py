"""The objects one worker shares between its agents, built from the settings by the
composition root (:func:`ccmon.agents.worker.app.build_app`): queue configuration, Redis client,
the state store (with the duplicate guard), the metrics registry and the clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import cached_property
from typing import Any, cast

from faust import StreamT
from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector

from ccmon.agents.domain.buckets import histogram_bounds
from ccmon.agents.domain.effects import HANDLE, TICKET_FRT, TICKET_RESOLUTION, WAIT, StateLimits
from ccmon.agents.domain.exits import Routes
from ccmon.agents.metrics.pipeline import PipelineMetrics
from ccmon.agents.partitions.statestore import StateStore
from ccmon.agents.worker.health import Health
from ccmon.streams.config import QueueConfig, QueuePolicy, load_queue_config
from ccmon.streams.contract import events
from ccmon.streams.settings import Settings
from ccmon.streams.store.clock import Clock
from ccmon.streams.store.connect import RedisClient, redis_client
from ccmon.streams.store.queuecap import QueueCap

WAIT_LADDER = (
    5.0,
    10.0,
    15.0,
    20.0,
    30.0,
    45.0,
    60.0,
    90.0,
    120.0,
    180.0,
    300.0,
    600.0,
    1200.0,
    1800.0,
    3600.0,
)
HANDLE_LADDER = (
    30.0,
    60.0,
    120.0,
    180.0,
    240.0,
    300.0,
    420.0,
    600.0,
    900.0,
    1200.0,
    1800.0,
    3600.0,
)
HOURS = 3600.0
TICKET_LADDER = tuple(h * HOURS for h in (0.25, 0.5, 1, 2, 4, 8, 12, 24, 48, 72, 120, 168))


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.clock = Clock(settings.clock)
        self.registry = CollectorRegistry(auto_describe=False)
        # client_python's own: CPU seconds, memory, open files, start time, Python version
        # (a handful of series per worker, computed at scrape time; docs/metrics.md).
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)

    def batches(self, stream: StreamT[Any]) -> AsyncIterator[list[Any]]:
        """The stream's events in batches of up to ``CCMON_BATCH_MAX_EVENTS``, at most
        ``CCMON_BATCH_MAX_WAIT_SECONDS`` late; none is acknowledged: the caller acknowledges
        a batch once what it caused is durable (Faust's ``noack_take`` + ``stream.ack``)."""
        taken = cast(Any, stream).noack_take(
            self.settings.batch_max_events, self.settings.batch_max_wait_seconds
        )
        return cast(AsyncIterator[list[Any]], taken)

    @cached_property
    def config(self) -> QueueConfig:
        return load_queue_config(self.settings.queue_config)

    def policy(self, channel: str, queue: str) -> QueuePolicy:
        return self.config.policy(channel, queue)

    @cached_property
    def routes(self) -> Routes:
        """Where flow-outs and transfers may offer a contact: a configured queue of the
        channel, any queue when the configuration lists none (docs/events.md)."""
        config = self.config
        listed = config.configured_queues

        def known(channel: str, queue: str) -> bool:
            return not listed or channel in config.channels_of(queue)

        return Routes(self.settings.partitions, known)

    @cached_property
    def limits(self) -> events.ValidationLimits:
        return events.ValidationLimits(
            max_future_skew_seconds=self.settings.max_future_skew_seconds
        )

    def _thresholds(self) -> tuple[set[tuple[float, str]], set[tuple[float, str]]]:
        """(answer thresholds, ticket targets) of every queue policy."""
        # Unknown queues get the defaults, so a name no queue uses stands for them.
        queues = [*self.config.configured_queues, "\x00defaults"]
        policies = [self.config.policy("ticket", q) for q in queues]
        ticket_targets = {
            (float(v), "<=")
            for p in policies
            for v in (p.first_response_target_seconds, p.resolution_target_seconds)
        }
        return self.config.all_thresholds(), ticket_targets

    def exported_bounds(self, full: bool) -> dict[str, list[float]]:
        """Histogram buckets on /metrics: the whole ladder, or only the thresholds and
        targets (the counts are kept per ladder bound either way)."""
        if full:
            return self.state_limits.histogram_bounds
        thresholds, ticket_targets = self._thresholds()
        return {
            WAIT: histogram_bounds(thresholds, ()),
            HANDLE: [],
            TICKET_FRT: histogram_bounds(ticket_targets, ()),
            TICKET_RESOLUTION: histogram_bounds(ticket_targets, ()),
        }

    @cached_property
    def state_limits(self) -> StateLimits:
        thresholds, ticket_targets = self._thresholds()
        return StateLimits(
            bucket_retention_minutes=self.settings.bucket_retention_minutes,
            day_retention_days=self.settings.day_retention_days,
            agent_silence_seconds=self.settings.agent_silence_seconds,
            record_revision_days=self.settings.record_revision_days,
            dedupe_ttl_seconds=self.settings.dedupe_ttl_seconds,
            histogram_bounds={
                WAIT: histogram_bounds(thresholds, WAIT_LADDER),
                HANDLE: histogram_bounds((), HANDLE_LADDER),
                TICKET_FRT: histogram_bounds(ticket_targets, TICKET_LADDER),
                TICKET_RESOLUTION: histogram_bounds(ticket_targets, TICKET_LADDER),
            },
        )

    @cached_property
    def redis(self) -> RedisClient:
        # Health first: the cluster client tells it of each redirect it follows.
        return redis_client(self.settings.redis, on_redirect=self.health.redirects.seen)

    @cached_property
    def store(self) -> StateStore:
        settings = self.settings
        return StateStore(
            self.redis,
            settings.redis_prefix,
            settings.dedupe_ttl_seconds,
            # Safety nets only (the owner removes old buckets itself): a partition nobody
            # owns any more does not keep its buckets in Redis for ever.
            {
                "m": (settings.bucket_retention_minutes + 60) * 60,
                "d": (settings.day_retention_days + 1) * 86400,
                # Past the owner's own drop (the revision days + 2 after the interval's
                # start; its last write is at its close, or a late event's): with + 1, an
                # interval a day's revision still needs was gone from Redis for the last day
                # of its keep, and a worker that loaded the partition then lacked it.
                "p": (settings.record_revision_days + 3) * 86400,
            },
        )

    @cached_property
    def queue_cap(self) -> QueueCap:
        return QueueCap(
            self.redis,
            self.settings.redis_prefix,
            self.config.configured_queues,
            self.config.max_queues,
        )

    @cached_property
    def health(self) -> Health:
        return Health(self.registry)

    @cached_property
    def pipeline(self) -> PipelineMetrics:
        topics = self.settings.topic_channels()
        return PipelineMetrics(
            self.registry,
            topics,
            {t: events.TYPES_BY_CHANNEL[c] for t, c in topics.items()},
            events.REASONS,
            topics.values(),
        )
