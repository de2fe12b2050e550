"""Waiting and reading numbers: integration tests wait for eventually-consistent numbers
(:func:`poll`, :func:`wait_until_equal`), never sleep a fixed time, and read /metrics
samples (:func:`sample`, :func:`value`, :func:`total`, :func:`combined`). A test reports
what it measured through the ``measured`` fixture (:data:`Measured`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from tests.support.worker import Sample, Worker

T = TypeVar("T")

# ``measured("redis outage", {"detected_s": 0.6, ...})``: the figures a fault test measured,
# kept as its JUnit property ``figures`` and printed as ``<what> figures: {...}`` (read with
# ``pytest -rP`` or in tests/stress/repeat.sh's logs), where docs/reliability.md's ranges
# come from. The fixture is in tests/integration/conftest.py.
Measured = Callable[[str, dict[str, Any]], None]


def poll(
    what: str,
    check: Callable[[], T | None],
    timeout: float,
    interval: float = 0.2,
    diagnostics: Callable[[], str] | None = None,
) -> T:
    """Poll until ``check`` returns something truthy; its value. Never a fixed sleep. At
    the deadline, fail naming ``what``, the last error and ``diagnostics()``."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while True:
        try:
            if result := check():
                return result
        except (OSError, ValueError, KeyError) as exc:
            last = exc
        if time.monotonic() > deadline:
            problem = f" ({last!r})" if last else ""
            more = f"\n{diagnostics()}" if diagnostics else ""
            raise AssertionError(f"{what}: not within {timeout:.0f}s{problem}{more}")
        time.sleep(interval)


def sample(name: str, **labels: str) -> Sample:
    return (name, tuple(sorted(labels.items())))


def combined(workers: list[Worker]) -> dict[Sample, float]:
    """Per-queue series summed over workers, as `sum by (...)` does in PromQL."""
    out: dict[Sample, float] = {}
    for w in workers:
        for key, value in w.samples().items():
            out[key] = out.get(key, 0.0) + value
    return out


def assert_one_exporter(workers: list[Worker]) -> None:
    """Exactly one exporter per channel x queue: no series is exported by two workers."""
    seen: dict[Sample, int] = {}
    for w in workers:
        for key in w.samples():
            if key[0] == "ccmon_contacts_offered_total":
                seen[key] = seen.get(key, 0) + 1
    assert seen and all(n == 1 for n in seen.values()), seen


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


def value(samples: Mapping[Any, float], name: str, **labels: str) -> float:
    want = tuple(sorted(labels.items()))
    return sum(v for (n, ls), v in samples.items() if n == name and (not labels or ls == want))


def total(samples: Mapping[Any, float], name: str) -> float:
    return sum(v for (n, _), v in samples.items() if n == name)


def per_queue_counters(samples: Mapping[Sample, float]) -> dict[Sample, float]:
    """The per-queue cumulative counters: what a count that slipped through would change."""
    return {k: v for k, v in samples.items() if k[0].endswith("_total") and "queue" in dict(k[1])}
