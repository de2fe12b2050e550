"""Polling helpers: integration tests wait for eventually-consistent numbers, never sleep."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from tests.support.worker import Sample, Worker


def sample(name: str, **labels: str) -> Sample:
    return (name, tuple(sorted(labels.items())))


def combined(workers: list[Worker]) -> dict[Sample, float]:
    """Per-queue series summed over workers, as `sum by (...)` does in PromQL."""
    out: dict[Sample, float] = {}
    for w in workers:
        for key, value in w.samples().items():
            out[key] = out.get(key, 0.0) + value
    return out


def wait_until_equal(
    read: Callable[[], Mapping[Sample, float]],
    expected: Mapping[Sample, float],
    timeout: float = 90.0,
    rel: float = 1e-9,
) -> Mapping[Sample, float]:
    """Poll until every expected sample has its value; on timeout, report the differences."""
    deadline = time.monotonic() + timeout
    diffs: dict[Sample, tuple[float, float | None]] = {}
    while True:
        got = read()
        diffs = {
            k: (v, got.get(k))
            for k, v in expected.items()
            if got.get(k) is None or abs(float(got[k]) - v) > rel * max(1.0, abs(v))
        }
        if not diffs:
            return got
        if time.monotonic() > deadline:
            lines = "\n".join(
                f"  {k}: expected {e}, got {g}" for k, (e, g) in sorted(diffs.items())
            )
            raise AssertionError(f"{len(diffs)} samples differ after {timeout}s:\n{lines}")
        time.sleep(0.5)
