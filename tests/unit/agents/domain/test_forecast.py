"""The staffing forecast against the textbook (docs/shared domain brief, "Queueing theory")."""

from __future__ import annotations

import math
import time
from dataclasses import replace

import pytest

from ccmon.agents.domain import buckets as b
from ccmon.agents.domain import erlang
from ccmon.agents.domain.forecast import (
    Forecaster,
    Inputs,
    estimated_wait,
    forecast,
    inputs,
    predicted_sl,
    window_seconds,
)
from ccmon.streams.config import QueuePolicy

TEXTBOOK = QueuePolicy(threshold_seconds=20.0, comparison="<=", target_ratio=0.80, min_volume=20)


def textbook_counts(abandoned: float = 0.0, waited: float = 0.0) -> dict[str, float]:
    """100 calls per 30 minutes, AHT 180 s."""
    return {
        b.OFFERED: 100.0,
        b.ENDED: 100.0,
        b.HANDLE_SUM: 18000.0,
        b.ABANDONED: abandoned,
        b.WAIT_SUM: waited,
    }


def test_the_published_example_requires_14_agents() -> None:
    x = inputs(textbook_counts(), staffed=13, seconds=1800.0)
    assert x is not None and x.traffic == pytest.approx(10.0) and x.patience is None
    assert x.arrival_rate == pytest.approx(100 / 1800) and x.servers == 13
    assert x.spread == pytest.approx(math.sqrt(2 / 100))  # 100 offered, 100 ended
    at_13 = forecast(replace(x, spread=0.0), TEXTBOOK)  # the load known: the textbook
    assert at_13.model == "erlang_c"
    assert at_13.predicted == pytest.approx(0.7956, abs=5e-5)
    assert (at_13.required, at_13.shortfall) == (14, 1)
    at_14 = forecast(Inputs(100, 10.0, 180.0, None, 14), TEXTBOOK)
    assert at_14.predicted == pytest.approx(0.8884, abs=5e-5)
    assert (at_14.required, at_14.shortfall) == (14, 0)


def test_erlang_c_overload_is_said_not_numbered() -> None:
    fc = forecast(Inputs(100, 10.0, 180.0, None, 10), TEXTBOOK)
    assert fc.model == "erlang_c_overloaded" and fc.predicted is None
    assert fc.shortfall == 4


def test_patience_from_abandonment_switches_to_erlang_a() -> None:
    # 10 abandoned, 3000 s waited in all: patience 300 s
    x = inputs(textbook_counts(abandoned=10.0, waited=3000.0), staffed=10, seconds=1800.0)
    assert x is not None and x.patience == pytest.approx(300.0)
    fc = forecast(x, TEXTBOOK)
    assert fc.model == "erlang_a"
    assert fc.predicted is not None and 0.0 < fc.predicted < 0.7956  # finite when N <= A
    assert fc.required <= 14  # abandonment shortens the queue: never more than Erlang C
    below = forecast(Inputs(100, 10.0, 180.0, 300.0, fc.required - 1), TEXTBOOK)
    assert (
        below.predicted is not None
        and below.predicted
        < 0.80
        <= forecast(Inputs(100, 10.0, 180.0, 300.0, fc.required), TEXTBOOK).predicted
    )  # type: ignore[operator]


def test_no_forecast_below_the_minimum_volume_or_without_handle_times() -> None:
    f = Forecaster("30m")
    now = 1_800_000_000.0 + 59.0
    few = {**textbook_counts(), b.OFFERED: 19.0}
    assert f.get(("call", "q"), few, 13, TEXTBOOK, now) is None
    assert inputs({b.OFFERED: 50.0}, 3, 1800.0) is None
    assert f.get(("ticket", "q"), textbook_counts(), 13, TEXTBOOK, now) is None
    assert f.get(("call", "q2"), textbook_counts(), 13, TEXTBOOK, now) is not None


def test_the_window_length_counts_the_partial_current_minute() -> None:
    assert window_seconds("30m", 1_800_000_000.0 + 30.0) == 29 * 60 + 30
    assert window_seconds("15m", 1_800_000_000.0) == 14 * 60


