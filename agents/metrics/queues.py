"""The per-queue part of /metrics: every channel x queue this worker owns, in the text
format, rendered pair by pair and kept until the pair's view changes.

A view changes when its queue counted something or the minute turned (the read model
rebuilds only those, :mod:`ccmon.agents.readmodel`); a scrape of 1,500 quiet pairs is then a
join of cached strings. Only owned pairs are in the read model, and it is rebuilt the
moment partitions are assigned or revoked, so no cached line ever outlives its owner."""

from __future__ import annotations

import time
from collections.abc import Mapping

from ccmon.agents.metrics import counters, live, staffing, targets, windows
from ccmon.agents.metrics.budget import Budget
from ccmon.agents.metrics.source import ReadModelSource
from ccmon.agents.metrics.text import Family, render
from ccmon.agents.readmodel import QueueView

# A pair's view, what moves without it (overdue tickets, the forecast), its rendered lines.
_Cached = tuple[QueueView, tuple[int, object], dict[str, str]]

STALENESS = Family(
    "ccmon_metrics_staleness_seconds",
    "gauge",
    "Age of the per-queue numbers served by this scrape (the read model's build).",
)


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
            *staffing.families(budget),
        ]
        self._cache: dict[tuple[str, str], _Cached] = {}

    def names(self) -> list[str]:
        return [f.name for f in (*self.families, STALENESS)]

    def view_lines(self, view: QueueView) -> dict[str, str]:
        out: dict[str, list[str]] = {}
        counters.lines(view, self.budget, self.bounds, out)
        windows.lines(view, self.budget, out)
        live.lines(view, out)
        targets.lines(view, out)
        staffing.lines(view, self.budget, out)
        return {name: "".join(rows) for name, rows in out.items()}

    def render(self) -> str:
        model = self.source.get()
        merged: dict[str, list[str]] = {}
        fresh: dict[tuple[str, str], _Cached] = {}
        for key, view in model.queues.items():
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
                chunks = cached[2]
            else:
                chunks = self.view_lines(view)
            fresh[key] = (view, moving, chunks)
            for name, text in chunks.items():
                merged.setdefault(name, []).append(text)
        self._cache = fresh
        age = max(0.0, time.monotonic() - self.source.built_at)
        return render(self.families, merged) + (STALENESS.header() + f"{STALENESS.name} {age!r}\n")
