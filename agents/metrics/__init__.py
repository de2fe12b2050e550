"""Prometheus exposition: one collector per concern, all computing at scrape time."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from agents.ledger import Tables
from agents.metrics.counters import CountersCollector
from agents.metrics.lag import LagCollector
from agents.metrics.live import LiveCollector
from agents.metrics.source import ReadModelSource
from agents.metrics.targets import TargetsCollector
from agents.metrics.windows import WindowsCollector


def register(
    runtime: Any,
    tables: Tables,
    partitions: Callable[[], Collection[int]],
    app: Any,
    sensor: Any,
    consumed_topics: Callable[[], Collection[str]],
) -> ReadModelSource:
    source = ReadModelSource(tables, partitions, runtime.policy, runtime.clock.now)
    registry = runtime.registry
    registry.register(CountersCollector(source, runtime.ledger_limits.histogram_bounds))
    registry.register(WindowsCollector(source))
    registry.register(LiveCollector(source))
    registry.register(TargetsCollector(source))

    def highwater(tp: Any) -> int | None:
        try:
            return int(app.consumer.highwater(tp))
        except Exception:  # the fetcher has not seen the partition yet
            return None

    registry.register(
        LagCollector(
            app.assignor.assigned_actives, highwater, sensor.last_read.get, consumed_topics
        )
    )
    runtime.pipeline  # noqa: B018 - creates the pipeline series before the first scrape
    return source