def test_a_staffing_change_recomputes_at_once() -> None:
    f = Forecaster("30m", refresh_seconds=3600.0)
    now = 1_800_000_000.0 + 59.0
    first = f.get(("call", "q"), textbook_counts(), 13, TEXTBOOK, now)
    assert f.get(("call", "q"), {}, 13, TEXTBOOK, now) is first  # cached
    second = f.get(("call", "q"), textbook_counts(), 14, TEXTBOOK, now)
    assert second is not None and second.inputs.staffed == 14
    assert math.isclose(second.inputs.aht, 180.0)


def test_deferred_forecasts_wait_for_the_budgeted_worker() -> None:
    import asyncio

    from ccmon.agents.domain import buckets as bk
    from ccmon.agents.domain.forecast import Forecaster
    from ccmon.streams.config import BUILTIN_DEFAULTS

    counts = {bk.OFFERED: 600.0, bk.ENDED: 600.0, bk.HANDLE_SUM: 600 * 180.0}
    f = Forecaster(deferred=True)
    f._inline_spent = 1.0  # this build's inline budget is spent
    now = 1_800_000_000.0
    assert f.get(("call", "q1"), counts, 12, BUILTIN_DEFAULTS, now) is None  # noted, not done
    assert f.get(("call", "q2"), counts, 12, BUILTIN_DEFAULTS, now) is None
    assert f.pending == 2
    assert asyncio.run(f.work(0.0)) == 0  # no budget: nothing computed on the loop
    assert asyncio.run(f.work(10.0)) == 2 and f.pending == 0
    done = f.get(("call", "q1"), counts, 12, BUILTIN_DEFAULTS, now)
    assert done is not None and done.required > 0


def test_the_budget_is_a_rate_what_a_forecast_overspends_the_next_calls_pay_back() -> None:
    """A forecast costs more than a catching-up worker's budget per call: without the
    carried balance each call spent one, whatever the budget (docs/benchmarks.md)."""
    import asyncio

    from ccmon.agents.domain import buckets as bk
    from ccmon.agents.domain.forecast import Forecaster
    from ccmon.streams.config import BUILTIN_DEFAULTS

    counts = {bk.OFFERED: 600.0, bk.ENDED: 600.0, bk.HANDLE_SUM: 600 * 180.0}
    f = Forecaster(deferred=True)
    f._inline_spent = 1.0
    now = 1_800_000_000.0
    for q in ("q1", "q2", "q3"):
        f.get(("call", q), counts, 12, BUILTIN_DEFAULTS, now)

    async def calls() -> list[int]:
        first = await f.work(1e-9)  # any budget left: one forecast, however costly
        cost = f._cost[("call", "q1")]
        assert cost > 0
        # Each call adds cost / 2.5: the balance goes -0.6, -0.2, then +0.2 of a cost.
        return [first] + [await f.work(cost / 2.5) for _ in range(3)]

    assert asyncio.run(calls()) == [1, 0, 0, 1]
    assert f.pending == 1


def test_unspent_budget_is_not_saved_up_for_a_burst() -> None:
    import asyncio

    from ccmon.agents.domain import buckets as bk
    from ccmon.agents.domain.forecast import Forecaster
    from ccmon.streams.config import BUILTIN_DEFAULTS

    counts = {bk.OFFERED: 600.0, bk.ENDED: 600.0, bk.HANDLE_SUM: 600 * 180.0}
    f = Forecaster(deferred=True)

    async def idle_then_two_due() -> int:
        for _ in range(100):
            await f.work(1.0)  # nothing due: an idle minute
        f._inline_spent = 1.0
        for q in ("q1", "q2"):
            f.get(("call", q), counts, 12, BUILTIN_DEFAULTS, now=1_800_000_000.0)
        return await f.work(1e-9)

    assert asyncio.run(idle_then_two_due()) == 1


