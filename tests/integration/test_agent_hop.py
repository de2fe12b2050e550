"""Hop 1 of the agents (docs/architecture.md, "Agents and staffing") counted again with other
batch boundaries: after a crash between its staff records' send and its state write, or a
rebalance, the new owner reads the same records in other batches. The staff records it makes
must be the very ones made the first time (same ids, positions and contents): their
partitions skip them as read again, and occupancy is neither counted twice nor lost."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import orjson

from ccmon.agents.partitions.owner import Owner
from ccmon.agents.worker.counting import Counting
from ccmon.agents.worker.runtime import Runtime
from ccmon.streams.contract.events import validate
from ccmon.streams.settings import Settings
from tests.support.services import RedisServer

SALES = {"channel": "call", "queue": "sales"}
BILLING = {"channel": "chat", "queue": "billing"}


def _agent_event(runtime: Runtime, src: str, kind: str, at: float, **fields: Any) -> dict[str, Any]:
    body = {"event_id": src, "type": kind, "occurred_at": int(at * 1000), "agent_id": "a1"}
    event = validate(orjson.dumps({**body, **fields}), "agent", time.time(), runtime.limits)
    record = event.to_dict()  # type: ignore[union-attr]
    record["src"] = src
    return record


def _records(runtime: Runtime, t: float) -> list[list[dict[str, Any]]]:
    """Three repartition records of hop-1 partition 0. The agent's login came through
    another source partition than its later events and reaches hop 1 after them."""
    return [
        [
            _agent_event(
                runtime, "agent:0:3", "state_changed", t + 10, state="on_contact", channel="call"
            )
        ],
        [
            _agent_event(runtime, "agent:1:1", "logged_in", t, queues=[SALES, BILLING]),
            _agent_event(runtime, "agent:0:4", "state_changed", t + 40, state="available"),
        ],
        [_agent_event(runtime, "agent:0:5", "state_changed", t + 30, state="after_contact_work")],
    ]


async def _hop1(url: str, prefix: str, t: float, batches: list[list[int]]) -> tuple[list[Any], Any]:
    """Count the three records in ``batches`` (lists of offsets); the staff records sent
    (in the order sent) and the agent's hop-1 entry."""
    runtime = Runtime(
        Settings(redis=url, redis_prefix=prefix, clock="stream", partitions=4, batch_max_events=1)
    )
    records = _records(runtime, t)
    sent: list[Any] = []

    class Capturing(Counting):
        async def send(self, outbox: dict[int, list[dict[str, Any]]]) -> None:
            sent.extend((p, r) for p, rs in sorted(outbox.items()) for r in rs)

    owner = Owner(runtime.store)
    owner.assign([0])
    try:
        counting = Capturing(runtime, owner)
        for offsets in batches:
            events = [
                SimpleNamespace(
                    message=SimpleNamespace(partition=0, offset=o),
                    value=orjson.dumps(records[o]),
                )
                for o in offsets
            ]
            await counting.batch(events)
        entry = owner.states[0].live["agent|"]["a1"]
        return sent, entry
    finally:
        await owner.close()
        keys = [k async for k in runtime.redis.scan_iter(match=f"{{{prefix}:*", count=1000)]
        if keys:
            await runtime.redis.delete(*keys)
        await runtime.redis.aclose()


def test_hop_one_makes_the_same_staff_records_whatever_the_batches(
    redis_server: RedisServer, unique_name: str
) -> None:
    url, t = redis_server.url, time.time() - 600
    together, entry = asyncio.run(_hop1(url, f"{unique_name}-a", t, [[0, 1, 2]]))
    apart, entry_apart = asyncio.run(_hop1(url, f"{unique_name}-b", t, [[0], [1, 2]]))
    alone, entry_alone = asyncio.run(_hop1(url, f"{unique_name}-c", t, [[0], [1], [2]]))
    assert together, "hop 1 sent no staff record"
    assert together == apart == alone
    assert entry == entry_apart == entry_alone
