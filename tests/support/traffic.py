"""Contact-centre traffic for the fault and security suite: whole lifecycles over the
golden queues whose contact and agent ids all carry the personal-data marker
(:mod:`tests.support.personal`), and their Kafka records keyed by contact, as ACDs key them."""

from __future__ import annotations

import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from tests.support.kafka_io import Item, Outgoing
from tests.support.personal import PERSONAL

QUEUES = ("sales", "billing", "care")  # the queues of golden-queues.yaml


def lifecycles(
    seed: int, contacts: int, end: float, span: float, prefix: str, start: int = 0
) -> list[Item]:
    """Whole contacts (offered, answered or abandoned with the wait given, ended; tickets
    created and resolved; a few blocked, a few still waiting) over ``span`` seconds before
    ``end``, in time order. Event ids start with ``prefix``; no count depends on which
    worker saw an offer, and every contact and agent id carries the personal-data marker."""
    rng = random.Random(seed)
    timed: list[tuple[float, str, dict[str, Any]]] = []

    def add(channel: str, base: dict[str, Any], kind: str, at: float, **extra: Any) -> None:
        at = min(at, end)  # never ahead of the wall clock (that is rejected)
        body = {**base, "event_id": f"{base['event_id']}-{kind}", "type": kind}
        timed.append((at, channel, {**body, "occurred_at": int(at * 1000), **extra}))

    for n in range(start, start + contacts):
        channel = rng.choice(("call", "call", "chat", "ticket"))
        t = end - span + rng.random() * (span - 60)
        base = {
            "event_id": f"{prefix}{n}",
            "queue": rng.choice(QUEUES),
            "contact_id": PERSONAL.contact(f"{prefix}{n}"),
        }
        agent = PERSONAL.agent(rng.randrange(40))
        if channel == "ticket":
            add(channel, base, "created", t)
            if rng.random() < 0.7:
                add(channel, base, "resolved", t + rng.uniform(5, 50), agent_id=agent)
            continue
        roll = rng.random()
        if roll < 0.04:
            add(channel, base, "blocked", t, reason=rng.choice(("trunks_busy", "queue_full")))
            continue
        add(channel, base, "offered", t, agent_id="")
        if roll > 0.97:
            continue  # still waiting
        wait = round(rng.expovariate(1 / 25), 3)
        if roll < 0.15:
            add(channel, base, "abandoned", t + wait, wait_seconds=wait)
            continue
        add(channel, base, "answered", t + wait, wait_seconds=wait, agent_id=agent)
        talk = round(rng.uniform(30, 300), 3)
        add(channel, base, "ended", t + wait + 20, talk_seconds=talk, agent_id=agent)
    timed.sort(key=lambda x: x[0])
    return [(channel, body) for _, channel, body in timed]


def as_records(topics: dict[str, str], items: Iterable[Item]) -> list[Outgoing]:
    """Keyed by contact, as ACDs do: a contact's events stay in order on one partition."""
    return [
        (topics[channel], str(body["contact_id"]).encode(), orjson.dumps(body))
        for channel, body in items
    ]


PLAIN_QUEUES = ("q1", "q2", "q3")  # queues of plain_queues(): UTC, nothing but max_wait


def call(topic: str, n: int, kind: str, at: float, queue: str, **fields: Any) -> Outgoing:
    """The Kafka record of one event of call ``c<n>`` (keyed by contact), at ``at``."""
    body = {
        "event_id": f"c{n}-{kind}",
        "type": kind,
        "occurred_at": int(at * 1000),
        "queue": queue,
        "contact_id": f"c{n}",
        **fields,
    }
    return (topic, f"c{n}".encode(), orjson.dumps(body))


def agent_event(
    topic: str, event_id: str, kind: str, at: float, agent: str, **fields: Any
) -> Outgoing:
    """The Kafka record of one event of ``agent`` at ``at``, keyed by agent (one agent's
    events in order, as on the ACD's agent feed)."""
    body = {"event_id": event_id, "type": kind, "occurred_at": int(at * 1000), "agent_id": agent}
    return (topic, agent.encode(), orjson.dumps({**body, **fields}))


def answered_call(topic: str, n: int, at: float, wait: float, queue: str) -> list[Outgoing]:
    """Call ``c<n>`` offered ``wait`` seconds before ``at`` and answered at ``at``."""
    return [
        call(topic, n, "offered", at - wait, queue),
        call(topic, n, "answered", at, queue, wait_seconds=wait),
    ]


def plain_queues(directory: Path, max_wait_seconds: float) -> Path:
    """A queue configuration of PLAIN_QUEUES in UTC that expires waiting contacts after
    ``max_wait_seconds``: for tests of expiry."""
    path = directory / "queues.yaml"
    path.write_text(
        f"defaults:\n  timezone: UTC\n  max_wait_seconds: {max_wait_seconds:.0f}\nqueues:\n"
        + "".join(f"  {q}: {{}}\n" for q in PLAIN_QUEUES)
    )
    return path