def test_with_no_inline_budget_a_build_computes_no_forecast() -> None:
    """A worker that catches up (ccmon.agents.worker.catchup): even a build's first queue
    leaves its forecast to the budgeted work."""
    from ccmon.agents.domain import buckets as bk
    from ccmon.streams.config import BUILTIN_DEFAULTS

    counts = {bk.OFFERED: 600.0, bk.ENDED: 600.0, bk.HANDLE_SUM: 600 * 180.0}
    f = Forecaster(deferred=True)
    f.inline_budget = 0.0
    f.new_build()
    assert f.get(("call", "q1"), counts, 12, BUILTIN_DEFAULTS, 1_800_000_000.0) is None
    assert f.pending == 1


def test_the_budgeted_work_computes_off_the_event_loop_and_a_build_skips_a_costly_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A forecast holds the interpreter for its 30-70 ms: work() computes it in its own
    thread, never on the event loop's; a later build leaves a queue whose last forecast
    cost more than its inline budget to work()."""
    import asyncio
    import threading

    from ccmon.agents.domain import buckets as bk
    from ccmon.agents.domain import forecast as fc
    from ccmon.streams.config import BUILTIN_DEFAULTS

    threads: list[str] = []
    real = fc.forecast

    def costly(x: Inputs, policy: QueuePolicy) -> fc.Forecast:
        threads.append(threading.current_thread().name)
        began = time.thread_time()
        while time.thread_time() - began < 0.03:  # CPU, as Erlang A spends it
            pass
        return real(x, policy)

    monkeypatch.setattr(fc, "forecast", costly)
    counts = {bk.OFFERED: 600.0, bk.ENDED: 600.0, bk.HANDLE_SUM: 600 * 180.0}
    now = 1_800_000_000.0
    f = fc.Forecaster(deferred=True)
    f.inline_budget = 0.0
    f.new_build()
    assert f.get(("call", "q1"), counts, 12, BUILTIN_DEFAULTS, now) is None

    async def work() -> tuple[int, str]:
        return await f.work(10.0), threading.current_thread().name

    done, loop_thread = asyncio.run(work())
    assert done == 1 and threads == ["ccmon-forecasts_0"] and loop_thread not in threads
    assert f.get(("call", "q1"), counts, 12, BUILTIN_DEFAULTS, now) is not None

    f.inline_budget = 0.02  # below the 30 ms its last forecast cost
    f.new_build()
    assert f.get(("call", "q1"), counts, 13, BUILTIN_DEFAULTS, now) is not None  # the old one
    assert f.pending == 1 and threads == ["ccmon-forecasts_0"]


def test_a_rebalance_during_the_budgeted_work_forgets_its_queues_quietly() -> None:
    """retain() runs between two forecasts of work() (it yields after each): the queues it
    forgot are not computed, and work() goes on (a KeyError there stopped the worker)."""
    import asyncio

    from ccmon.agents.domain import buckets as bk
    from ccmon.streams.config import BUILTIN_DEFAULTS

    counts = {bk.OFFERED: 600.0, bk.ENDED: 600.0, bk.HANDLE_SUM: 600 * 180.0}
    f = Forecaster(deferred=True)
    f._inline_spent = 1.0
    now = 1_800_000_000.0
    for q in ("q1", "q2", "q3"):
        assert f.get(("call", q), counts, 12, BUILTIN_DEFAULTS, now) is None

    async def revoke_after_the_first() -> int:
        work = asyncio.ensure_future(f.work(10.0))
        await asyncio.sleep(0)  # work() runs up to its first yield
        assert f.pending == 2
        f.retain({("call", "q1")})  # q2 and q3 were revoked
        return await work

    assert asyncio.run(revoke_after_the_first()) == 1 and f.pending == 0


@pytest.mark.parametrize("traffic", [2.5, 20.0, 300.0])
def test_erlang_a_required_agents_is_the_smallest_n_that_meets_in_log_n_evaluations(
    traffic: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ccmon.agents.domain import forecast as fc

    x, policy = Inputs(1000, traffic, 180.0, 120.0, 0), QueuePolicy()
    calls: list[int] = []
    meets = fc._meets

    def counted(n: int, x: Inputs, policy: QueuePolicy) -> bool:
        calls.append(n)
        return meets(n, x, policy)

    monkeypatch.setattr(fc, "_meets", counted)
    n = fc.required_agents(x, policy)
    assert meets(n, x, policy) and not meets(n - 1, x, policy)
    # Walking down from Erlang C's answer took ~60 evaluations at 300 erlangs (0.15 s).
    assert len(calls) <= 2 + math.ceil(math.log2(n + 60))


def test_the_estimate_of_a_from_one_window_is_corrected_for_its_bias() -> None:
    # SL is concave in A near the target: the plug-in SL(A^) reads low on average by about
    # SL'' (A spread)^2 / 2; the correction adds that back, and nothing for a known load.
    x = Inputs(100, 10.0, 180.0, None, 14, spread=math.sqrt(2 / 100))
    plain = erlang.service_level(14, 10.0, 180.0, 20.0)
    h = 10.0 * x.spread
    side = (
        erlang.service_level(14, 10.0 + h, 180.0, 20.0)
        + erlang.service_level(14, 10 - h, 180.0, 20.0)
    ) / 2
    assert predicted_sl(14, x, TEXTBOOK) == pytest.approx(2 * plain - side)
    assert plain < predicted_sl(14, x, TEXTBOOK) < 1.0  # type: ignore[operator]
    assert predicted_sl(14, replace(x, spread=0.0), TEXTBOOK) == pytest.approx(plain)
    assert predicted_sl(10, x, TEXTBOOK) is None  # overloaded stays said, not numbered


def test_chats_are_forecast_in_slots_and_required_in_agents() -> None:
    # 8 agents x 3 chats, A = 20 erlangs of 300 s chats: 24 servers, the published Erlang C.
    x = Inputs(480, 20.0, 300.0, None, 8, slots=24)
    fc = forecast(x, TEXTBOOK)
    assert fc.model == "erlang_c_slots"
    assert fc.predicted == pytest.approx(erlang.service_level(24, 20.0, 300.0, 20.0))
    slots = next(n for n in range(21, 60) if erlang.service_level(n, 20.0, 300.0, 20.0) >= 0.8)
    assert fc.required == math.ceil(slots / 3) == 9 and fc.shortfall == 1
    # One server per agent would call it overloaded: the demo's "NEEDED 18" on 10 chat agents.
    assert forecast(replace(x, slots=None), TEXTBOOK).model == "erlang_c_overloaded"
    assert forecast(replace(x, patience=240.0), TEXTBOOK).model == "erlang_a_slots"


def test_the_window_begins_with_the_queues_data() -> None:
    # A queue counted for 4 minutes has 4 minutes of arrivals, not 30.
    now = 1_800_000_000.0 + 30.0
    assert window_seconds("30m", now, since=b.minute_of(now) - 3) == 3 * 60 + 30
    assert window_seconds("30m", now, since=b.minute_of(now) - 100) == 29 * 60 + 30


def test_estimated_wait() -> None:
    x = Inputs(100, 10.0, 180.0, None, 14)
    assert estimated_wait(0, 14, 13, x) == 0.0  # a free slot, nobody waiting
    # two waiting, one takes the free slot: one ahead, so two service ends to wait for
    assert estimated_wait(2, 14, 13, x) == pytest.approx(2 * 180.0 / 14)
    assert estimated_wait(0, 14, 14, x) == pytest.approx(180.0 / 14)  # the first of 14 to end
    assert estimated_wait(4, 14, 14, x) == pytest.approx(
        5 * 180.0 / 14
    )  # Erlang C: (k + 1) AHT / c
    patient = replace(x, patience=300.0)
    expected = sum(1.0 / (14 / 180.0 + j / 300.0) for j in range(5))
    assert estimated_wait(4, 14, 14, patient) == pytest.approx(expected)
    assert estimated_wait(4, 14, 14, patient) < estimated_wait(4, 14, 14, x)  # type: ignore[operator]
    assert estimated_wait(3, 0, 0, x) is None  # nobody ready: no answer to give
