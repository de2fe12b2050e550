"""/metrics: the per-queue part written directly (:mod:`ccmon.agents.metrics.queues`),
then the per-worker part (pipeline counters, Faust sensor, consumer lag) from
prometheus_client's registry. Family names never overlap: the registry's duplicate check
covers its part, a unit test the whole body."""

from __future__ import annotations

from collections.abc import Collection

import faust
from faust.types import TP
from prometheus_client import generate_latest

from ccmon.agents.metrics.budget import Budget
from ccmon.agents.metrics.lag import LagCollector
from ccmon.agents.metrics.queues import QueueExposition
from ccmon.agents.metrics.source import ReadModelSource
from ccmon.agents.owner import Owner
from ccmon.agents.runtime import Runtime
from ccmon.agents.sensor import CcmonSensor


class Exposition:
    def __init__(self, queues: QueueExposition, runtime: Runtime) -> None:
        self.queues = queues
        self.registry = runtime.registry

    def body(self) -> bytes:
        return self.queues.render().encode() + generate_latest(self.registry)


def register(
    runtime: Runtime,
    owner: Owner,
    app: faust.App,
    sensor: CcmonSensor,
    consumed_topics: Collection[str],
) -> tuple[ReadModelSource, Exposition]:
    source = ReadModelSource(
        owner.owned,
        runtime.policy,
        runtime.clock.now,
        generation=lambda: owner.generation,
        forecast_window=runtime.settings.forecast_window,
        forecast_refresh_seconds=runtime.settings.forecast_refresh_seconds,
    )
    budget = Budget.from_settings(runtime.settings)
    queues = QueueExposition(source, budget, runtime.exported_bounds(budget.detail))

    def highwater(tp: TP) -> int | None:
        try:
            return int(app.consumer.highwater(tp))
        except Exception:  # the fetcher has not seen the partition yet
            return None

    runtime.registry.register(
        LagCollector(
            app.assignor.assigned_actives, highwater, sensor.last_read.get, consumed_topics
        )
    )
    runtime.pipeline  # noqa: B018 - creates the pipeline series before the first scrape
    return source, Exposition(queues, runtime)
