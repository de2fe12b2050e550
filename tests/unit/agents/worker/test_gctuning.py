"""The worker's collector thresholds (ccmon.agents.worker.gctuning)."""

from __future__ import annotations

import gc

from ccmon.agents.worker import gctuning


def test_tune_sets_the_thresholds_and_returns_the_previous() -> None:
    before = gc.get_threshold()
    try:
        assert gctuning.tune() == before
        assert gc.get_threshold() == gctuning.THRESHOLDS
    finally:
        gc.set_threshold(*before)


def test_a_batch_of_young_objects_is_not_promoted_at_the_tuned_threshold() -> None:
    """What the thresholds are for: 20,000 event-sized dicts alive at once (a batch) stay
    in the youngest generation instead of surviving into the older ones."""
    before = gc.get_threshold()
    try:
        gc.collect()
        gctuning.tune()
        counts = gc.get_count()
        batch = [{"event_id": str(i), "queue": "q", "at": float(i)} for i in range(20_000)]
        assert gc.get_count()[0] > counts[0]  # counted young, no collection ran yet
        assert gc.get_count()[1] == counts[1]
        del batch
    finally:
        gc.set_threshold(*before)
