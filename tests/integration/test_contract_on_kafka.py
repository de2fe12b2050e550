"""The event contract on a real broker: bad input reaches the dead-letter topic with its
reason and original bytes, good input is counted exactly once even when sent twice, and the
worker never restarts."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import orjson

from tests.support.expect import sample, wait_until_equal
from tests.support.kafka_io import consume_all, create_topics, produce
from tests.support.paths import ROOT
from tests.support.services import KafkaServer, RedisServer
from tests.support.topology import topic_settings
from tests.support.worker import Worker

EXAMPLES = ROOT / "streams" / "contract" / "schemas" / "examples" / "invalid"
CHANNEL_OF_PREFIX = {"call": "calls", "chat": "chats", "ticket": "tickets", "agent": "agents"}


def invalid_examples() -> list[tuple[str, bytes, str]]:
    index = json.loads((EXAMPLES / "index.json").read_text())
    out = []
    for name, reason in sorted(index.items()):
        channel = name.split("-", 1)[0]
        out.append((channel, (EXAMPLES / name).read_bytes(), reason))
    return out


def valid_events(now: float) -> list[tuple[str, dict[str, object]]]:
    ms = int(now * 1000)
    events: list[tuple[str, dict[str, object]]] = []
    for i in range(20):
        q = f"q{i % 3}"
        c = f"c{i}"
        events.append(
            (
                "call",
                {
                    "event_id": f"o{i}",
                    "type": "offered",
                    "queue": q,
                    "contact_id": c,
                    "occurred_at": ms - 60_000,
                },
            )
        )
        if i % 4 == 0:
            events.append(
                (
                    "call",
                    {
                        "event_id": f"a{i}",
                        "type": "abandoned",
                        "queue": q,
                        "contact_id": c,
                        "occurred_at": ms - 50_000,
                        "wait_seconds": 10,
                    },
                )
            )
        else:
            events.append(
                (
                    "call",
                    {
                        "event_id": f"n{i}",
                        "type": "answered",
                        "queue": q,
                        "contact_id": c,
                        "occurred_at": ms - 30_000,
                        "wait_seconds": 30 + i,
                    },
                )
            )
    for i in range(5):
        events.append(
            (
                "chat",
                {
                    "event_id": f"ch{i}",
                    "type": "offered",
                    "queue": "web",
                    "contact_id": f"h{i}",
                    "occurred_at": ms - 1000,
                },
            )
        )
        events.append(
            (
                "ticket",
                {
                    "event_id": f"t{i}",
                    "type": "created",
                    "queue": "mail",
                    "contact_id": f"T{i}",
                    "occurred_at": ms - 1000,
                },
            )
        )
    events.append(
        (
            "call",
            {
                "event_id": "b1",
                "type": "blocked",
                "queue": "q0",
                "contact_id": "x",
                "occurred_at": ms,
                "reason": "trunks_busy",
            },
        )
    )
    return events


def test_bad_input_to_dead_letter_good_input_counted_once(
    kafka: KafkaServer, redis_server: RedisServer, unique_name: str, tmp_path: Path
) -> None:
    topics = {ch: f"{unique_name}.{suffix}" for ch, suffix in CHANNEL_OF_PREFIX.items()}
    dead_letter = f"{unique_name}.dead-letter"
    create_topics(kafka.bootstrap, topics.values(), partitions=2)
    worker = Worker(
        kafka.bootstrap,
        redis_server.url,
        tmp_path,
        unique_name,
        env={
            **topic_settings(topics, dead_letter),
        },
    ).start()
    try:
        invalid = invalid_examples()
        assert len({reason for _, _, reason in invalid}) >= 20
        valid = valid_events(time.time())
        records: list[tuple[str, bytes | None, bytes]] = []
        for i, (channel, event) in enumerate(valid):
            raw = orjson.dumps(event)
            records.append((topics[channel], None, raw))
            if i < len(invalid):
                channel_bad, raw_bad, _ = invalid[i]
                records.append((topics[channel_bad], b"k", raw_bad))
            records.append((topics[channel], None, raw))  # every valid event twice
        produce(kafka.bootstrap, records)

        rejected = consume_all(kafka.bootstrap, dead_letter, len(invalid))
        got = Counter((r.value, r.headers["ccmon-reason"].decode()) for r in rejected)
        want = Counter((raw, reason) for _, raw, reason in invalid)
        assert got == want
        for r in rejected:
            assert r.headers["ccmon-source-topic"].decode() in topics.values()
            assert int(r.headers["ccmon-source-offset"]) >= 0
            assert r.headers["ccmon-detail"]

        expected = Counter[tuple[str, str, str]]()
        for channel, event in valid:
            expected[(channel, str(event["queue"]), str(event["type"]))] += 1
        names = {
            "offered": "ccmon_contacts_offered_total",
            "answered": "ccmon_contacts_answered_total",
            "abandoned": "ccmon_contacts_abandoned_total",
            "created": "ccmon_tickets_created_total",
        }
        want_samples = {
            sample(names[t], channel=c, queue=q): float(n)
            for (c, q, t), n in expected.items()
            if t in names
        }
        want_samples[
            sample("ccmon_contacts_blocked_total", channel="call", queue="q0", reason="trunks_busy")
        ] = 1.0
        want_samples[sample("ccmon_events_duplicate_total", channel="call")] = float(
            sum(1 for c, _ in valid if c == "call")
        )
        reasons = Counter(reason for _, _, reason in invalid)
        for channel, _raw, reason in invalid:
            want_samples[
                sample("ccmon_events_rejected_total", topic=topics[channel], reason=reason)
            ] = float(sum(1 for c, _, r in invalid if c == channel and r == reason))
        assert sum(reasons.values()) == len(invalid)
        wait_until_equal(worker.samples, want_samples)
        worker.check_alive()  # not restarted: the same process counted everything
        assert "Traceback" not in worker.log_path.read_text()
    finally:
        worker.stop()
