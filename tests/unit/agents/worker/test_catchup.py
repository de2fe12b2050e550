"""Catch-up mode (ccmon.agents.worker.catchup): entered at CCMON_CATCH_UP_LAG_RECORDS
records behind, left below half that, said on the gauge and in the log."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import CollectorRegistry, Gauge

from ccmon.agents.domain.forecast import INLINE_BUDGET_SECONDS
from ccmon.agents.metrics.lag import LagCollector
from ccmon.agents.worker.catchup import (
    FORECAST_SHARE,
    FULL_PUBLICATION_SECONDS,
    CatchUpMode,
    full_publication_seconds,
)


def mode(threshold: int, lags: list[int | None]) -> tuple[CatchUpMode, Gauge]:
    gauge = Gauge("ccmon_worker_catching_up", "", registry=CollectorRegistry())
    return CatchUpMode(threshold, lambda: lags.pop(0), gauge), gauge


def test_it_begins_at_the_threshold_and_ends_below_half_of_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    lags: list[int | None] = [None, 9_999, 10_000, 6_000, 5_000, 4_999, 9_000]
    catch_up, gauge = mode(10_000, lags)
    caplog.set_level(logging.INFO, logger="ccmon.agents.worker.catchup")
    seen = []
    for _ in range(7):
        seen.append((catch_up.check(), gauge._value.get()))
    assert seen == [
        (False, 0),  # the lag is not known yet
        (False, 0),
        (True, 1),
        (True, 1),  # between half and the threshold: no flapping
        (True, 1),
        (False, 0),
        (False, 0),  # back under the threshold: stays off
    ]
    assert [r.getMessage() for r in caplog.records] == [
        "catching up: 10000 records behind; forecasts slowed and the wall's documents "
        "published every 2 s until fewer than 5000 are left",
        "caught up: 4999 records behind",
    ]


def test_the_forecasts_get_a_quarter_of_their_share_while_it_lasts() -> None:
    catch_up, _ = mode(100, [100, 0])
    catch_up.check()
    assert catch_up.forecast_share() == FORECAST_SHARE == 0.25
    catch_up.check()
    assert catch_up.forecast_share() == 1.0


def test_no_forecast_is_computed_inside_a_build_while_it_lasts() -> None:
    catch_up, _ = mode(100, [100, 0])
    catch_up.check()
    assert catch_up.inline_forecasts() == 0.0
    catch_up.check()
    assert catch_up.inline_forecasts() == INLINE_BUDGET_SECONDS


def test_every_document_is_published_every_2_s_and_before_half_its_ttl() -> None:
    assert full_publication_seconds(1.0, 5, catching_up=False) == 1.0
    assert full_publication_seconds(1.0, 5, catching_up=True) == FULL_PUBLICATION_SECONDS == 2.0
    assert full_publication_seconds(1.0, 3, catching_up=True) == 1.5  # TTL 3 s
    assert full_publication_seconds(3.0, 10, catching_up=True) == 3.0  # never more often


def test_zero_turns_it_off() -> None:
    catch_up, gauge = mode(0, [10**9])
    assert not catch_up.check()
    assert gauge._value.get() == 0


def test_the_lag_is_summed_over_the_assigned_partitions_of_the_consumed_topics() -> None:
    class TP:
        def __init__(self, topic: str, partition: int) -> None:
            self.topic, self.partition = topic, partition

    tps = [TP("calls", 0), TP("calls", 1), TP("by-queue", 0), TP("changelog", 0), TP("calls", 2)]
    high = {("calls", 0): 100, ("calls", 1): 50, ("by-queue", 0): 7, ("changelog", 0): 10**6}
    done = {("calls", 0): 40, ("calls", 1): 60, ("by-queue", 0): None}
    lag = LagCollector(
        lambda: tps,
        lambda tp: high.get((tp.topic, tp.partition)),  # calls/2: not fetched yet
        lambda tp: done.get((tp.topic, tp.partition)),
        ["calls", "by-queue"],
    )
    assert lag.total() == 60 + 0 + 7
    # The same figures as ccmon_consumer_lag exports, partition by partition.
    exported = {
        (s.labels["topic"], s.labels["partition"]): s.value
        for family in lag.collect()
        if family.name == "ccmon_consumer_lag"
        for s in family.samples
    }
    assert exported == {("by-queue", "0"): 7, ("calls", "0"): 60, ("calls", "1"): 0}
    assert LagCollector(lambda: tps[2:3], lambda tp: None, lambda tp: 0, ["calls"]).total() is None
