"""The read side: per channel x queue views computed from the owned partitions' state.

Only partitions this worker owns are read, so every channel x queue is exported by exactly
one worker. A view is recomputed only when its queue changed or the minute turned (the
windows move): a scrape of 1,500 quiet queues costs lookups, not rollups. Used by the
/metrics collectors and the Redis snapshot alike, so both show the same numbers.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ccmon.agents.domain import buckets as b
from ccmon.agents.domain.forecast import REFRESH_SECONDS, Forecast, Forecaster
from ccmon.agents.domain.periods import month_marker
from ccmon.agents.domain.promises import PROMISES, RESOLUTION, promise_of
from ccmon.agents.domain.staffing import AGENT_CQ, agent_counts, agent_slots, live_seconds
from ccmon.agents.domain.state import PartitionState
from ccmon.streams.config import QueuePolicy

PolicyFor = Callable[[str, str], QueuePolicy]


@dataclass
class QueueView:
    channel: str
    queue: str
    policy: QueuePolicy
    windows: dict[str, b.Counters] = field(default_factory=dict)
    totals: Mapping[str, Any] = field(default_factory=dict)
    waiting: int = 0
    oldest_waiting_since: float | None = None
    callbacks_waiting: int = 0  # requested, not placed yet (ccmon.agents.domain.exits)
    tickets_open: int = 0
    tickets_overdue: int = 0
    oldest_open_ticket_since: float | None = None
    ticket_origins: list[float] = field(default_factory=list)  # sorted: the oldest
    # Running ticket promises (ccmon.agents.domain.promises) by promise: sorted deadlines,
    # and sorted instants from which they are at risk; counted against "now" at each build.
    due_at: dict[str, list[float]] = field(default_factory=dict)
    risk_from: dict[str, list[float]] = field(default_factory=dict)
    risk_until: dict[str, list[float]] = field(default_factory=dict)
    tickets_at_risk: dict[str, int] = field(default_factory=dict)
    is_open: bool = True  # within the queue's business hours (at the view's minute)
    # This local month's closed days: (open, met), from the day records; None before any.
    month_days: tuple[int, int] | None = None
    agents: dict[str, int] = field(default_factory=dict)  # logged-in agents per state
    not_ready: dict[str, int] = field(default_factory=dict)  # not-ready agents per reason
    # Contact slots (docs/metrics.md, "Concurrency"): of the agents ready to serve, and busy;
    # of every staffed agent (the forecast's servers).
    slots: int = 0
    slots_busy: int = 0
    slots_staffed: int = 0
    first_minute: int | None = None  # the queue's oldest minute bucket: where its data begins
    forecast: Forecast | None = None  # set at each build (ccmon.agents.domain.forecast)

    @property
    def concurrent_slots(self) -> int | None:
        """The forecast's servers where agents serve several contacts at once (configured,
        or said by the agents), else None: one server per agent."""
        several = self.policy.max_concurrent > 1 or self.slots_staffed != self.staffed
        return self.slots_staffed if self.channel != "call" and several else None

    @property
    def staffed(self) -> int:
        """Agents logged in and skilled for the queue (N of the forecast)."""
        return sum(self.agents.values())


@dataclass
class ReadModel:
    now: float
    queues: dict[tuple[str, str], QueueView]
    built_in_seconds: float
    # Set by ccmon.agents.readmodel.source: the owner generation the model was built under
    # and the monotonic time its first pair was read.
    generation: int = -1
    read_at: float = 0.0


def view_of(state: PartitionState, cq: str, policy_for: PolicyFor, now: float) -> QueueView:
    channel, queue = cq.split("|", 1)
    view = QueueView(channel, queue, policy_for(channel, queue))
    tz = view.policy.timezone
    view.totals = state.totals.get(cq, {})
    view.windows = b.rollup(state.minutes.get(cq, {}), now, tz)
    today = state.days.get(cq, {}).get(b.local_day(now, tz))
    view.windows["today"] = b.sum_all([today] if today else [])
    waiting: list[float] = []
    for entry in state.live.get(cq, {}).values():
        kind = entry.get("k")
        if kind == "w":
            waiting.append(float(entry["t"]))
        elif kind == "cb":
            view.callbacks_waiting += 1
        elif kind == "t":
            view.ticket_origins.append(float(entry.get("c") or entry["t"]))
        running = entry.get("d")
        if running and kind in ("t", "tc"):
            for instance, (deadline, risk) in running.items():
                if deadline is None:
                    continue  # paused: it cannot breach nor be at risk
                promise = promise_of(instance)
                if kind == "t" or promise != RESOLUTION:
                    view.due_at.setdefault(promise, []).append(float(deadline))
                if risk is not None:
                    view.risk_from.setdefault(promise, []).append(float(risk))
                    view.risk_until.setdefault(promise, []).append(float(deadline))
    for times in (*view.due_at.values(), *view.risk_from.values(), *view.risk_until.values()):
        times.sort()
    view.is_open = view.policy.hours.is_open(now)
    tally = state.live.get(cq, {}).get(month_marker(b.local_day(now, tz)[:7]))
    if tally is not None:
        days = tally.get("days", {}).values()
        view.month_days = (sum(d[0] for d in days), sum(d[1] for d in days))
    live = state.live.get(cq, {})
    view.agents, view.not_ready = agent_counts(live)
    k = view.policy.max_concurrent
    view.slots, view.slots_busy, view.slots_staffed = agent_slots(live, k, channel)
    if view.agents:  # states in progress count up to now (occupancy)
        starts = {w: m[0] * 60.0 for w, m in b.window_ranges(now, tz).items()}
        starts["today"] = b.day_start(b.local_day(now, tz), tz)
        for name, seconds in live_seconds(live, k, channel, now, starts).items():
            b.add_into(view.windows.setdefault(name, {}), seconds)
    minutes = state.minutes.get(cq)
    view.first_minute = min(minutes) if minutes else None
    view.waiting = len(waiting)
    view.oldest_waiting_since = min(waiting) if waiting else None
    view.ticket_origins.sort()
    view.tickets_open = len(view.ticket_origins)
    view.oldest_open_ticket_since = view.ticket_origins[0] if view.ticket_origins else None
    return view


def count_promises(view: QueueView, now: float) -> None:
    """Overdue tickets (open, past their resolution promise) and promises at risk (at most
    ``at_risk_seconds`` of business time left, not yet due), at ``now``."""
    view.tickets_overdue = bisect.bisect_right(view.due_at.get(RESOLUTION, []), now)
    view.tickets_at_risk = {
        p: bisect.bisect_right(view.risk_from.get(p, []), now)
        - bisect.bisect_right(view.risk_until.get(p, []), now)
        for p in PROMISES
    }


class ReadModelBuilder:
    def __init__(
        self,
        policy_for: PolicyFor,
        forecast_window: str = "30m",
        forecast_refresh_seconds: float = REFRESH_SECONDS,
        deferred_forecasts: bool = False,
    ) -> None:
        self.policy_for = policy_for
        self.forecaster = Forecaster(
            forecast_window, forecast_refresh_seconds, deferred=deferred_forecasts
        )
        self._cache: dict[tuple[int, str], tuple[tuple[int, int], QueueView]] = {}

    def build(self, states: Mapping[int, PartitionState], now: float) -> ReadModel:
        run = BuildRun(self, states, now)
        run.step(len(run.todo))
        return run.finish()

    def start(self, states: Mapping[int, PartitionState], now: float) -> BuildRun:
        """A build done a few pairs at a time (:meth:`BuildRun.step`), so that a caller on
        the event loop can let the counting agents run between the steps."""
        return BuildRun(self, states, now)


class BuildRun:
    def __init__(
        self, builder: ReadModelBuilder, states: Mapping[int, PartitionState], now: float
    ) -> None:
        started = time.perf_counter()
        self.builder = builder
        self.now = now
        self.minute = b.minute_of(now)
        # Listed up front: the states may change between steps, the list of work does not.
        # The per-agent entries are left out: queues see agents through hop 2.
        self.todo = [
            (partition, state, cq)
            for partition, state in states.items()
            for cq in sorted(state.channel_queues())
            if cq != AGENT_CQ
        ]
        self.done = 0
        self.views: dict[tuple[str, str], QueueView] = {}
        self.fresh: dict[tuple[int, str], tuple[tuple[int, int], QueueView]] = {}
        builder.forecaster.new_build()
        self.seconds = time.perf_counter() - started

    @property
    def finished(self) -> bool:
        return self.done >= len(self.todo)

    def step(self, pairs: int) -> None:
        started = time.perf_counter()
        cache = self.builder._cache
        forecaster = self.builder.forecaster
        for partition, state, cq in self.todo[self.done : self.done + pairs]:
            key = (state.versions[cq], self.minute)
            cached = cache.get((partition, cq))
            view = cached[1] if cached and cached[0] == key else None
            if view is None:
                view = view_of(state, cq, self.builder.policy_for, self.now)
            self.fresh[(partition, cq)] = (key, view)
            if view.channel == "ticket":
                count_promises(view, self.now)
            pair = (view.channel, view.queue)
            view.forecast = forecaster.get(
                pair,
                view.windows.get(forecaster.window, {}),
                view.staffed,
                view.policy,
                self.now,
                view.concurrent_slots,
                view.first_minute,
            )
            self.views[pair] = view
        self.done += pairs
        self.seconds += time.perf_counter() - started

    def finish(self) -> ReadModel:
        started = time.perf_counter()
        self.builder._cache = self.fresh  # queues of partitions no longer ours fall out here
        self.builder.forecaster.retain(set(self.views))
        ordered = dict(sorted(self.views.items()))  # a stable exposition, whatever the partitions
        return ReadModel(self.now, ordered, self.seconds + time.perf_counter() - started)
