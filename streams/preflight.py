"""Before a worker joins its group: make sure every topic it will consume exists, with the
partition count the tables need, and is visible in the cluster metadata.

Faust declares its internal topics itself, but when it joins the group before the broker
lists a topic it has just created, the assignment leaves that topic out and the worker sits
with no partitions ("Ignoring missing topic"). Creating and waiting here first removes the
race, and a wrong partition count is reported in words instead of as silent mis-routing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from ccmon.streams.kafka import client_options
from ccmon.streams.settings import Settings

log = logging.getLogger(__name__)


class PreflightError(RuntimeError):
    pass


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str]
    must_match: bool  # partitions must equal CCMON_PARTITIONS (state ownership)


def required_topics(settings: Settings) -> list[TopicSpec]:
    n = settings.partitions
    specs = [
        TopicSpec(f"{settings.app_id}-events-by-queue", n, {}, True),
        TopicSpec(settings.topic_dead_letter, 1, {}, False),
        TopicSpec(f"{settings.app_id}-__assignor-__leader", 1, {}, False),
    ]
    if settings.declare_source_topics:
        specs += [
            TopicSpec(t, settings.source_partitions, {}, False) for t in settings.topic_channels()
        ]
    return specs


async def ensure_topics(settings: Settings, wait_seconds: float = 60.0) -> list[str]:
    """Create what is missing, check what exists; return the names created."""
    specs = required_topics(settings)
    admin = AIOKafkaAdminClient(**client_options(settings), request_timeout_ms=15000)
    try:
        await admin.start()
    except KafkaError as exc:
        raise PreflightError(
            f"cannot reach Kafka at {settings.kafka} ({exc}); check CCMON_KAFKA"
        ) from exc
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if missing:
            await admin.create_topics(
                [
                    NewTopic(
                        s.name,
                        num_partitions=s.partitions,
                        replication_factor=settings.replication_factor,
                        topic_configs=s.config,
                    )
                    for s in missing
                ]
            )
        deadline = time.monotonic() + wait_seconds
        while True:
            described = {
                d["topic"]: d for d in await admin.describe_topics([s.name for s in specs])
            }
            ready = [
                s
                for s in specs
                if described.get(s.name, {}).get("error_code", 1) == 0
                and described[s.name].get("partitions")
            ]
            if len(ready) == len(specs):
                break
            if time.monotonic() > deadline:
                late = sorted({s.name for s in specs} - {s.name for s in ready})
                raise PreflightError(
                    f"topics not visible in Kafka after {wait_seconds:.0f}s: {late}"
                )
            await asyncio.sleep(0.2)
        for s in specs:
            have = len(described[s.name]["partitions"])
            if s.must_match and have != s.partitions:
                raise PreflightError(
                    f"topic {s.name} has {have} partitions but CCMON_PARTITIONS={s.partitions}; "
                    f"set CCMON_PARTITIONS={have}, or start a new state with another "
                    "CCMON_APP_ID and CCMON_REDIS_PREFIX (docs/operations.md, scaling)"
                )
        return [s.name for s in missing]
    finally:
        await admin.close()


def run_preflight(settings: Settings) -> None:
    created = asyncio.run(ensure_topics(settings))
    if created:
        log.info("created topics: %s", ", ".join(created))
