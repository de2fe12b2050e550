"""A paused owner comes back (issue 24, item 2: the case the issue names but did not run): a
worker frozen mid-stream (SIGSTOP: cut off from Kafka and Redis at once, as a long GC pause,
a stalled VM or a network partition leaves it) while its partitions hold a backlog; the
group's session timeout gives them to a second worker, which counts on from Redis; then the
first worker wakes (SIGCONT) with the batches it was counting, its writes carrying the
generation Kafka has since replaced, and rejoins the group. The fence is Kafka's generation,
so its old writes are refused ("generation N owns it now") and nothing of them is
acknowledged; it takes partitions again under a newer generation, and every number is exact
at the end (docs/reliability.md)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.support.expect import Measured, combined, poll, total, wait_until_equal
from tests.support.golden import expected_samples_of, golden_env, recount_events
from tests.support.kafka_io import Item, Producer
from tests.support.personal import Watch
from tests.support.services import KafkaServer, RedisServer
from tests.support.traffic import as_records, lifecycles
from tests.support.worker import Sample

pytestmark = pytest.mark.integration

FENCED_LOG = "owns it now"


def _expected(items: list[Item]) -> dict[Sample, float]:
    return expected_samples_of(recount_events(items))


def test_an_owner_paused_past_its_session_comes_back_fenced_and_counts_stay_exact(
    kafka: KafkaServer, redis_server: RedisServer, watch: Watch, measured: Measured
) -> None:
    topics = watch.source_topics(kafka.bootstrap, 3)
    env = golden_env(topics, watch.app_id, CCMON_SESSION_TIMEOUT_SECONDS="6")
    first = watch.worker(kafka.bootstrap, redis_server.url, env).start(all_partitions=True)
    end = time.time()
    before = lifecycles(seed=61, contacts=800, end=end - 60, span=20 * 60, prefix="a")
    backlog = lifecycles(seed=62, contacts=4000, end=end - 30, span=20 * 60, prefix="b")
    after = lifecycles(seed=63, contacts=800, end=end, span=20 * 60, prefix="c")
    Producer(kafka.bootstrap, as_records(topics, before)).send_all()
    wait_until_equal(first.samples, _expected(before), timeout=120)

    # A backlog, and the owner frozen while it counts it: its fetched records and the step
    # it was writing wait in a stopped process.
    Producer(kafka.bootstrap, as_records(topics, backlog)).send_all()
    offered = total(_expected(before), "ccmon_contacts_offered_total")
    poll(
        "the first worker counting the backlog",
        lambda: total(first.samples(), "ccmon_contacts_offered_total") > offered,
        60,
        interval=0.05,
    )
    pid = first.pid
    os.kill(pid, signal.SIGSTOP)
    paused_at = time.monotonic()
    try:
        second = watch.worker(kafka.bootstrap, redis_server.url, env, name="w2")
        second.start(all_partitions=True)  # once the session of the frozen one has ended
        taken_after = time.monotonic() - paused_at
        wait_until_equal(second.samples, _expected(before + backlog), timeout=120)
    finally:
        os.kill(pid, signal.SIGCONT)
    resumed_at = time.monotonic()

    workers = [first, second]
    poll(
        "the woken worker back in the group",
        lambda: all(len((w.health() or {}).get("partitions") or []) > 0 for w in workers),
        60,
    )
    Producer(kafka.bootstrap, as_records(topics, after)).send_all()
    everything = before + backlog + after
    wait_until_equal(lambda: combined(workers), _expected(everything), timeout=120)
    exact_after = time.monotonic() - resumed_at
    assert first.pid == pid  # woken, not restarted
    fenced = first.log_path.read_text().count(FENCED_LOG)
    replayed = sum(total(w.samples(), "ccmon_events_replayed_total") for w in workers)
    figures = {
        "events": len(everything),
        "backlog_when_paused": len(backlog),
        "taken_over_after_s": round(taken_after, 1),
        "old_writes_fenced": fenced,
        "records_read_again": replayed,
        "exact_after_resume_s": round(exact_after, 1),
    }
    measured("paused owner", figures)
