"""The worker's garbage-collector thresholds.

A worker allocates millions of short-lived objects a second (decoded events, their dicts,
the batch's effects), and a batch lives across awaits long enough to survive the young
generations at Python's default threshold of 700 allocations. Promoted, it counts towards
the next full collection, which scans every object the worker holds (its state included):
at 200,000 events, 26-29 full collections per drain of 100-140 ms each, 2.7-3.5 s of a
35-40 s drain, and each a pause of the event loop (scrapes, heartbeats, freshness).
Collecting the youngest generation every 100,000 allocations lets a batch die young: 4
collections over 20 ms, 0.2-0.3 s in all (A/B drains in docs/benchmarks.md). Cyclic garbage
waits a little longer; reference counting frees the rest at once, as before.
"""

from __future__ import annotations

import gc

THRESHOLDS = (100_000, 20, 10)


def tune() -> tuple[int, int, int]:
    """Set the worker's thresholds; returns the previous ones."""
    previous = gc.get_threshold()
    gc.set_threshold(*THRESHOLDS)
    return previous
