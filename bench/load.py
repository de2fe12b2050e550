"""How much CPU *other* processes used during a phase: on a shared machine a busy
neighbour (another test suite, a build) slows the system under test, and the result
should say so. Ours = this harness and all its descendants (Kafka, Redis, workers,
baselines), counted alive or already reaped."""

from __future__ import annotations

import contextlib
import os
import time

import psutil


def _ours() -> float:
    me = psutil.Process()
    t = me.cpu_times()
    seconds = t.user + t.system + t.children_user + t.children_system
    for child in me.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            c = child.cpu_times()
            seconds += c.user + c.system
    return float(seconds)


def _busy() -> float:
    t = psutil.cpu_times()
    return float(sum(t) - t.idle - getattr(t, "iowait", 0.0))


class ForeignLoad:
    """``with ForeignLoad() as load: ...`` then ``load.percent``: CPU used by processes
    that are not ours, in % of one core, averaged over the block (approximate: a child
    reaped by someone else than us is counted as foreign)."""

    def __init__(self) -> None:
        self.percent = 0.0
        self.cores = os.cpu_count() or 1

    def __enter__(self) -> ForeignLoad:
        self._start = (time.monotonic(), _busy(), _ours())
        return self

    def sample(self) -> float:
        began, busy, ours = self._start
        elapsed = time.monotonic() - began
        foreign = (_busy() - busy) - (_ours() - ours)
        self.percent = max(0.0, 100 * foreign / elapsed) if elapsed > 0 else 0.0
        return self.percent

    def __exit__(self, *exc: object) -> None:
        self.sample()
