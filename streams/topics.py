"""Topics: the three sources, the dead-letter topic and the internal repartition topic.

Values travel as raw bytes: sources are decoded by :mod:`streams.events` (orjson, our own
validation), the repartition topic carries orjson-encoded normalised events.
"""

from __future__ import annotations

from faust import TopicT

from streams.app import app
from streams.settings import get_settings

settings = get_settings()

# Declared (created when missing, never altered) only when CCMON_DECLARE_SOURCE_TOPICS is
# on: convenient for the demo and tests; in production the integration owns its topics.
sources: dict[str, TopicT] = {
    name: app.topic(
        name,
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.source_partitions,
        internal=settings.declare_source_topics,
    )
    for name in settings.topic_channels()
}

dead_letter: TopicT = app.topic(
    settings.topic_dead_letter,
    key_serializer="raw",
    value_serializer="raw",
    partitions=1,
    internal=True,  # declared (created) by the worker so no rejected event is ever lost
)

# Keyed by "channel|queue" with the tables' partition count: every event of one channel x
# queue reaches the one worker that owns its state (Faust's group_by, made explicit).
by_queue: TopicT = app.topic(
    f"{settings.app_id}-events-by-queue",
    key_serializer="raw",
    value_serializer="raw",
    partitions=settings.partitions,
    internal=True,
)
