"""One read model for every reader: the /metrics body and the Redis snapshot of the same
instant share one build instead of walking the state again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping

from ccmon.agents.domain.state import PartitionState
from ccmon.agents.readmodel.views import PolicyFor, ReadModel, ReadModelBuilder

# Pairs per step of a build on the event loop (a changed pair costs ~0.1 ms, a cached one
# a lookup), and the longest a build holds the loop before it lets the others run.
STEP_PAIRS = 8
SLICE_SECONDS = 0.025


class Slicer:
    """Yields to the event loop once ``SLICE_SECONDS`` of work have gone by: a build of
    quiet pairs never yields, a build of 1,500 changed ones a handful of times. Yielding
    after every few pairs instead would make a build wait behind every counting step."""

    def __init__(self) -> None:
        self.since = time.perf_counter()
        self._worked = 0.0  # in the slices before the current one
        self._cpu_since = time.thread_time()
        self._cpu = 0.0

    async def pause(self) -> None:
        if time.perf_counter() - self.since >= SLICE_SECONDS:
            self._worked += time.perf_counter() - self.since
            self._cpu += time.thread_time() - self._cpu_since
            await asyncio.sleep(0)
            self.since = time.perf_counter()
            self._cpu_since = time.thread_time()

    @property
    def worked(self) -> float:
        """Seconds of work so far, without the time others ran while we yielded: what a
        build costs, whatever else the event loop was doing."""
        return self._worked + time.perf_counter() - self.since

    @property
    def cpu(self) -> float:
        """The same work in CPU time of the event loop's thread: without the time other
        processes held the core, which on a loaded machine can be most of ``worked``. What
        a share of the event loop is counted in; ``worked`` is what a reader waits."""
        return self._cpu + time.thread_time() - self._cpu_since


class ReadModelSource:
    """The read model of the owned partitions.

    :meth:`refresh` rebuilds it step by step on the event loop (the snapshot publisher and
    the /metrics refresher do); :meth:`get` serves the last build while it is younger than
    ``max_age_seconds`` and builds in one go otherwise, or when partitions moved."""

    def __init__(
        self,
        states: Callable[[], Mapping[int, PartitionState]],
        policy_for: PolicyFor,
        now: Callable[[], float],
        max_age_seconds: float = 0.25,
        generation: Callable[[], int] = lambda: 0,
        forecast_window: str = "30m",
        forecast_refresh_seconds: float = 10.0,
        deferred_forecasts: bool = False,
    ) -> None:
        self.states = states
        self.builder = ReadModelBuilder(
            policy_for, forecast_window, forecast_refresh_seconds, deferred_forecasts
        )
        self.now = now
        self.max_age = max_age_seconds
        # Bumped on every assignment and revocation: a partition that moves invalidates the
        # model at once, so two workers never export the same pair from a cache.
        self.generation = generation
        self._cached: ReadModel | None = None
        self._seen_generation = -1
        self.built_at = 0.0  # monotonic time the served model was read from the state
        self._building: asyncio.Future[ReadModel] | None = None
        # Of the last sliced build: its work without the forecasts it computed, and those.
        self.build_work_seconds = 0.0
        self.build_forecast_seconds = 0.0
        # The same work in CPU time (Slicer.cpu): what the snapshot's throttle counts.
        self.build_cpu_seconds = 0.0

    def current(self) -> ReadModel | None:
        """The last build, if it still describes the partitions we own."""
        if self._cached is None or self.generation() != self._seen_generation:
            return None
        return self._cached

    def get(self) -> ReadModel:
        model = self.current()
        if model is None or time.monotonic() - self.built_at > self.max_age:
            generation = self.generation()
            began = time.monotonic()
            model = self.builder.build(self.states(), self.now())
            self._store(model, generation, began)
        return model

    async def fresh(self) -> ReadModel:
        """A model at most ``max_age_seconds`` old, built step by step if need be."""
        model = self.current()
        if model is not None and time.monotonic() - self.built_at <= self.max_age:
            return model
        return await self.refresh()

    async def refresh(self) -> ReadModel:
        """A new build, or the one under way (the snapshot and the /metrics refresher
        share it rather than building twice side by side)."""
        if self._building is None or self._building.done():
            self._building = asyncio.ensure_future(self._build())
        return await asyncio.shield(self._building)

    async def _build(self) -> ReadModel:
        """Build in slices, yielding to the event loop in between. A build during which
        partitions moved is thrown away and done again: its pairs may belong to another
        worker by now."""
        while True:
            generation = self.generation()
            began = time.monotonic()
            run = self.builder.start(self.states(), self.now())
            slicer = Slicer()
            while not run.finished:
                run.step(STEP_PAIRS)
                await slicer.pause()
            if self.generation() == generation:
                model = run.finish()
                forecasts = self.builder.forecaster.inline_seconds
                self.build_forecast_seconds = forecasts
                self.build_work_seconds = max(0.0, slicer.worked - forecasts)
                self.build_cpu_seconds = max(0.0, slicer.cpu - forecasts)
                self._store(model, generation, began)
                return model

    def _store(self, model: ReadModel, generation: int, began: float) -> None:
        model.generation, model.read_at = generation, began
        self._cached = model
        self._seen_generation = generation
        # The age of a model counts from the start of its build: its first pairs were read
        # then.
        self.built_at = began
