"""The live staffing forecast of a call or chat queue: predicted service level with the
agents staffed now, agents required for the queue's target, by Erlang A when patience can
be estimated from abandonment, else Erlang C (docs/metrics.md, "Staffing forecast").

Inputs over the forecast window (``CCMON_FORECAST_WINDOW``): arrival rate = offered /
elapsed window length, AHT = handle seconds / ended contacts, patience = time waited by
answered and abandoned contacts / abandoned (the censored exponential estimator), and N =
agents staffed for the queue now. The models assume Poisson arrivals, exponential handle
times and patience, and a steady state; below the queue's ``min_volume`` offered contacts
in the window nothing is forecast (it would be noise).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ccmon.agents.domain import buckets as b
from ccmon.agents.domain import erlang
from ccmon.streams.config import QueuePolicy

WINDOW_MINUTES = {"15m": 15, "30m": 30}
# Erlang A costs ~2 ms an evaluation and a required-agents search a few: a forecast is
# recomputed at most this often per queue (its inputs are 15-30 minute windows), or at once
# when the staffing changes or the window moved to another minute (with the stream clock,
# minutes of event time can pass in a wall second).
REFRESH_SECONDS = 10.0
INLINE_BUDGET_SECONDS = 0.02  # of forecasts per read-model build, computed in the build
_MAX_AGENTS = 20_000
_WALK_UP = 50  # Erlang A above Erlang C's answer: bounded, a target of 1.0 is never met


@dataclass(frozen=True, slots=True)
class Inputs:
    offered: float
    traffic: float  # erlangs
    aht: float  # seconds; with concurrency, the time a contact holds a slot
    patience: float | None  # seconds; None = no abandonment seen: Erlang C
    staffed: int  # agents
    # Servers of the model: contact slots of the staffed agents (agents x max_concurrent);
    # None: one per agent.
    slots: int | None = None
    seconds: float = 0.0  # length of the window the rates are measured over
    # Relative standard deviation of the estimate of A: sqrt(1/offered + 1/ended) from the
    # window's counts (Poisson arrivals, exponential handle times); 0 for a known load.
    spread: float = 0.0

    @property
    def servers(self) -> int:
        return self.staffed if self.slots is None else self.slots

    @property
    def arrival_rate(self) -> float:
        """Contacts offered per second (lambda)."""
        return self.offered / self.seconds if self.seconds > 0 else self.traffic / self.aht


@dataclass(frozen=True, slots=True)
class Forecast:
    # erlang_a, erlang_c, or erlang_c_overloaded (N <= A: no finite answer); with a
    # "_slots" suffix where agents serve several contacts at once (slots are the servers).
    model: str
    inputs: Inputs
    predicted: float | None  # service level with the staffed agents; None when overloaded
    required: int
    shortfall: int  # required - staffed (negative: agents to spare)


def window_seconds(window: str, now: float, since: int | None = None) -> float:
    """Elapsed length of a minute window ending now (its current minute is partial), from
    ``since`` (the queue's first minute with data) when that is later than the window's
    start: a queue counted for 4 minutes has 4 minutes of arrivals, not 30 (the demo's
    forecast saw 1.8 erlangs of its 32)."""
    minutes = WINDOW_MINUTES[window]
    first = b.minute_of(now) - minutes + 1
    if since is not None and since > first:
        minutes = b.minute_of(now) - since + 1
    return max(0.0, (minutes - 1) * 60.0 + (now - b.minute_of(now) * 60.0))


def inputs(
    counts: Mapping[str, float], staffed: int, seconds: float, slots: int | None = None
) -> Inputs | None:
    g = counts.get
    offered, ended = g(b.OFFERED, 0.0), g(b.ENDED, 0.0)
    if ended <= 0 or seconds <= 0:
        return None
    aht = g(b.HANDLE_SUM, 0.0) / ended
    if aht <= 0:
        return None
    abandoned = g(b.ABANDONED, 0.0)
    waited = g(b.WAIT_SUM, 0.0) + g(b.ABANDON_WAIT_SUM, 0.0)
    patience = waited / abandoned if abandoned > 0 and waited > 0 else None
    spread = math.sqrt(1.0 / offered + 1.0 / ended) if offered > 0 else 0.0
    traffic = offered / seconds * aht
    return Inputs(offered, traffic, aht, patience, staffed, slots, seconds, spread)


def _plug_in(n: int, traffic: float, x: Inputs, policy: QueuePolicy) -> float | None:
    """The model's service level with ``n`` servers offered ``traffic`` erlangs; None when
    Erlang C has no steady state (n <= A)."""
    t = policy.threshold_seconds
    if x.patience is None:
        if n <= traffic:
            return None
        return erlang.service_level(n, traffic, x.aht, t)
    if n < 1:
        return 0.0
    result = erlang.erlang_a(n, traffic, x.aht, x.patience, t)
    # "answered" divides by answered contacts; the other profiles by every offered one
    # (abandons within the threshold, which Erlang A does not separate, count as missed).
    return result.service_level if policy.profile == "answered" else result.p_answered_within


def predicted_sl(n: int, x: Inputs, policy: QueuePolicy) -> float | None:
    """Service level with ``n`` servers; None when Erlang C has no steady state (n <= A).

    A is estimated from one window, so it is off by a relative ``x.spread`` (about 14 % from
    100 contacts), and the service level is concave in A near any target: the plain plug-in
    SL(A^) reads low on average, by SL''(A) (A spread)^2 / 2 (4-9 points in the tests of
    docs/metrics.md, "How close it is"). The second-order correction
    2 SL(A^) - (SL(A^ + h) + SL(A^ - h)) / 2, h = A^ x spread, takes that bias out."""
    plain = _plug_in(n, x.traffic, x, policy)
    if plain is None or x.spread <= 0.0:
        return plain
    h = x.traffic * x.spread
    up = _plug_in(n, x.traffic + h, x, policy) or 0.0
    down = _plug_in(n, max(x.traffic - h, 1e-9), x, policy) or 0.0
    return min(1.0, max(0.0, 2.0 * plain - (up + down) / 2.0))


def _meets(n: int, x: Inputs, policy: QueuePolicy) -> bool:
    sl = predicted_sl(n, x, policy)
    return sl is not None and sl >= policy.target_ratio


def _erlang_c_required(x: Inputs, t: float, target: float) -> int:
    """Smallest N with Erlang C SL >= target, Erlang B carried from N - 1 to N (O(N)):
    the same recurrence as :func:`ccmon.agents.domain.erlang.erlang_b`."""
    a, bn = x.traffic, 1.0
    for n in range(1, _MAX_AGENTS):
        bn = a * bn / (n + a * bn)
        if n <= a:
            continue
        pw = n * bn / (n - a * (1.0 - bn))
        if 1.0 - pw * math.exp(-(n - a) * t / x.aht) >= target:
            return n
    return _MAX_AGENTS


def required_agents(x: Inputs, policy: QueuePolicy) -> int:
    """Agents required: the servers required, in agents of the staffed agents' mean slots
    (the queue's max_concurrent when nobody is staffed)."""
    servers = required_servers(x, policy)
    if x.slots is None:
        return servers
    per_agent = x.slots / x.staffed if x.staffed > 0 and x.slots > 0 else policy.max_concurrent
    return math.ceil(servers / per_agent - 1e-9)


def required_servers(x: Inputs, policy: QueuePolicy) -> int:
    """The smallest N meeting the target: Erlang C's answer, and for Erlang A searched
    below it by bisection (SL grows with N), or walked up from it. An Erlang A evaluation
    costs ~2-5 ms: walking down from Erlang C's answer took 200 of them at 1,000 erlangs,
    0.9 s with the event loop held; bisection takes about log2(N)."""
    n = _erlang_c_required(x, policy.threshold_seconds, policy.target_ratio)
    if x.patience is None and x.spread <= 0.0:
        return n
    if _meets(n, x, policy):
        below, meets = 0, n  # the answer is in (below, meets]
        while meets - below > 1:
            mid = (below + meets) // 2
            if _meets(mid, x, policy):
                meets = mid
            else:
                below = mid
        return meets
    for _ in range(_WALK_UP):
        n += 1
        if _meets(n, x, policy):
            break
    return n


def forecast(x: Inputs, policy: QueuePolicy) -> Forecast:
    predicted = predicted_sl(x.servers, x, policy)
    if x.patience is not None:
        model = "erlang_a"
    else:
        model = "erlang_c" if predicted is not None else "erlang_c_overloaded"
    if x.slots is not None:
        model += "_slots"
    required = required_agents(x, policy)
    return Forecast(model, x, predicted, required, required - x.staffed)


def estimated_wait(waiting: int, ready: int, busy: int, x: Inputs) -> float | None:
    """What a contact arriving now would wait, in seconds (docs/metrics.md, "Estimated
    wait"): 0 with a slot free and nobody ahead; else, with k contacts ahead of it and all
    c ready slots busy, each step forward is the first of c service ends (rate c/AHT) or of
    the j contacts ahead abandoning (rate j/patience), so E[wait] = sum over j = 0..k of
    1 / (c/AHT + j/patience): Erlang A's time to reach an agent, (k + 1) AHT / c without
    abandonment (Erlang C). None without a ready slot: nobody would answer."""
    if ready <= 0:
        return None
    ahead = waiting - max(0, ready - busy)
    if ahead < 0:
        return 0.0
    rate, theta = ready / x.aht, 0.0 if x.patience is None else 1.0 / x.patience
    if theta == 0.0:
        return (ahead + 1) / rate
    return math.fsum(1.0 / (rate + j * theta) for j in range(ahead + 1))


def _timed(window: str, ask: _Ask) -> tuple[Forecast | None, float]:
    """A queue's forecast and the CPU it took (of the thread that computed it)."""
    began = time.thread_time()
    policy = ask.policy
    x = inputs(ask.counts, ask.staffed, window_seconds(window, ask.now, ask.since), ask.slots)
    result = None if x is None or x.offered < policy.min_volume else forecast(x, policy)
    return result, time.thread_time() - began


@dataclass(frozen=True, slots=True)
class _Ask:
    """A queue's inputs to one forecast: its window's counts, staffing, policy, clock."""

    counts: Mapping[str, float]
    staffed: int
    policy: QueuePolicy
    now: float
    slots: int | None = None  # the staffed agents' slots, where the queue is concurrent
    since: int | None = None  # the queue's first minute with data


class Forecaster:
    """Forecasts per channel x queue, recomputed at most every ``REFRESH_SECONDS`` unless
    the staffing changed.

    A forecast costs 6 ms (5 erlangs) to 100 ms (170 erlangs) of Erlang A evaluations, so
    a worker with 1,500 queues cannot compute them inside a read-model build: that held its
    event loop for 5 s (make bench). With ``deferred`` (the worker's mode) a build computes
    forecasts inline up to ``INLINE_BUDGET_SECONDS`` (a few queues: always current); past
    it :meth:`get` answers from the cache and notes what is due, and :meth:`work` computes
    due forecasts within a CPU budget, most overdue first, yielding in between.

    A forecast is pure Python (Erlang A's sums and integrals) and holds the interpreter
    for all of its 30-70 ms: on the event loop, that held counting and /metrics back as
    long (0.1-0.3 s stalls in the freshness bench, its p99 at 1-3 s). :meth:`work`
    computes each one in a thread of its own: the interpreter's switch interval (5 ms)
    hands the event loop back while it runs. A build computes one inline only while the
    queue's last forecast cost fits what is left of the build's budget."""

    def __init__(
        self, window: str = "30m", refresh_seconds: float = REFRESH_SECONDS, deferred: bool = False
    ) -> None:
        self.window = window
        self.refresh = refresh_seconds
        self.deferred = deferred
        # A deferring worker that catches up on a backlog sets it to 0: every forecast
        # waits for work() (ccmon.agents.worker.catchup).
        self.inline_budget = INLINE_BUDGET_SECONDS
        self._inline_spent = 0.0
        self._cache: dict[tuple[str, str], tuple[float, object, int, Forecast | None]] = {}
        # What a due forecast is computed from, and since when (monotonic) it is due.
        self._due: dict[tuple[str, str], tuple[_Ask, float]] = {}
        self._cost: dict[tuple[str, str], float] = {}  # CPU of the queue's last forecast
        self._thread: ThreadPoolExecutor | None = None
        self._retained: set[tuple[str, str]] | None = None  # as of the last retain()
        self._balance = 0.0  # forecast CPU work() may still spend; negative: overspent

    def get(
        self,
        key: tuple[str, str],
        counts: Mapping[str, float],
        staffed: int,
        policy: QueuePolicy,
        now: float,
        slots: int | None = None,
        since: int | None = None,
    ) -> Forecast | None:
        """``slots``: the staffed agents' contact slots where the queue serves several
        contacts at once (None: one per agent); ``since``: the queue's first minute with
        data (the window begins no earlier)."""
        if key[0] not in ("call", "chat"):
            return None
        cached = self._cache.get(key)
        clock, minute = time.monotonic(), b.minute_of(now)
        staffing = staffed if slots is None else (staffed, slots)
        if (
            cached is not None
            and cached[1:3] == (staffing, minute)
            and clock - cached[0] < self.refresh
        ):
            return cached[3]
        ask = _Ask(counts, staffed, policy, now, slots, since)
        if self.deferred and self._inline_spent + self._cost.get(key, 0.0) >= self.inline_budget:
            due = self._due[key][1] if key in self._due else clock
            self._due[key] = (ask, due)
            return None if cached is None else cached[3]
        began = time.perf_counter()
        result, cpu = _timed(self.window, ask)
        self._store(key, ask, result, cpu)
        self._inline_spent += time.perf_counter() - began
        return result

    def new_build(self) -> None:
        """A read-model build begins: its inline budget is whole again."""
        self._inline_spent = 0.0

    @property
    def inline_seconds(self) -> float:
        """Spent on forecasts in the current (or last) build: at most every 10 s per queue,
        so not a cost of every build."""
        return self._inline_spent

    def _store(self, key: tuple[str, str], ask: _Ask, result: Forecast | None, cpu: float) -> None:
        staffing = ask.staffed if ask.slots is None else (ask.staffed, ask.slots)
        self._cache[key] = (time.monotonic(), staffing, b.minute_of(ask.now), result)
        self._cost[key] = cpu

    async def work(self, budget_seconds: float) -> int:
        """Compute due forecasts, most overdue first, each in the forecasts' thread, while
        the balance of ``budget_seconds`` per call lasts; the rest wait for the next call.
        Returns how many were computed.

        The budget is a rate, kept over time: a forecast (30-100 ms) costs more than a
        catching-up worker's call budget (25 ms), and each call spent at least one, so
        the budget bounded nothing (docs/benchmarks.md, "The forecasts' budget"). What a
        call overspends, the next calls pay back; what one leaves unspent is not saved up
        (after an idle minute, a burst of forecasts would hold the interpreter)."""
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="ccmon-forecasts")
        loop = asyncio.get_running_loop()
        self._balance = min(self._balance + budget_seconds, budget_seconds)
        done = 0
        for key in sorted(self._due, key=lambda k: self._due[k][1]):
            if self._balance <= 0:
                break
            # It waits for each forecast: a rebalance may have forgotten this queue
            # meanwhile (retain), and a timer's KeyError stops the whole worker (the soak's
            # day-5 exit, docs/benchmarks.md).
            due = self._due.pop(key, None)
            if due is None:
                continue
            asked = time.monotonic()
            result, cpu = await loop.run_in_executor(self._thread, _timed, self.window, due[0])
            self._balance -= cpu
            done += 1
            cached = self._cache.get(key)
            forgotten = self._retained is not None and key not in self._retained
            if forgotten or (cached is not None and cached[0] > asked):
                continue  # revoked meanwhile, or a build computed a newer one inline
            self._store(key, due[0], result, cpu)
        return done

    @property
    def pending(self) -> int:
        return len(self._due)

    def retain(self, keys: set[tuple[str, str]]) -> None:
        """Forget queues no longer exported (revoked partitions)."""
        for key in set(self._cache) - keys:
            del self._cache[key]
        for key in set(self._due) - keys:
            del self._due[key]
        for key in set(self._cost) - keys:
            del self._cost[key]
        # A forecast under way in work() for a queue forgotten here is not stored.
        self._retained = keys
