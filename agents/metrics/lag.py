"""Consumer lag per assigned partition, computed at scrape time: the broker's high-water
mark (as last seen by the fetcher) minus the position this worker is done with, its last
committed offset (the next offset after the last one read before its first commit).
Faust's built-in monitor has no lag metric; a stale wall screen starts here.

Not the last offset *read*: Faust reads up to ``stream_buffer_maxsize`` (4096) records per
stream ahead of what it processed, so a worker whose sends were stuck (the dead-letter or
repartition topic refusing writes) showed a lag near 0 while it held thousands of records
it could not finish (docs/reliability.md, "Slow or stuck downstream")."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


class LagCollector(Collector):
    def __init__(
        self,
        assigned: Callable[[], Collection[Any]],
        highwater: Callable[[Any], int | None],
        position: Callable[[Any], int | None],
        topics: Collection[str],
    ) -> None:
        self.assigned = assigned
        # Only the topics agents consume: changelog partitions are read during recovery and
        # then left alone, so their "lag" would be noise.
        self.topics = topics
        self.highwater = highwater
        self.position = position

    def describe(self) -> Iterator[Metric]:
        return self.families([])

    def _mine(self) -> list[Any]:
        wanted = set(self.topics)
        return [tp for tp in self.assigned() if tp.topic in wanted]

    def lag(self, tp: Any) -> int | None:
        """Records of the partition not yet done; None while its high-water mark is not
        known (the fetcher has not seen it yet)."""
        high = self.highwater(tp)
        if high is None or high < 0:
            return None
        return max(0, high - (self.position(tp) or 0))

    def collect(self) -> Iterator[Metric]:
        return self.families(self._mine())

    def total(self) -> int | None:
        """Records behind over every assigned partition of the consumed topics; None while
        none has a known high-water mark."""
        known = [n for n in map(self.lag, self._mine()) if n is not None]
        return sum(known) if known else None

    def families(self, mine: Collection[Any]) -> Iterator[Metric]:
        lag = GaugeMetricFamily(
            "ccmon_consumer_lag",
            "Records in the partition not yet processed and committed by this worker.",
            labels=["topic", "partition"],
        )
        assigned = GaugeMetricFamily(
            "ccmon_partitions_assigned",
            "Partitions actively assigned to this worker.",
            labels=["topic"],
        )
        per_topic: dict[str, int] = {}
        for tp in sorted(mine, key=lambda t: (t.topic, t.partition)):
            per_topic[tp.topic] = per_topic.get(tp.topic, 0) + 1
            behind = self.lag(tp)
            if behind is not None:
                lag.add_metric([tp.topic, str(tp.partition)], behind)
        for topic, n in per_topic.items():
            assigned.add_metric([topic], n)
        yield lag
        yield assigned
