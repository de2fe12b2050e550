"""The per-queue part of /metrics: every channel x queue this worker owns, in the text
format, rendered pair by pair and kept until the pair's view changes.

A view changes when its queue counted something or the minute turned (the read model
rebuilds only those, :mod:`ccmon.agents.readmodel.views`); a scrape of 1,500 quiet pairs is
then a join of cached strings.

The worker's refresher (:func:`ccmon.agents.worker.exposition.register`) rebuilds the model
and the body once per scrape, timed to finish just before the next one, a few pairs at a
time, so a scrape during a drain is answered at once with numbers at most
:data:`MAX_STALENESS` old instead of waiting for a full render behind the counting batches.
A body is served only under the owner generation it was built in: after an assignment or a
revocation the next scrape builds anew, so no pair is ever exported by two workers from a
cache."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Mapping
from typing import cast

from ccmon.agents.metrics import counters, live, promises, staffing, targets, windows
from ccmon.agents.metrics.budget import Budget
from ccmon.agents.metrics.text import Family, render
from ccmon.agents.readmodel.source import ReadModelSource, Slicer
from ccmon.agents.readmodel.views import QueueView, ReadModel

log = logging.getLogger(__name__)

# The served numbers are never older than this: past it a scrape builds them itself.
MAX_STALENESS = 1.0
# Below it, a body may be as old as keeps its refreshes to this share of the event loop
# (their work, smoothed, forecasts left out): 9 pairs (2 ms) are served at most 40 ms old.
# Refreshes are timed to end just before the next expected scrape, so a scrape seldom
# waits for one.
REFRESH_SHARE = 0.05
# Past this many pairs a body is served up to MAX_STALENESS old, rendered from the snapshot
# publisher's model (built each second anyway) when it can: a 1,500-pair drain scraped
# every second lost 20 % to bounds below 1 s (a model build of its own per scrape), and
# settled scrapes waited ~120 ms for sliced refreshes. Smaller bodies follow REFRESH_SHARE.
SMALL_BODY_PAIRS = 100
BUILD_SMOOTHING = 0.2  # weight of the last refresh in the cost estimate
# Kept between a body's age at the expected scrape and the bound, as a share of the bound
# (scrape jitter).
MARGIN = 0.1
# The refresher renders the body only while someone reads it.
SCRAPED_LATELY = 120.0

# A pair's view, what moves without it (overdue tickets, the forecast), its rendered lines.
_Cached = tuple[QueueView, tuple[int, object], dict[str, str]]

STALENESS = Family(
    "ccmon_metrics_staleness_seconds",
    "gauge",
    "Age of the per-queue numbers served by this scrape (the read model's build).",
)


def _log_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("/metrics refresh failed", exc_info=task.exception())


class QueueExposition:
    def __init__(
        self, source: ReadModelSource, budget: Budget, bounds: Mapping[str, list[float]]
    ) -> None:
        self.source = source
        self.budget = budget
        self.bounds = bounds
        self.families: list[Family] = [
            *counters.families(budget),
            *windows.families(budget),
            *live.FAMILIES,
            *targets.FAMILIES,
            *promises.FAMILIES,
            *staffing.families(budget),
        ]
        self._cache: dict[tuple[str, str], _Cached] = {}
        # (owner generation, monotonic time its model was read, per-queue text)
        self._body: tuple[int, float, str] | None = None
        self.last_scrape = -math.inf
        self.scrape_interval: float | None = None  # between the last two scrapes
        # Work of the last refresh (model and body), without the yields: a refresh slowed
        # by counting beside it must not make the next bodies staler.
        self.build_seconds = 0.0
        # Of the refreshes, yields included (smoothed): when to start one, and whether a
        # scrape may wait for one.
        self.build_wall = 0.0
        self._running: asyncio.Future[None] | None = None

    def names(self) -> list[str]:
        return [f.name for f in (*self.families, STALENESS)]

    def view_lines(self, view: QueueView) -> dict[str, str]:
        out: dict[str, list[str]] = {}
        counters.lines(view, self.budget, self.bounds, out)
        windows.lines(view, self.budget, out)
        live.lines(view, out)
        targets.lines(view, out)
        promises.lines(view, out)
        staffing.lines(view, self.budget, out)
        return {name: "".join(rows) for name, rows in out.items()}

    def _pair(
        self, key: tuple[str, str], view: QueueView, fresh: dict[tuple[str, str], _Cached]
    ) -> tuple[dict[str, str], bool]:
        cached = self._cache.get(key)
        # What changes without the view changing: overdue tickets and the forecast (the
        # object itself is kept and compared: an id() can be reused once it is freed).
        moving = (view.tickets_overdue, view.forecast)
        if (
            cached is not None
            and cached[0] is view
            and cached[1][0] == moving[0]
            and cached[1][1] is moving[1]
        ):
            fresh[key] = cached
            return cached[2], False
        chunks = self.view_lines(view)
        fresh[key] = (view, moving, chunks)
        return chunks, True

    def _text(self, merged: dict[str, list[str]]) -> str:
        return render(self.families, merged)

    def _note_scrape(self) -> None:
        scraped = time.monotonic()
        if scraped - self.last_scrape < SCRAPED_LATELY:
            self.scrape_interval = scraped - self.last_scrape
        self.last_scrape = scraped

    def _servable(self) -> tuple[int, float, str] | None:
        """The refreshed body, if young enough and built under the current ownership."""
        body = self._body
        if body is None or self._age(body[1]) > self.staleness():
            return None
        return body if body[0] == self.source.generation() else None

    def _with_staleness(self, body: tuple[int, float, str]) -> str:
        return body[2] + STALENESS.header() + f"{STALENESS.name} {self._age(body[1])!r}\n"

    def render(self) -> str:
        """The per-queue part of a scrape, now: the refreshed body if servable, else one
        built in one go."""
        self._note_scrape()
        body = self._servable()
        return self._with_staleness(self._build_now() if body is None else body)

    def _build_now(self) -> tuple[int, float, str]:
        # Its cost is left out of build_seconds: only the refresher's refreshes set the
        # staleness of small bodies, so a scrape that built its own does not change it.
        model = self.source.get()
        merged: dict[str, list[str]] = {}
        fresh: dict[tuple[str, str], _Cached] = {}
        for key, view in model.queues.items():
            for name, text in self._pair(key, view, fresh)[0].items():
                merged.setdefault(name, []).append(text)
        self._cache = fresh
        body = (model.generation, model.read_at, self._text(merged))
        self._body = body
        return body

    async def text(self) -> str:
        """What the /metrics page serves: the refreshed body if servable; else it joins
        the refresh under way, or builds one in one go. Not sliced: a scrape's own refresh
        in slices waited for the counting steps between them, 280-300 ms at 200k events
        for about 100 ms of work."""
        self._note_scrape()
        body = self._servable()
        if body is None and self._busy():
            await asyncio.shield(cast(asyncio.Future[None], self._running))
            body = self._servable()
        # None: no refresh was under way, or partitions moved during the one we joined.
        return self._with_staleness(self._build_now() if body is None else body)

    def staleness(self) -> float:
        """How old a served body may be: what a refresh costs over REFRESH_SHARE, at most
        MAX_STALENESS. A big busy worker trades freshness for counting; a small one serves
        each scrape nearly live."""
        if len(self._cache) > SMALL_BODY_PAIRS:
            return MAX_STALENESS
        return min(MAX_STALENESS, self.build_seconds / REFRESH_SHARE)

    def _expected_scrape(self) -> float:
        if self.scrape_interval is None:
            return time.monotonic()
        return self.last_scrape + self.scrape_interval

    def _good_for_next_scrape(self, read_at: float, generation: int) -> bool:
        return (
            generation == self.source.generation()
            and self._expected_scrape() - read_at <= self.staleness() * (1.0 - MARGIN)
        )

    def _scraped_lately(self) -> bool:
        return time.monotonic() - self.last_scrape <= SCRAPED_LATELY

    def _busy(self) -> bool:
        return self._running is not None and not self._running.done()

    def due(self) -> bool:
        """Whether to build a body now: when the one we have will be too old for the next
        scrape, timed to be ready just before it (Prometheus scrapes at a steady interval),
        so the work is done at most once per scrape, not per tick."""
        if not self._scraped_lately() or self._busy():
            return False  # nobody reads the body: a scrape that comes builds it itself
        body = self._body
        if body is not None and self._good_for_next_scrape(body[1], body[0]):
            return False
        bound = self.staleness()
        lead = min(bound * (1.0 - 2 * MARGIN), bound * MARGIN + 2 * self.build_wall)
        return time.monotonic() >= self._expected_scrape() - lead

    def offer(self, model: ReadModel) -> None:
        """A model the snapshot publisher just built: the body is rendered from it when it
        is young enough for the next scrape, so a worker scraped every second builds one
        model per second for both readers instead of two."""
        if not self._scraped_lately() or self._busy():
            return
        if not self._good_for_next_scrape(model.read_at, model.generation):
            return
        body = self._body
        if body is not None and body[1] >= model.read_at:
            return
        if body is not None and self._good_for_next_scrape(body[1], body[0]):
            return
        self._running = asyncio.ensure_future(self._render(model, self.source.build_work_seconds))
        self._running.add_done_callback(_log_failure)

    def refresh_when_due(self) -> None:
        """Start a refresh if one is due, in its own task: the refresher's timer ticks on
        (Faust warns of a timer that overruns its interval) and a scrape can join it."""
        if self.due():
            self._running = asyncio.ensure_future(self.refresh())
            self._running.add_done_callback(_log_failure)

    async def refresh(self) -> None:
        """Rebuild the model and the body in slices, so that the counting agents and the
        scrape itself run in between."""
        began, forecasts = time.monotonic(), 0.0
        model = self.source.current()  # the snapshot publisher's, if young enough
        if model is None or not self._good_for_next_scrape(model.read_at, model.generation):
            model = await self.source.refresh()
            forecasts = self.source.build_forecast_seconds
        await self._render(model, self.source.build_work_seconds)
        # Forecasts left out: computed at most every 10 s per queue, they do not make every
        # refresh costly (6 queues at 1,000 ev/s flipped a 2 ms body to the 1 s regime).
        wall = time.monotonic() - began - forecasts
        self.build_wall += BUILD_SMOOTHING * (wall - self.build_wall)

    async def _render(self, model: ReadModel, model_work: float) -> None:
        generation, built_at = model.generation, model.read_at
        merged: dict[str, list[str]] = {}
        fresh: dict[tuple[str, str], _Cached] = {}
        slicer = Slicer()
        for key, view in model.queues.items():
            chunks, new = self._pair(key, view, fresh)
            for name, text in chunks.items():
                merged.setdefault(name, []).append(text)
            if new:
                await slicer.pause()
        if self.source.generation() != generation:
            return  # partitions moved while we rendered: some pairs may not be ours
        self._cache = fresh
        self._body = (generation, built_at, self._text(merged))
        # Smoothed: one build with a forecast computed inline (5-25 ms) does not make a
        # cheap body costly; a lasting change of cost shows within a few builds.
        work = model_work + slicer.worked
        self.build_seconds += BUILD_SMOOTHING * (work - self.build_seconds)

    @staticmethod
    def _age(built_at: float) -> float:
        return max(0.0, time.monotonic() - built_at)
