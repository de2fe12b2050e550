"""Staff records (hop 1 -> hop 2 of docs/architecture.md, "Agents and staffing") under
load and faults: agents in many queues with long names, whose records for one partition
would exceed Kafka's request size in one piece; and a broker that stays away longer than a
send may wait. The gauges end exact both times."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.expect import Measured, poll, sample, total, wait_until_equal
from tests.support.golden import golden_env
from tests.support.kafka_io import produce
from tests.support.personal import Watch
from tests.support.services import KafkaServer, OwnService, RedisServer
from tests.support.topology import EVERY_CHANNEL
from tests.support.traffic import agent_event

pytestmark = pytest.mark.integration

STATES = ("available", "on_contact", "after_contact_work")


def _staffing(
    topic: str, agents: list[str], queues: list[str], changes: int, seed: int
) -> tuple[list[Any], dict[Any, float]]:
    """Each agent logs in to ``queues`` (calls), then changes state ``changes`` times; the
    gauges every queue must end with."""
    rng = random.Random(seed)
    t0 = time.time() - 600
    records: list[Any] = []
    last: dict[str, str] = {}
    skills = [{"channel": "call", "queue": q} for q in queues]
    for agent in agents:
        records.append(
            agent_event(topic, f"{agent[:150]}-0", "logged_in", t0, agent, queues=skills)
        )
        last[agent] = "available"
    for n in range(1, changes + 1):
        for agent in agents:
            state = rng.choice(STATES)
            extra = {"channel": "call"} if state == "on_contact" else {}
            event_id = f"{agent[:150]}-{n}"
            records.append(
                agent_event(topic, event_id, "state_changed", t0 + n, agent, state=state, **extra)
            )
            last[agent] = state
    expected: dict[Any, float] = {}
    names = {
        "available": "ccmon_agents_available",
        "on_contact": "ccmon_agents_on_contact",
        "after_contact_work": "ccmon_agents_after_contact_work",
    }
    for q in queues:
        labels = {"channel": "call", "queue": q}
        expected[sample("ccmon_agents_logged_in", **labels)] = float(len(agents))
        for state, name in names.items():
            expected[sample(name, **labels)] = float(sum(s == state for s in last.values()))
    return records, expected


def test_staff_records_of_agents_in_200_long_named_queues_fit_kafka_requests(
    kafka: KafkaServer, redis_server: RedisServer, watch: Watch, measured: Measured
) -> None:
    topics = watch.source_topics(kafka.bootstrap, 2, EVERY_CHANNEL)
    # The longest names the contract admits: 200-character agent ids, 100-character queues.
    agents = [f"{n:04d}-" + "a" * 195 for n in range(40)]
    queues = [f"{n:03d}-" + "q" * 96 for n in range(200)]
    records, expected = _staffing(topics["agent"], agents, queues, changes=5, seed=3)
    produce(kafka.bootstrap, records)  # a backlog: hop 1 meets it in large batches
    worker = watch.worker(kafka.bootstrap, redis_server.url, golden_env(topics, watch.app_id))
    began = time.monotonic()
    worker.start()
    wait_until_equal(worker.samples, expected, timeout=180)
    figures = {
        "agents": len(agents),
        "queues": len(queues),
        "agent_events": len(records),
        "staff_records": len(records) * len(queues),
        "exact_after_s": round(time.monotonic() - began, 1),
    }
    measured("staff records", figures)


def test_staff_records_wait_out_a_broker_outage_longer_than_a_send_may_take(
    own: Callable[..., OwnService], redis_server: RedisServer, watch: Watch, measured: Measured
) -> None:
    broker = own("kafka")
    topics = watch.source_topics(broker.bootstrap, 2, EVERY_CHANNEL)
    agents = [f"agent-{n}" for n in range(300)]
    queues = [f"q{n}" for n in range(12)]
    records, expected = _staffing(topics["agent"], agents, queues, changes=40, seed=4)
    produce(broker.bootstrap, records)
    # A send waits 3 s at most before it fails (and is sent again, or not).
    env = golden_env(topics, watch.app_id, CCMON_PRODUCE_TIMEOUT_SECONDS="3")
    worker = watch.worker(broker.bootstrap, redis_server.url, env).start()
    pid = worker.pid
    poll(
        "hop 2 counting",
        lambda: total(worker.samples(), "ccmon_agents_logged_in") > 0,
        60,
        interval=0.05,
    )
    assert broker.stop() == "stopped"
    stopped_at = time.monotonic()
    while time.monotonic() < stopped_at + 12:  # four times the send timeout
        worker.check_alive()
        time.sleep(0.5)
    broker.start(keep_data=True)
    back_at = time.monotonic()
    down = back_at - stopped_at
    wait_until_equal(worker.samples, expected, timeout=180)
    assert worker.pid == pid
    retries = total(worker.samples(), "ccmon_kafka_send_retries_total")
    assert retries > 0
    figures = {
        "agent_events": len(records),
        "send_retries": retries,
        "broker_down_s": round(down, 1),
        "exact_after_broker_back_s": round(time.monotonic() - back_at, 1),
    }
    measured("staff records through a broker outage", figures)
