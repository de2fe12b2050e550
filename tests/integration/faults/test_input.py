"""Bad input at volume on a real worker: 10,000 malformed payloads mixed with valid traffic,
and 100,000 distinct queue names. Nothing crashes, every bad record reaches the dead-letter
topic with its reason and bytes, the good ones are counted exactly, and the series and the
memory stay bounded (docs/reliability.md)."""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest

from ccmon.streams.contract.events import REASONS
from tests.support.expect import Measured, poll, sample, total, wait_until_equal
from tests.support.golden import expected_samples_of, golden_env, recount_events
from tests.support.kafka_io import Outgoing as Record
from tests.support.kafka_io import Producer, consume_all
from tests.support.personal import PERSONAL, Watch, WatchedWorker
from tests.support.poison import payloads
from tests.support.services import KafkaServer, RedisServer
from tests.support.traffic import as_records, lifecycles

pytestmark = pytest.mark.integration

POISON = 10_000
QUEUE_NAMES = 100_000
QUEUE_CAP = 200
MEMORY_BUDGET_MB = 100  # for 100,000 names; 56-86 MB measured in 10 runs


def _interleave(seed: int, first: list[Record], second: list[Record]) -> list[Record]:
    """Both lists mixed at random, each keeping its own order (a contact's events stay in
    order on their partition)."""
    rng = random.Random(seed)
    slots = [0] * len(first) + [1] * len(second)
    rng.shuffle(slots)
    sources = [iter(first), iter(second)]
    return [next(sources[s]) for s in slots]


def test_ten_thousand_poison_payloads_dead_lettered_valid_events_counted_exactly(
    kafka: KafkaServer, redis_server: RedisServer, watch: Watch, measured: Measured
) -> None:
    topics = watch.source_topics(kafka.bootstrap, 3)
    env = golden_env(topics, watch.app_id)
    worker = watch.worker(kafka.bootstrap, redis_server.url, env).start()
    pid = worker.pid
    now = time.time()
    bad = payloads(7, POISON, int(now * 1000), lambda n: PERSONAL.contact(f"x{n}"))
    valid = lifecycles(seed=8, contacts=1000, end=now, span=20 * 60, prefix="g")
    poison = [(topics["call"], PERSONAL.contact(i).encode(), raw) for i, (_, raw) in enumerate(bad)]
    began = time.monotonic()
    Producer(kafka.bootstrap, _interleave(9, as_records(topics, valid), poison)).send_all()

    dead = consume_all(kafka.bootstrap, env["CCMON_TOPIC_DEAD_LETTER"], POISON, timeout=180)
    # The dead-letter topic holds the original bytes of every bad record, nothing else.
    assert Counter(r.value for r in dead) == Counter(raw for _, raw in bad)
    reasons = Counter(r.headers["ccmon-reason"].decode() for r in dead)
    assert set(reasons) <= REASONS and sum(reasons.values()) == POISON
    assert all(r.headers["ccmon-source-topic"].decode() == topics["call"] for r in dead)
    assert not any("ccmon-truncated-from" in r.headers for r in dead)  # 1 MB fits whole

    expected = expected_samples_of(recount_events(valid))
    for reason, n in reasons.items():
        expected[sample("ccmon_events_rejected_total", topic=topics["call"], reason=reason)] = n
    wait_until_equal(worker.samples, expected, timeout=120)
    seconds = time.monotonic() - began
    got = worker.samples()
    assert total(got, "ccmon_events_rejected_total") == POISON
    assert total(got, "ccmon_events_total") == len(valid)
    worker.check_alive()
    assert worker.pid == pid, "the worker was restarted"
    assert "Traceback" not in worker.log_path.read_text()
    figures = {
        "poison": POISON,
        "poison_bytes": sum(len(raw) for _, raw in bad),
        "valid": len(valid),
        "reasons": dict(reasons.most_common()),
        "all_counted_s": round(seconds, 1),
    }
    measured("poison", figures)


def _rss_mb(worker: WatchedWorker) -> float:
    status = Path(f"/proc/{worker.pid}/status").read_text()
    (line,) = [x for x in status.splitlines() if x.startswith("VmRSS:")]
    return int(line.split()[1]) / 1024


