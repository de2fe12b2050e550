"""Two workers counting while the second joins mid-stream (a rebalance whose new owners read
records again), with exact re-sends in the traffic: the scenario that pins the duplicate
counter to what the producer sent, on any Redis the caller hands in (one server, a Redis
Cluster, a Valkey cluster)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from tests.support.expect import combined, total, wait_until_equal
from tests.support.golden import expected_samples_of, golden_env, recount_events
from tests.support.kafka_io import Producer, read_back
from tests.support.personal import Watch, WatchedWorker
from tests.support.resends import resends_in, with_resends
from tests.support.traffic import as_records, lifecycles


@dataclass
class Joined:
    """What the two workers reported once every number was exact."""

    workers: list[WatchedWorker]
    events: int  # records read back from the source topics, re-sends included
    resends: int  # of those, exact re-sends of an earlier event (the producer's duplicates)
    duplicates: float  # ccmon_events_duplicate_total summed over both workers
    replayed: float  # ccmon_events_replayed_total summed over both workers
    exact_after_s: float  # from the read-back of the sources to every number exact
    figures: dict[str, Any] = field(default_factory=dict)


def count_across_a_join(watch: Watch, kafka: str, redis: str) -> Joined:
    """Two halves of 800 contacts each with 5 % re-sends, 8 partitions; the second worker
    starts while the first counts the first half. Waits until the summed /metrics equal the
    independent recount (tests.support.golden), then reads the pipeline counters."""
    topics = watch.source_topics(kafka, partitions=3)
    env = golden_env(
        topics,
        watch.app_id,
        CCMON_PARTITIONS="8",
        CCMON_SESSION_TIMEOUT_SECONDS="6",
        # No commit before the rebalance: what the new owners read again is what the first
        # worker counted in their partitions, not what a 2.8 s commit timer had not covered
        # yet (on a slow VM the first half was committed before the join: none read again).
        CCMON_COMMIT_INTERVAL_SECONDS="3600",
    )
    end = time.time()
    first = with_resends(lifecycles(31, 800, end - 60, 20 * 60, "a"), 0.05, seed=1)
    second = with_resends(lifecycles(32, 800, end, 20 * 60, "b"), 0.05, seed=2)
    w1 = watch.worker(kafka, redis, env, name="w1").start()
    Producer(kafka, as_records(topics, first)).send_all()
    # The second worker joins while the first is still counting: a rebalance mid-stream,
    # whose new owners read records of the first half again.
    w2 = watch.worker(kafka, redis, env, name="w2").start()
    Producer(kafka, as_records(topics, second)).send_all()
    truth = read_back(kafka, topics)
    began = time.monotonic()
    workers = [w1, w2]
    wait_until_equal(lambda: combined(workers), expected_samples_of(recount_events(truth)), 180)
    exact_after = time.monotonic() - began
    both = [w.samples() for w in workers]
    joined = Joined(
        workers,
        len(truth),
        resends_in(truth),
        sum(total(s, "ccmon_events_duplicate_total") for s in both),
        sum(total(s, "ccmon_events_replayed_total") for s in both),
        round(exact_after, 1),
    )
    joined.figures = {
        "events": joined.events,
        "resends": joined.resends,
        "duplicates_counted": joined.duplicates,
        "replayed": joined.replayed,
        "exact_after_s": joined.exact_after_s,
    }
    return joined
