"""The composition root: :func:`build_app` makes one worker's Faust app from its settings.

Nothing is built at import time. Everything a worker has (topics, tables, the runtime,
agents, timers, pages, collectors) is created here, in one readable place, so a test can
build as many apps as it likes with settings of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import faust

from ccmon.agents.partitions.owner import LossReport, Owner
from ccmon.agents.partitions.statestore import REDIS_ERRORS
from ccmon.agents.worker import exposition, health, snapshot
from ccmon.agents.worker.countagent import register_counting
from ccmon.agents.worker.ingest import register_ingest
from ccmon.agents.worker.runtime import Runtime
from ccmon.agents.worker.sensor import CcmonSensor
from ccmon.agents.worker.web import register_pages
from ccmon.streams.kafka import transport
from ccmon.streams.kafka.connection import (
    BrokerProbe,
    bootstrap_servers,
    faust_credentials,
    max_request_bytes,
)
from ccmon.streams.kafka.topics import declare_topics
from ccmon.streams.logs import faust_logging_config
from ccmon.streams.settings import Settings
from ccmon.streams.store.clock import SharedStreamClock
from ccmon.streams.store.connect import is_cluster

log = logging.getLogger(__name__)


class WorkerApp(faust.App):
    """Faust's app, which tells ``stopping`` first when it stops.

    Faust's stop waits until every record it delivered is acknowledged, before it stops any
    agent. A batch that waits for a Redis that does not answer never is, and the worker
    stopped only when it was killed (DEVELOPERS.md, pitfall 68): :meth:`Owner.stop` ends
    such waits."""

    stopping: Callable[[], None] = staticmethod(lambda: None)

    async def on_stop(self) -> None:
        self.stopping()
        await super().on_stop()


def create_faust_app(settings: Settings) -> WorkerApp:
    """The Faust app alone, configured from the settings, with nothing registered."""
    scheme = transport.register()
    return WorkerApp(
        settings.app_id,
        broker=";".join(f"{scheme}://{hostport}" for hostport in bootstrap_servers(settings)),
        broker_credentials=faust_credentials(settings),
        datadir=str(settings.data_dir),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=settings.commit_interval_seconds,
        broker_session_timeout=settings.session_timeout_seconds,
        broker_heartbeat_interval=min(3.0, settings.session_timeout_seconds / 3),
        producer_acks=-1,
        # A dead-letter record keeps up to CCMON_DEAD_LETTER_MAX_BYTES of the bad value.
        producer_max_request_size=max_request_bytes(settings),
        # A send that waits longer is sent again by ingest, which logs it (Faust's default,
        # 20 minutes, would stall a batch that long without a word).
        producer_request_timeout=settings.produce_timeout_seconds,
        processing_guarantee="at_least_once",
        web_enabled=True,
        web_bind=settings.web_host,
        web_port=settings.web_port,
        # Faust's router and table blueprints serve raw table contents: contact ids.
        web_router_enabled=False,
        web_tables_enabled=False,
        # Faust's own Prometheus monitor records ~0 ms latencies; ours is agents.worker.sensor.
        monitor=None,
        version=1,
        # Our agents, timers and pages are registered by build_app, never discovered.
        autodiscover=False,
        # CCMON_LOG_FORMAT=json: Faust's, aiokafka's and our lines alike (ccmon.streams.logs).
        logging_config=faust_logging_config(settings.log_format),
    )


def build_app(settings: Settings) -> WorkerApp:
    app = create_faust_app(settings)
    runtime = Runtime(settings)
    topics = declare_topics(app, settings)
    pipeline = runtime.pipeline
    owner = Owner(
        runtime.store,
        on_redis=runtime.health.redis_status,
        report=LossReport(detected=pipeline.redis_lost.inc, reread=pipeline.reread.inc),
    )
    runtime.health.incomplete = owner.unrecoverable
    app.stopping = owner.stop
    by_queue = topics.by_queue.get_topic_name()

    def owned_partitions() -> set[int]:
        """Partitions of the repartition topic whose state this worker holds and exports."""
        return set(owner.owned())

    sensor = CcmonSensor(runtime.registry)
    app.sensors.add(sensor)
    source, metrics = exposition.register(
        runtime, owner, app, sensor, [*settings.topic_channels(), by_queue]
    )
    register_ingest(app, topics, runtime)
    register_counting(app, topics, runtime, owner)
    register_pages(app, metrics.body, owned_partitions, runtime.health)
    snapshot.register_publisher(
        app,
        runtime,
        source,
        built=metrics.queues.offer,
        catching_up=lambda: metrics.catch_up.active,
    )
    shared_clock = SharedStreamClock(
        runtime.redis, f"{settings.redis_prefix}:stream-time", runtime.clock
    )
    if settings.clock == "stream":

        @app.timer(interval=0.5, name="ccmon.stream_clock")
        async def sync_stream_clock() -> None:
            try:
                await shared_clock.sync()
            except REDIS_ERRORS as exc:  # a timer that raises stops the worker
                log.debug("stream clock not shared: %s", exc)

    broker = BrokerProbe(settings)
    keys = health.probe_keys(settings.redis_prefix, settings.partitions, is_cluster(settings.redis))

    @app.timer(interval=health.PROBE_INTERVAL_SECONDS, name="ccmon.health")
    async def check_health() -> None:
        await health.probe(runtime.health, broker, runtime.redis, keys)

    return app
