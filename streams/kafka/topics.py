"""Topics: the three sources, the dead-letter topic and the internal repartition topic.

Values travel as raw bytes: sources are decoded by :mod:`ccmon.streams.contract.events` (orjson, our
own validation). A repartition record is a batch: an orjson list of the normalised events
an ingest batch had for that partition, each with ``src``, its source position.
"""

from __future__ import annotations

from dataclasses import dataclass

import faust
from faust import TopicT

from ccmon.streams.settings import Settings

# An audit trail: compacted (a revision written twice after a crash is kept once, every
# revision has a key of its own) and never deleted by time (docs/architecture.md, "Decision
# record: closed records").
RECORDS_CONFIG = {
    "cleanup.policy": "compact",
    "retention.ms": "-1",
    "retention.bytes": "-1",
    "min.compaction.lag.ms": "3600000",
    "min.insync.replicas": "1",
}


@dataclass(frozen=True)
class Topics:
    sources: dict[str, TopicT]  # source topic name -> topic
    dead_letter: TopicT
    by_queue: TopicT
    records: TopicT


def declare_topics(app: faust.App, settings: Settings) -> Topics:
    # Sources are declared (created when missing, never altered) only with
    # CCMON_DECLARE_SOURCE_TOPICS: convenient for the demo and tests; in production the
    # integration owns its topics.
    sources = {
        name: app.topic(
            name,
            key_serializer="raw",
            value_serializer="raw",
            partitions=settings.source_partitions,
            internal=settings.declare_source_topics,
        )
        for name in settings.topic_channels()
    }
    dead_letter = app.topic(
        settings.topic_dead_letter,
        key_serializer="raw",
        value_serializer="raw",
        partitions=1,
        internal=True,  # declared (created) by the worker so no rejected event is ever lost
    )
    by_queue = app.topic(
        f"{settings.app_id}-events-by-queue",
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.partitions,
        internal=True,
    )
    # The closed records (ccmon.agents.worker.closing); created by the preflight, compacted.
    records = app.topic(
        settings.records_topic,
        key_serializer="raw",
        value_serializer="raw",
        partitions=1,
        internal=True,
        config=RECORDS_CONFIG,
    )
    return Topics(sources, dead_letter, by_queue, records)
