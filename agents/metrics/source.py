"""One read model per scrape: every collector of a scrape (and the Redis snapshot in the
same instant) shares the same build instead of walking the state again."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from ccmon.agents.readmodel import PolicyFor, QueueView, ReadModel, ReadModelBuilder
from ccmon.agents.state import PartitionState


class ReadModelSource:
    """The read model of the owned partitions, rebuilt at most every ``max_age_seconds``
    (a scrape and the snapshot of the same instant share one)."""

    def __init__(
        self,
        states: Callable[[], Mapping[int, PartitionState]],
        policy_for: PolicyFor,
        now: Callable[[], float],
        max_age_seconds: float = 0.25,
    ) -> None:
        self.states = states
        self.builder = ReadModelBuilder(policy_for)
        self.now = now
        self.max_age = max_age_seconds
        self._cached: ReadModel | None = None
        self._built_at = 0.0

    def get(self) -> ReadModel:
        if self._cached is None or time.monotonic() - self._built_at > self.max_age:
            self._cached = self.builder.build(self.states(), self.now())
            self._built_at = time.monotonic()
        return self._cached


class ViewCollector(Collector):
    """Base of the per-queue collectors: they read the shared read model at scrape time.

    ``families`` builds a collector's metric families from queue views. ``describe`` is
    the same families with no views: real names and types for the registry's duplicate
    check, without a collect (the registry is created with ``auto_describe=False``)."""

    def __init__(self, source: ReadModelSource) -> None:
        self.source = source

    def families(self, views: Sequence[QueueView]) -> Iterator[Metric]:
        raise NotImplementedError

    def describe(self) -> Iterator[Metric]:
        return self.families([])

    def collect(self) -> Iterator[Metric]:
        return self.families(list(self.source.get().queues.values()))
