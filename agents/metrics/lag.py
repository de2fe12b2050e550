"""Consumer lag per assigned partition, computed at scrape time: the broker's high-water
mark (as last seen by the fetcher) minus the next offset this worker will read. Faust's
built-in monitor has no lag metric; a stale wall screen starts here."""

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
        last_read: Callable[[Any], int | None],
        topics: Collection[str],
    ) -> None:
        self.assigned = assigned
        # Only the topics agents consume: changelog partitions are read during recovery and
        # then left alone, so their "lag" would be noise.
        self.topics = topics
        self.highwater = highwater
        self.last_read = last_read

    def describe(self) -> Iterator[Metric]:
        return self.families([])

    def collect(self) -> Iterator[Metric]:
        wanted = set(self.topics)
        return self.families([tp for tp in self.assigned() if tp.topic in wanted])

    def families(self, mine: Collection[Any]) -> Iterator[Metric]:
        lag = GaugeMetricFamily(
            "ccmon_consumer_lag",
            "Records in the partition not yet read by this worker.",
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
            high = self.highwater(tp)
            if high is None or high < 0:
                continue
            read = self.last_read(tp)
            next_offset = 0 if read is None else read + 1
            lag.add_metric([tp.topic, str(tp.partition)], max(0, high - next_offset))
        for topic, n in per_topic.items():
            assigned.add_metric([topic], n)
        yield lag
        yield assigned
