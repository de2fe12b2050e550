"""Drivers that pace the engine: as fast as possible, or against the wall clock."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from dataclasses import dataclass, field

from ccmon.agents.devkit.simulator.engine import iter_events
from ccmon.agents.devkit.simulator.model import SimConfig
from ccmon.agents.devkit.simulator.sinks import Progress, Sink

# Sleeping for less than this costs more than it buys; such events go out slightly early.
_MIN_SLEEP = 0.002
# In fast mode, hand the loop back every N events so signals and producer I/O get a turn.
_YIELD_EVERY = 1000
_PROGRESS_SLICE = 1.0


@dataclass
class RunStats:
    events: int = 0
    by_channel: Counter[str] = field(default_factory=Counter)
    sim_start: float = 0.0
    sim_end: float = 0.0  # simulated time reached
    wall_seconds: float = 0.0
    stopped: bool = False  # ended by ``stop`` rather than by the duration

    @property
    def rate(self) -> float:
        return self.events / self.wall_seconds if self.wall_seconds > 0 else 0.0


async def run_fast(
    config: SimConfig,
    sink: Sink,
    start: float,
    duration: float,
    stop: asyncio.Event | None = None,
    *,
    progress: Progress | None = None,
) -> RunStats:
    """Emit ``duration`` simulated seconds from ``start`` as fast as the sink accepts them."""
    stats = RunStats(sim_start=start, sim_end=start)
    began = time.monotonic()
    for t, channel, event in iter_events(config, start, duration):
        await sink.send(channel, event)
        stats.events += 1
        stats.by_channel[channel] += 1
        stats.sim_end = t
        if stats.events % _YIELD_EVERY == 0:
            await asyncio.sleep(0)
            if stop is not None and stop.is_set():
                stats.stopped = True
                break
            if progress is not None:
                progress.update(stats.events, t, start)
    else:
        stats.sim_end = start + duration
    stats.wall_seconds = time.monotonic() - began
    return stats


async def _wait(stop: asyncio.Event | None, seconds: float) -> bool:
    """Sleep ``seconds``; True if ``stop`` was set meanwhile."""
    if stop is None:
        await asyncio.sleep(seconds)
        return False
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return False
    return True


async def run_realtime(
    config: SimConfig,
    sink: Sink,
    speed: float,
    duration: float | None,
    stop: asyncio.Event | None = None,
    *,
    start: float | None = None,
    progress: Progress | None = None,
) -> RunStats:
    """Emit events when their time comes: simulated time runs ``speed`` times the wall clock.

    The simulated clock starts at ``start`` (default: now), so at speed 1 the events are live
    and at speed S an event stamped ``start + x`` is sent ``x / S`` wall seconds after the
    call. Runs for ``duration`` simulated seconds (None = until ``stop`` is set).
    """
    if not speed > 0 or math.isinf(speed):
        raise ValueError(f"speed must be a finite number > 0, got {speed}")
    if duration is not None and not duration >= 0:
        raise ValueError(f"duration must be >= 0, got {duration}")
    loop = asyncio.get_running_loop()
    sim_start = time.time() if start is None else start
    horizon = math.inf if duration is None else duration
    stats = RunStats(sim_start=sim_start, sim_end=sim_start)
    wall_start = loop.time()

    def sim_now() -> float:
        return sim_start + (loop.time() - wall_start) * speed

    async def sleep_until(due: float) -> bool:
        """Wait for wall time ``due`` in slices so a quiet queue still reports progress."""
        while (delay := due - loop.time()) > _MIN_SLEEP:
            if await _wait(stop, min(delay, _PROGRESS_SLICE)):
                return True
            if progress is not None:
                progress.update(stats.events, sim_now(), sim_start)
        return stop is not None and stop.is_set()

    for t, channel, event in iter_events(config, sim_start, horizon):
        if await sleep_until(wall_start + (t - sim_start) / speed):
            stats.stopped = True
            break
        await sink.send(channel, event)
        stats.events += 1
        stats.by_channel[channel] += 1
        if progress is not None:
            progress.update(stats.events, t, sim_start)
    else:
        # Quiet tail: the run lasts its duration even if the last event came earlier;
        # without a duration only ``stop`` ends it.
        if duration is not None or stop is not None:
            stats.stopped = await sleep_until(wall_start + horizon / speed)
    stats.sim_end = min(sim_now(), sim_start + horizon)
    stats.wall_seconds = loop.time() - wall_start
    return stats
