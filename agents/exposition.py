"""Registers every collector of a worker in its registry: the per-queue collectors over
the shared read model, consumer lag, and the pipeline counters."""

from __future__ import annotations

from collections.abc import Collection

import faust
from faust.types import TP

from ccmon.agents.metrics.counters import CountersCollector
from ccmon.agents.metrics.lag import LagCollector
from ccmon.agents.metrics.live import LiveCollector
from ccmon.agents.metrics.source import ReadModelSource
from ccmon.agents.metrics.targets import TargetsCollector
from ccmon.agents.metrics.windows import WindowsCollector
from ccmon.agents.owner import Owner
from ccmon.agents.runtime import Runtime
from ccmon.agents.sensor import CcmonSensor


def register(
    runtime: Runtime,
    owner: Owner,
    app: faust.App,
    sensor: CcmonSensor,
    consumed_topics: Collection[str],
) -> ReadModelSource:
    source = ReadModelSource(owner.owned, runtime.policy, runtime.clock.now)
    registry = runtime.registry
    registry.register(CountersCollector(source, runtime.state_limits.histogram_bounds))
    registry.register(WindowsCollector(source))
    registry.register(LiveCollector(source))
    registry.register(TargetsCollector(source))

    def highwater(tp: TP) -> int | None:
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
