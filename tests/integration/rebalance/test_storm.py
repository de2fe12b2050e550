"""Rebalance storm: three workers on real Kafka and Redis while ~30,000 events flow; workers
join, leave cleanly and are killed with SIGKILL, eight membership changes in all. Once the
group has settled after the last change, the /metrics of the live workers, summed, equal an
independent recount exactly: every counter, every window, contacts waiting, tickets open
and the duplicates sent; and no channel x queue is exported by two workers."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any

import orjson

from tests.support.expect import assert_one_exporter, combined, wait_until_equal
from tests.support.golden import GOLDEN_SETTINGS, expected_samples_of, recount_events
from tests.support.kafka_io import produce
from tests.support.topology import Topology
from tests.support.worker import Worker

QUEUES = ("sales", "billing", "care")
CONTACTS = 7_500  # about 30,000 events with their lifecycles and duplicates
DUPLICATE_SHARE = 0.03
SPAN_SECONDS = 45 * 60


def lifecycles(seed: int, end: float) -> Iterator[tuple[float, str, dict[str, Any]]]:
    """Whole contacts with their waits given (so that no count depends on which worker
    saw an offer), over the 45 minutes before ``end``; a few still waiting. Every queue
    exit is in it: callbacks (placed in their window or after it, or not yet), flow-outs
    to another queue (answered there: a record between two partitions), to an unknown
    queue, to voicemail and another site, transfers after the answer, abandons on hold, a
    second exit of a visit and exits of contacts never offered."""
    rng = random.Random(seed)
    for n in range(CONTACTS):
        channel = rng.choice(("call", "call", "chat", "ticket"))
        queue = rng.choice(QUEUES)
        other = rng.choice([q for q in QUEUES if q != queue])
        t = end - SPAN_SECONDS + rng.random() * (SPAN_SECONDS - 120)
        cid = f"{channel[0]}{n}"

        def event(
            kind: str,
            at: float,
            cid: str = cid,
            channel: str = channel,
            queue: str = queue,
            **fields: Any,
        ) -> tuple[float, str, dict[str, Any]]:
            at = min(at, end)  # never ahead of the wall clock (that is rejected)
            body = {"event_id": f"{cid}-{kind}-{queue}", "type": kind, "queue": queue}
            return at, channel, {**body, "contact_id": cid, "occurred_at": int(at * 1000), **fields}

        if channel == "ticket":
            yield event("created", t)
            if rng.random() < 0.7:
                yield event("resolved", t + rng.uniform(60, 600))
            continue
        roll = rng.random()
        if roll < 0.04:
            yield event("blocked", t, reason=rng.choice(("trunks_busy", "queue_full")))
            continue
        wait = rng.expovariate(1 / 25) + 0.001
        if roll < 0.045:  # an exit of a contact never offered
            yield event("abandoned", t + wait, wait_seconds=round(wait, 3))
            continue
        yield event("offered", t)
        if roll > 0.97:
            continue  # still waiting at the end
        left = t + wait
        if 0.12 <= roll < 0.16:
            # Half in 10 minutes, half in the default window (max_wait_seconds, 7,200 s).
            window = {"callback_within_seconds": 600} if rng.random() < 0.5 else {}
            yield event("callback_requested", left, wait_seconds=round(wait, 3), **window)
            if rng.random() < 0.8:
                yield event("callback_placed", left + rng.uniform(30, 1200))
            continue
        if 0.16 <= roll < 0.20:
            where = rng.choice(("queue", "queue", "voicemail", "site", "nowhere"))
            target = other if where == "queue" else "nowhere"
            fields = {"target_queue": target} if where in ("queue", "nowhere") else {}
            destination = "queue" if where == "nowhere" else where
            yield event(
                "flowed_out", left, wait_seconds=round(wait, 3), destination=destination, **fields
            )
            if where == "queue" and rng.random() < 0.8:
                there = round(rng.uniform(1, 60), 3)
                yield event("answered", left + there, queue=other, wait_seconds=there)
            continue
        kind = "abandoned" if roll < 0.12 else "answered"
        yield event(kind, left, wait_seconds=round(wait, 3))
        if kind == "abandoned":
            continue
        after = rng.random()
        if after < 0.05:
            yield event("transferred", left + 20, target_queue=other)
            if rng.random() < 0.7:
                there = round(rng.uniform(1, 60), 3)
                yield event("answered", left + 20 + there, queue=other, wait_seconds=there)
        elif after < 0.08:
            yield event("abandoned_on_hold", left + 15, hold_seconds=10)
        elif after < 0.09:
            yield event("abandoned", left + 5, wait_seconds=3)  # a second exit: a repeat
        yield event("ended", left + 30, talk_seconds=rng.uniform(30, 300))


def source_records(topics: dict[str, str], end: float) -> list[tuple[str, bytes, bytes]]:
    rng = random.Random(7)
    timed = sorted(lifecycles(11, end), key=lambda item: item[0])
    records = []
    for _, channel, body in timed:
        record = (topics[channel], body["contact_id"].encode(), orjson.dumps(body))
        records.append(record)
        if rng.random() < DUPLICATE_SHARE:
            records.append(record)  # a producer retry: same event, another record
    return records


def test_rebalance_storm_leaves_every_number_exact(topology: Topology) -> None:
    topics = topology.create_topics(partitions=3)
    topology.settings = GOLDEN_SETTINGS | {
        "CCMON_PARTITIONS": "6",
        "CCMON_SESSION_TIMEOUT_SECONDS": "6",
    }
    records = source_records(topics, end=time.time())
    chunks = [records[i::9] for i in range(9)]  # each chunk spans the whole time range
    running: dict[str, Worker] = {}
    started = 0

    def join() -> None:
        nonlocal started
        started += 1
        name = f"w{started}"
        running[name] = topology.worker(name).start()

    def leave(name: str) -> None:
        running.pop(name).stop()

    def kill(name: str) -> None:
        running.pop(name).kill()

    storm = [
        join,  # 1: w3
        lambda: leave("w1"),  # 2
        join,  # 3: w4
        lambda: kill("w2"),  # 4
        join,  # 5: w5
        lambda: leave("w3"),  # 6
        lambda: kill("w4"),  # 7
        join,  # 8: w6
    ]
    join()
    join()
    for chunk, change in zip(chunks, [*storm, None], strict=True):
        produce(topology.kafka, chunk)
        if change is not None:
            change()  # while the workers are busy with what was just sent
    # Recounted in the order the records were produced (chunk after chunk): a contact's
    # events are read in that order, and the first exit *read* of a visit is the one that
    # counts (docs/events.md, "Queue exits": a repeat is not counted again).
    events = _as_events([r for chunk in chunks for r in chunk], topics)
    assert len({e["event_id"] for _, e in events}) < len(events), "duplicates must be sent"
    # Per-queue numbers only: ccmon_events_* count per worker process, and the processes
    # killed took theirs along (the single-worker tests check those exactly).
    expected = expected_samples_of(recount_events(events))
    workers = list(running.values())
    wait_until_equal(lambda: combined(workers), expected, timeout=180, rel=1e-6)
    assert_one_exporter(workers)


def _as_events(
    records: list[tuple[str, bytes, bytes]], topics: dict[str, str]
) -> list[tuple[str, dict[str, object]]]:
    channel_of = {t: c for c, t in topics.items()}
    return [(channel_of[t], orjson.loads(v)) for t, _, v in records]
