"""Golden test: a fixed event file through a real worker on real Kafka; the scraped
/metrics must equal an independent recount (tests/support/golden.py).

The stream clock is used, so "now" is the file's last event time and the result does not
depend on the day the test runs."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.support.expect import assert_one_exporter, combined, sample, wait_until_equal
from tests.support.golden import GOLDEN_SETTINGS, PHASES, expected_samples_of, load, recount
from tests.support.kafka_io import produce
from tests.support.topology import Topology
from tests.support.worker import Sample

DATA = Path(__file__).parent / "data"


def expected_samples(phases: tuple[str, ...] = PHASES) -> dict[Sample, float]:
    return expected_samples_of(recount(phases))


def test_reference_recount_covers_the_edge_cases() -> None:
    ref = recount()
    totals = ref["totals"]
    assert isinstance(totals, dict)
    phase1 = load("golden-phase1.jsonl")
    ids = [str(e["event_id"]) for _, e in phase1]
    assert len(ids) > len(set(ids)), "the file must contain duplicates"
    windows = ref["windows"]
    assert isinstance(windows, dict)
    today_paris = sum(
        v
        for (c, q, w, what), v in windows.items()
        if w == "today" and q == "billing" and what == "offered"
    )
    all_billing = sum(
        v for (c, q, what), v in totals.items() if q == "billing" and what == "offered"
    )
    assert 0 < today_paris < all_billing, "local midnight must split the file"
    # Every queue exit and every rule for what does not fit is in the traffic.
    names = {what for (_, _, what) in totals}
    for name in (
        "callbacks",
        "callbacks_placed",
        "callbacks_met",
        "callbacks_missed",
        "callbacks_waiting",
        "flowed_out:queue",
        "flowed_out:voicemail",
        "flowed_out:site",
        "transferred",
        "abandoned_on_hold",
        "irregular:repeated",
        "irregular:unknown_target",
    ):
        assert name in names, name


def _records(topics: dict[str, str], name: str) -> list[tuple[str, bytes | None, bytes]]:
    return [(topics[c], None, orjson.dumps(e)) for c, e in load(name)]


@pytest.mark.parametrize("workers", [1, 2], ids=["one-worker", "two-workers-rebalance"])
def test_golden_metrics_equal_reference(topology: Topology, workers: int) -> None:
    # One partition per source topic keeps each channel's file order, which the
    # out-of-order and derived-wait cases of the reference rely on.
    topics = topology.create_topics(partitions=1)
    topology.settings = dict(GOLDEN_SETTINGS)
    running = [topology.worker().start()]
    phase1 = [r for name in PHASES[:2] for r in _records(topics, name)]
    if workers == 1:
        produce(topology.kafka, phase1)
    else:
        # A second worker joins mid-stream: the group rebalances while events flow.
        half = len(phase1) // 2
        produce(topology.kafka, phase1[:half])
        running.append(topology.worker("w2").start(wait_assigned=True))
        produce(topology.kafka, phase1[half:])
    # Phase 2 (late events) only once phase 1 is counted: lateness is judged against
    # the stream clock, which phase 1 moves to the end of the file.
    first = expected_samples(PHASES[:2])
    wait_until_equal(
        lambda: combined(running),
        {k: v for k, v in first.items() if k[0] == "ccmon_contacts_offered_total"},
    )
    produce(topology.kafka, _records(topics, "golden-phase2.jsonl"))
    expected = expected_samples()
    expected[sample("ccmon_events_late_total", channel="call")] = 2.0
    expected[sample("ccmon_events_late_total", channel="ticket")] = 1.0
    if workers == 1:
        # With a rebalance, at-least-once delivery may re-forward a few records: they
        # are duplicates too, so the exact count is only known without one.
        expected[sample("ccmon_events_duplicate_total", channel="call")] = float(
            sum(1 for c, _ in load("golden-phase1.jsonl") if c == "call")
            - len({e["event_id"] for c, e in load("golden-phase1.jsonl") if c == "call"})
        )
    wait_until_equal(lambda: combined(running), expected, rel=1e-6)
    if workers == 2:
        assert_one_exporter(running)
