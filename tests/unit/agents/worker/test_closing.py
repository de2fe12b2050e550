"""The partition's closing clock: the oldest latest event time of the sources still bringing
events while it reads, the worker's clock once it is caught up and idle."""

from __future__ import annotations

import time

from ccmon.agents.domain.state import PartitionState
from ccmon.agents.worker.closing import Closer
from ccmon.agents.worker.runtime import Runtime
from ccmon.streams.settings import Settings


def closer(highwater: int | None = 10) -> Closer:
    runtime = Runtime(Settings(tick_interval_seconds=1.0))
    return Closer(runtime, None, lambda partition: highwater)


def test_a_slow_source_holds_the_clock_back_a_quiet_one_does_not() -> None:
    c = closer()
    c.counted(0, {"call:0": 1000.0, "call:1": 400.0})
    assert c.watermark(0, own=1000.0) == 400.0  # call:1 is behind: its records are to come
    c.counted(0, {"call:1": 900.0})
    assert c.watermark(0, own=1000.0) == 900.0
    c.sources[0]["ticket:0"] = (100.0, time.monotonic() - 5.0)  # nothing for two ticks
    assert c.watermark(0, own=1000.0) == 900.0
    assert c.watermark(1, own=1000.0) == 1000.0  # nothing known: its own progress
    c.forget({0})
    assert c.watermark(0, own=1000.0) == 1000.0


def test_idle_once_caught_up_and_quiet_for_two_ticks() -> None:
    state = PartitionState(0)
    state.progress.rp = 10
    assert closer(highwater=None).idle(0, state) is False  # never fetched: not known
    assert closer(highwater=11).idle(0, state) is False  # a record still to read
    c = closer(highwater=10)
    assert c.idle(0, state) is True
    c.counted(0, {"call:0": 1.0})
    assert c.idle(0, state) is False  # it just counted
    c.counted_at[0] = time.monotonic() - 3.0
    assert c.idle(0, state) is True
