"""Agent states end to end on a real worker, real Kafka and real Redis: an agent in two
queues, an out-of-order change, a bad event dead-lettered, a lost logged_out expired by
silence, a kill -9 and a restart that keeps every agent where it was."""

from __future__ import annotations

import time

from tests.support.expect import sample, wait_until_equal
from tests.support.kafka_io import consume_all, produce
from tests.support.topology import EVERY_CHANNEL, Topology
from tests.support.traffic import agent_event

SALES = {"channel": "call", "queue": "sales"}
BILLING = {"channel": "chat", "queue": "billing"}


def test_agent_states_per_queue_survive_a_kill_and_a_restart(
    topology: Topology,
) -> None:
    topics = topology.create_topics(2, EVERY_CHANNEL)
    topology.settings = {
        "CCMON_TICK_INTERVAL_SECONDS": "1",
        "CCMON_AGENT_SILENCE_SECONDS": "3600",
    }
    t, a = time.time() - 120, topics["agent"]
    produce(
        topology.kafka,
        [
            agent_event(a, "ag1", "logged_in", t, "a1", queues=[SALES, BILLING]),
            agent_event(a, "ag2", "logged_in", t, "a2", queues=[SALES]),
            agent_event(a, "ag3", "state_changed", t + 5, "a2", state="on_contact", channel="call"),
            agent_event(a, "ag4", "state_changed", t + 20, "a1", state="not_ready", reason="lunch"),
            # older than a1's last, in the same batch: counted in event-time order
            agent_event(a, "ag9", "state_changed", t + 15, "a1", state="after_contact_work"),
            agent_event(a, "ag6", "logged_in", t - 7200, "a3", queues=[SALES]),  # silent for 2 h
            agent_event(a, "ag7", "state_changed", t, "a4", state="idle"),  # dead-lettered
        ],
    )
    worker = topology.worker().start()
    expected = {
        sample("ccmon_agents_logged_in", **SALES): 2.0,
        sample("ccmon_agents_on_contact", **SALES): 1.0,
        sample("ccmon_agents_available", **SALES): 0.0,
        sample("ccmon_agents_not_ready", **SALES, reason="lunch"): 1.0,
        sample("ccmon_agents_logged_in", **BILLING): 1.0,
        sample("ccmon_agents_not_ready", **BILLING, reason="lunch"): 1.0,
        sample("ccmon_events_rejected_total", topic=a, reason="invalid_state"): 1.0,
    }
    wait_until_equal(worker.samples, expected)
    # Older than a1's last, after it was counted: late, it changes nothing (and the one
    # counted in the same batch as a1's last was not: the count is 1).
    produce(
        topology.kafka, [agent_event(a, "ag5", "state_changed", t + 10, "a1", state="available")]
    )
    late = {sample("ccmon_events_late_total", channel="agent"): 1.0}
    wait_until_equal(worker.samples, expected | late)
    dead = consume_all(topology.kafka, topology.dead_letter, expected=1)
    assert dict(dead[0].headers)["ccmon-reason"] == b"invalid_state"

    worker.kill()
    produce(topology.kafka, [agent_event(a, "ag8", "logged_out", t + 30, "a2")])
    restarted = topology.worker("w1-restarted").start()
    try:
        wait_until_equal(
            restarted.samples,
            {
                sample("ccmon_agents_logged_in", **SALES): 1.0,
                sample("ccmon_agents_on_contact", **SALES): 0.0,
                sample("ccmon_agents_not_ready", **SALES, reason="lunch"): 1.0,
                sample("ccmon_agents_logged_in", **BILLING): 1.0,
            },
        )
    finally:
        restarted.stop()
