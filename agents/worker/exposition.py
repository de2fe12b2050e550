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
from ccmon.agents.partitions.owner import Owner
from ccmon.agents.readmodel.source import ReadModelSource
from ccmon.agents.worker.catchup import CatchUpMode
from ccmon.agents.worker.runtime import Runtime
from ccmon.agents.worker.sensor import CcmonSensor

# CPU per second the staffing forecasts of all the partitions may take, shared by the
# workers that own them (ccmon.agents.domain.forecast).
FORECAST_BUDGET_SECONDS = 0.1
# How often the refresher asks whether the next scrape is near (a cheap check).
REFRESH_CHECK_SECONDS = 0.1
# How often a worker asks whether it is catching up (a sum over its partitions).
CATCH_UP_CHECK_SECONDS = 1.0


def forecast_budget(owned: int, partitions: int) -> float:
    """This worker's share of the forecasts' budget: its share of the partitions. Their
    work is the queues' (one forecast per queue every 10 s at most), not the workers';
    a whole budget per worker gives 4 workers four times one worker's forecasting on the
    same queues (by estimate most of their CPU per event 19 % above one worker's in the
    last bench; not measured since, docs/benchmarks.md "Scale-out"). A worker's queues
    are as fresh as with one worker: a quarter of them, a quarter of the budget."""
    return FORECAST_BUDGET_SECONDS * owned / max(partitions, 1)


class Exposition:
    def __init__(self, queues: QueueExposition, runtime: Runtime, catch_up: CatchUpMode) -> None:
        self.queues = queues
        self.registry = runtime.registry
        self.catch_up = catch_up

    async def body(self) -> bytes:
        return (await self.queues.text()).encode() + generate_latest(self.registry)


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
        deferred_forecasts=True,
    )
    budget = Budget.from_settings(runtime.settings)
    queues = QueueExposition(source, budget, runtime.exported_bounds(budget.detail))

    def highwater(tp: TP) -> int | None:
        try:
            return int(app.consumer.highwater(tp))
        except Exception:  # the fetcher has not seen the partition yet
            return None

    def position(tp: TP) -> int | None:
        """Where this worker is done: its last commit, else after the last record read."""
        # Faust's own bookkeeping (a defaultdict, so .get, never []): no public accessor.
        committed: dict[TP, int | None] = getattr(app.consumer, "_committed_offset", {})
        if (offset := committed.get(tp)) is not None:
            return offset
        read = sensor.last_read.get(tp)
        return None if read is None else read + 1

    lag = LagCollector(app.assignor.assigned_actives, highwater, position, consumed_topics)
    runtime.registry.register(lag)
    catch_up = CatchUpMode(
        runtime.settings.catch_up_lag_records, lag.total, runtime.pipeline.catching_up
    )

    @app.timer(interval=CATCH_UP_CHECK_SECONDS, name="ccmon.catch_up")
    async def check_catch_up() -> None:
        catch_up.check()
        source.builder.forecaster.inline_budget = catch_up.inline_forecasts()

    @app.timer(interval=REFRESH_CHECK_SECONDS, name="ccmon.metrics_refresh")
    async def refresh_metrics() -> None:
        queues.refresh_when_due()

    @app.timer(interval=1.0, name="ccmon.forecasts")
    async def compute_forecasts() -> None:
        # A tenth of a core at most for all the workers: at 1,500 queues a round of
        # forecasts takes ~10-20 s.
        share = forecast_budget(len(owner.owned()), runtime.settings.partitions)
        await source.builder.forecaster.work(share * catch_up.forecast_share())

    return source, Exposition(queues, runtime, catch_up)
