"""Before a worker joins its group: make sure every topic it will consume exists, with the
partition count the tables need, and is visible in the cluster metadata.

Faust declares its internal topics itself, but when it joins the group before the broker
lists a topic it has just created, the assignment leaves that topic out and the worker sits
with no partitions ("Ignoring missing topic"). Creating and waiting here first removes the
race, and a wrong partition count is reported in words instead of as silent mis-routing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from ccmon.streams.kafka.connection import KafkaSettingsError, client_options
from ccmon.streams.kafka.topics import RECORDS_CONFIG
from ccmon.streams.settings import Settings

log = logging.getLogger(__name__)

# What an unreachable or refusing cluster looks like in aiokafka's words, and what to check.
_HINTS = (
    (
        "Authentication",
        "check CCMON_KAFKA_SASL_USERNAME, CCMON_KAFKA_SASL_PASSWORD and CCMON_KAFKA_SASL_MECHANISM",
    ),
    ("CERTIFICATE_VERIFY_FAILED", "check CCMON_KAFKA_SSL_CA_FILE (the CA of the brokers)"),
    ("SSL", "check CCMON_KAFKA_SECURITY_PROTOCOL and the CCMON_KAFKA_SSL_* files"),
)


class PreflightError(RuntimeError):
    pass


class _Reasons(logging.Handler):
    """Keeps what aiokafka logs while the preflight connects (it logs why a bootstrap
    failed, then raises a bare "Unable to bootstrap"), instead of printing it."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _aiokafka_reasons() -> Iterator[_Reasons]:
    logger = logging.getLogger("aiokafka")
    handler, propagate = _Reasons(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _unreachable(settings: Settings, exc: Exception, reasons: list[str]) -> PreflightError:
    reason = reasons[-1] if reasons else f"{type(exc).__name__}: {exc}"
    hint = next((h for key, h in _HINTS if key in reason), "check CCMON_KAFKA")
    text = f"cannot connect to Kafka at {settings.kafka}: {reason}; {hint}"
    return PreflightError(" ".join(text.split()))  # one line, whatever the reason holds


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
        TopicSpec(settings.topic_dead_letter, 1, dead_letter_config(settings), False),
        TopicSpec(settings.records_topic, 1, records_config(settings), False),
        TopicSpec(f"{settings.app_id}-__assignor-__leader", 1, {}, False),
    ]
    if settings.declare_source_topics:
        specs += [
            TopicSpec(t, settings.source_partitions, {}, False) for t in settings.topic_channels()
        ]
    return specs


def dead_letter_config(settings: Settings) -> dict[str, str]:
    """The dead-letter topic keeps the rejected records' original bytes, personal data
    included: a retention of its own, and room for the longest value it keeps."""
    hours = settings.dead_letter_retention_hours
    return {
        "retention.ms": str(int(hours * 3_600_000)),
        "max.message.bytes": str(max(1_048_588, settings.dead_letter_max_bytes + 65_536)),
    }


def records_config(settings: Settings) -> dict[str, str]:
    """The closed records are what an audit reads: compacted, never deleted by time; with
    replicas, a write needs two of them (acks=all is what the worker asks)."""
    return {**RECORDS_CONFIG, "min.insync.replicas": str(min(2, settings.replication_factor))}


async def ensure_topics(settings: Settings, wait_seconds: float = 60.0) -> list[str]:
    """Create what is missing, check what exists; return the names created."""
    specs = required_topics(settings)
    try:
        options = client_options(settings)
    except KafkaSettingsError as exc:
        raise PreflightError(str(exc)) from exc
    admin = AIOKafkaAdminClient(**options, request_timeout_ms=15000)
    with _aiokafka_reasons() as reasons:
        try:
            await admin.start()
        except KafkaError as exc:
            with contextlib.suppress(KafkaError, OSError):
                await admin.close()
            raise _unreachable(settings, exc, reasons.messages) from exc
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
