"""Reading the records topic: every record of a date range, the latest revision of each
period, streamed (the topic is read once, from its start to the end it had when the read
began; only the records in range are decoded and kept).

A record's Kafka key is ``[channel, queue, period, local start, revision]`` (JSON): the
range, the queues and the period kinds are filtered on the key alone, so a long topic costs
a JSON parse of its keys, not of its values.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition

PeriodKey = tuple[str, str, str, str]  # channel, queue, period, local start
Progress = Callable[[int, int], None]  # (records read, records in the topic)
PROGRESS_SECONDS = 2.0


@dataclass(frozen=True)
class Want:
    """What a report reads: local dates ``first`` to ``last`` (ISO, both included), the
    period kinds, and the queues (empty: all)."""

    first: str
    last: str
    periods: frozenset[str] = frozenset({"day"})
    queues: frozenset[str] = frozenset()

    def __call__(self, key: PeriodKey) -> bool:
        _, queue, period, start = key
        day = start[:10]
        return (
            period in self.periods
            and self.first <= day <= self.last
            and (not self.queues or queue in self.queues)
        )


@dataclass
class Latest:
    """The latest revision of each period in range: its envelope (revision, reason,
    content...), and how the read went."""

    records: dict[PeriodKey, dict[str, Any]] = field(default_factory=dict)
    read: int = 0
    in_range: int = 0
    unreadable: int = 0


def parse_key(raw: bytes | None) -> tuple[PeriodKey, int] | None:
    try:
        channel, queue, period, start, revision = orjson.loads(raw or b"")
        return (str(channel), str(queue), str(period), str(start)), int(revision)
    except (orjson.JSONDecodeError, ValueError, TypeError):
        return None


def keep(latest: Latest, key: PeriodKey, revision: int, value: bytes) -> None:
    held = latest.records.get(key)
    # A revision sent twice (a crash before Kafka's acknowledgement) is the same bytes but
    # for its generation time; a higher one wins, whatever the order it was read in.
    if held is not None and held["revision"] >= revision:
        return
    envelope = orjson.loads(value)
    latest.records[key] = envelope


async def partitions(options: dict[str, Any], topic: str) -> list[int]:
    """The topic's partitions, or LookupError when it does not exist."""
    admin = AIOKafkaAdminClient(**options)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described.get("error_code", 0) != 0 or not described.get("partitions"):
        raise LookupError(f"topic {topic} does not exist (no worker has created it yet?)")
    return sorted(int(p["partition"]) for p in described["partitions"])


async def read_latest(
    options: dict[str, Any],
    topic: str,
    want: Callable[[PeriodKey], bool],
    progress: Progress | None = None,
) -> Latest:
    parts = await partitions(options, topic)
    consumer = AIOKafkaConsumer(
        **options, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    latest = Latest()
    try:
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        starts = await consumer.beginning_offsets(tps)
        total = sum(ends[tp] - starts[tp] for tp in tps)
        for tp in tps:
            consumer.seek(tp, starts[tp])
        left = {tp for tp in tps if ends[tp] > starts[tp]}
        said = time.monotonic()
        while left:
            batch = await consumer.getmany(*left, timeout_ms=1000, max_records=5000)
            for tp, messages in batch.items():
                for m in messages:
                    if m.offset >= ends[tp]:
                        left.discard(tp)
                        break
                    latest.read += 1
                    parsed = parse_key(m.key)
                    if parsed is None:
                        latest.unreadable += 1
                    elif want(parsed[0]):
                        latest.in_range += 1
                        keep(latest, parsed[0], parsed[1], m.value or b"")
                    if m.offset + 1 >= ends[tp]:
                        left.discard(tp)
            if progress is not None and time.monotonic() - said >= PROGRESS_SECONDS:
                progress(latest.read, total)
                said = time.monotonic()
        if progress is not None:
            progress(latest.read, total)
    finally:
        await consumer.stop()
    return latest


def queues_of(latest: Latest) -> Collection[tuple[str, str]]:
    return sorted({(c, q) for c, q, _, _ in latest.records})
