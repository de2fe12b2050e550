"""Time-driven removals while a worker works through a backlog on the wall clock: a contact
waiting longer than its queue's ``max_wait_seconds`` is expired, a closed contact's marker is
dropped after 15 minutes; in a backlog, both must be judged by how far the partition has
read (event time), or the answers and late offers still in the backlog meet contacts that
were expired or forgotten too early (docs/architecture.md, "Expiry")."""

from __future__ import annotations

import random
import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.expect import Measured, sample, wait_until_equal
from tests.support.golden import golden_env
from tests.support.kafka_io import produce
from tests.support.personal import Watch
from tests.support.services import KafkaServer, RedisServer
from tests.support.traffic import PLAIN_QUEUES, call, plain_queues

pytestmark = pytest.mark.integration

QUEUES = PLAIN_QUEUES


def _counts(n_per_queue: dict[str, int]) -> dict[Any, float]:
    out: dict[Any, float] = {}
    for q, n in n_per_queue.items():
        labels = {"channel": "call", "queue": q}
        out[sample("ccmon_contacts_offered_total", **labels)] = float(n)
        out[sample("ccmon_contacts_answered_total", **labels)] = float(n)
        out[sample("ccmon_contacts_waiting", **labels)] = 0.0
    return out


def _expired(samples: dict[Any, float]) -> float:
    return sum(v for (n, _), v in samples.items() if n == "ccmon_contacts_expired_total")


def test_a_backlog_answered_after_20_s_has_no_phantom_expiries_on_the_wall_clock(
    kafka: KafkaServer, redis_server: RedisServer, watch: Watch, tmp_path: Path, measured: Measured
) -> None:
    topics = watch.source_topics(kafka.bootstrap, 3)
    rng = random.Random(7)
    now = time.time()
    calls = 12_000
    records, per_queue = [], dict.fromkeys(QUEUES, 0)
    # Offered over the minute that ended four minutes ago, each answered 20 s later: every
    # contact is older than max_wait (60 s) by the wall clock when the worker reads it.
    timed = []
    for n in range(calls):
        queue = rng.choice(QUEUES)
        per_queue[queue] += 1
        t = now - 300 + rng.random() * 60
        timed.append((t, call(topics["call"], n, "offered", t, queue)))
        timed.append((t + 20, call(topics["call"], n, "answered", t + 20, queue, wait_seconds=20)))
    records = [r for _, r in sorted(timed, key=lambda x: x[0])]
    produce(kafka.bootstrap, records)
    env = golden_env(
        topics,
        watch.app_id,
        CCMON_CLOCK="wall",
        CCMON_QUEUE_CONFIG=str(plain_queues(tmp_path, 60)),
        CCMON_TICK_INTERVAL_SECONDS="0.5",  # several ticks while the backlog is read
        # 24,000 records wait: the worker catches up (forecasts slowed, the wall's
        # documents published every 2 s), and the expiry is as exact in that mode.
        CCMON_CATCH_UP_LAG_RECORDS="1000",
    )
    began = time.monotonic()
    worker = watch.worker(kafka.bootstrap, redis_server.url, env).start()
    caught_up = _counts(per_queue) | {sample("ccmon_worker_catching_up"): 0.0}
    wait_until_equal(worker.samples, caught_up, timeout=120)
    drained = time.monotonic() - began
    assert _expired(worker.samples()) == 0
    log = worker.log_path.read_text()
    entered = re.search(r"catching up: (\d+) records behind", log)
    assert entered is not None, worker.log_tail()
    assert "caught up:" in log[entered.end() :]
    figures = {
        "calls": calls,
        "drained_s": round(drained, 1),
        "expired": 0,
        "behind_at_catch_up": int(entered.group(1)),
    }
    measured("backlog expiry", figures)


def test_closed_markers_outlive_a_backlog_older_than_their_15_minutes(
    kafka: KafkaServer, redis_server: RedisServer, watch: Watch, tmp_path: Path
) -> None:
    """Answers that overtook their offers (another source partition, a slow producer): the
    offer, read later in the backlog, must find the contact's closed marker, not open a
    waiting contact that never ends."""
    topics = watch.source_topics(kafka.bootstrap, 3)
    now = time.time()
    calls = 6_000
    per_queue = dict.fromkeys(QUEUES, 0)
    answers, offers = [], []
    for n in range(calls):
        queue = QUEUES[n % len(QUEUES)]
        per_queue[queue] += 1
        t = now - 1500 + n * 0.01  # 25 minutes ago
        answers.append(call(topics["call"], n, "answered", t + 5, queue, wait_seconds=5))
        offers.append(call(topics["call"], n, "offered", t, queue))
    # Between them, blocked calls (counted, never waiting): the backlog takes several ticks.
    fillers = [
        call(
            topics["call"],
            calls + n,
            "blocked",
            now - 1500 + n * 0.002,
            QUEUES[n % 3],
            reason="queue_full",
        )
        for n in range(30_000)
    ]
    produce(kafka.bootstrap, answers + fillers + offers)
    env = golden_env(
        topics,
        watch.app_id,
        CCMON_CLOCK="wall",
        CCMON_QUEUE_CONFIG=str(plain_queues(tmp_path, 60)),
        CCMON_TICK_INTERVAL_SECONDS="0.5",
    )
    worker = watch.worker(kafka.bootstrap, redis_server.url, env).start()
    wait_until_equal(worker.samples, _counts(per_queue), timeout=120)
    assert _expired(worker.samples()) == 0