def test_a_hundred_thousand_queue_names_stay_within_the_cap_and_bounded_memory(
    kafka: KafkaServer, redis_server: RedisServer, watch: Watch, tmp_path: Path, measured: Measured
) -> None:
    topics = watch.source_topics(kafka.bootstrap, 3)
    config = tmp_path / "queues.yaml"
    config.write_text(f"limits: {{max_queues: {QUEUE_CAP}}}\nqueues: {{vip: {{}}}}\n")
    env = golden_env(topics, watch.app_id, CCMON_QUEUE_CONFIG=str(config))
    worker = watch.worker(kafka.bootstrap, redis_server.url, env).start()
    now_ms = int(time.time() * 1000)

    # Blocked calls: counted, and no live entry (an offered call would wait in the state
    # until it expires, so 100,000 of them measured 100,000 waiting contacts, ~0.8 kB each,
    # not the queue names).
    def blocked(n: int, queue: str) -> Record:
        body = {
            "event_id": f"f{n}",
            "type": "blocked",
            "reason": "queue_full",
            "queue": queue,
            "contact_id": PERSONAL.contact(f"f{n}"),
            "occurred_at": now_ms - 60_000,
        }
        return (topics["call"], None, orjson.dumps(body))

    # Warm up on the configured queue: the RSS before is that of a worker that counts.
    Producer(kafka.bootstrap, [blocked(n, "vip") for n in range(100)]).send_all()
    poll("warm-up counted", lambda: total(worker.samples(), "ccmon_events_total") == 100, 60)
    rss = [_rss_mb(worker)]
    began = time.monotonic()

    def counted() -> dict[str, float]:
        samples = worker.samples()
        return {
            dict(labels)["queue"]: v
            for (name, labels), v in samples.items()
            if name == "ccmon_contacts_blocked_total"
        }

    # In two halves, each a backlog of 50,000 records the worker works off: RSS keeps the
    # high-water mark of the read-ahead (aiokafka's fetch buffers, Faust's 4,096 records
    # per stream) and of the allocator, so it rises by however deep the backlog got, once,
    # not per name (measured in 10 runs: +40..68 MB after the first half, +1..24 MB after
    # the second, 131-161 MB at the end).
    half = QUEUE_NAMES // 2
    for start in (0, half):
        names = range(start, start + half)
        Producer(kafka.bootstrap, [blocked(100 + n, f"flood-{n:06d}") for n in names]).send_all()
        want = 100 + start + half
        poll("every event counted", lambda w=want: sum(counted().values()) == w, 240, 1.0)  # type: ignore[misc]
        rss.append(_rss_mb(worker))
    seconds = time.monotonic() - began
    samples = worker.samples()
    by_queue = counted()
    admitted = sorted(set(by_queue) - {"vip", "other"})
    assert len(admitted) == QUEUE_CAP
    assert by_queue["other"] == QUEUE_NAMES - QUEUE_CAP
    assert samples[sample("ccmon_events_queue_overflow_total", channel="call")] == (
        QUEUE_NAMES - QUEUE_CAP
    )
    assert samples[sample("ccmon_queues_tracked")] == QUEUE_CAP + 1  # + vip
    labelled = {dict(labels).get("queue") for (_, labels) in samples} - {None}
    assert len(labelled) <= QUEUE_CAP + 2  # the cap, vip and "other": nothing else
    series = len(samples)
    per_queue = Counter(dict(labels).get("queue") for (_, labels) in samples)
    # Nothing is kept per name once the cap is full (streams/store/queuecap.py): the flood costs
    # a fixed budget, whatever the number of names.
    assert rss[2] - rss[0] < MEMORY_BUDGET_MB, rss
    worker.check_alive()
    figures = {
        "queue_names": QUEUE_NAMES,
        "cap": QUEUE_CAP,
        "overflow": QUEUE_NAMES - QUEUE_CAP,
        "series": series,
        "series_per_queue": per_queue["vip"],
        "rss_mb_before_half_second_half": [round(x, 1) for x in rss],
        "all_counted_s": round(seconds, 1),
    }
    measured("label flood", figures)
