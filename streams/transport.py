"""Faust's aiokafka transport with one fix: every assigned partition is positioned after a
rebalance, including those that have no committed offset yet.

Why (docs/architecture.md, "Rebalances"): when partitions are revoked, Faust drops the
records it has already fetched but not yet processed — the rest of the batch being
iterated, records of partitions it has paused, its stream buffers — and relies on
``seek_to_committed()`` in ``Consumer.perform_seek`` to fetch them again. aiokafka's
``seek_to_committed`` seeks only partitions whose committed offset is a positive number;
a partition that has never been committed (every partition in its first commit interval,
any quiet partition) keeps the fetch position reached before the rebalance. The dropped
records are never read, no gap is seen because Faust's read offset is unset, and the next
commit goes past them: events lost, or (when a commit already happened below the hole)
offsets that never advance again. Seeking such partitions to offset 0, their beginning,
which is what ``auto_offset_reset=earliest`` means for a group without offsets, re-reads
them; the duplicate guard makes the re-read exact.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import ClassVar

import aiokafka
from faust.transport.drivers import TRANSPORTS
from faust.transport.drivers import aiokafka as driver
from faust.types import TP

SCHEME = "ccmon"


async def seek_to_committed_or_beginning(
    consumer: aiokafka.AIOKafkaConsumer, is_stream: Callable[[TP], bool] = lambda tp: True
) -> Mapping[TP, int]:
    """Seek every assigned partition to its committed offset, or, for the partitions
    ``is_stream`` selects, to its first offset when it has none (``None``, or 0: nothing
    was ever processed there).

    Table changelog partitions are never committed and are positioned by Faust's
    recovery: they must be left alone (read again from the start, they would overwrite
    newer table values with old ones). Returns what ``seek_to_committed`` returns
    (``None`` where nothing is committed), which Faust's ``perform_seek`` turns into its
    read and committed offsets."""
    committed: Mapping[TP, int] = await consumer.seek_to_committed()
    for tp, offset in committed.items():
        if (not offset or offset < 0) and is_stream(tp):
            # Offset 0 rather than seek_to_beginning(): no await between the two seeks, so
            # no fetch can slip in before Faust resumes its queues (a missing offset 0 is
            # out of range, and aiokafka then resets to the earliest one, the same thing).
            consumer.seek(tp, 0)
    return committed


class ConsumerThread(driver.AIOKafkaConsumerThread):
    async def seek_to_committed(self) -> Mapping[TP, int]:
        changelogs = self.app.tables.changelog_topics
        result: Mapping[TP, int] = await self.call_thread(
            seek_to_committed_or_beginning,
            self._ensure_consumer(),
            lambda tp: tp.topic not in changelogs,
        )
        return result


class Consumer(driver.Consumer):
    def _new_consumer_thread(self) -> ConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(driver.Transport):
    Consumer: ClassVar[type[Consumer]] = Consumer


def register() -> str:
    """Make ``ccmon://host:port`` broker URLs use this transport; returns the scheme."""
    TRANSPORTS.aliases[SCHEME] = f"{__name__}:Transport"
    return SCHEME
