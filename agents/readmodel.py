"""The read side: per channel x queue views computed from the tables at read time.

Only keys of partitions this worker actively owns are read (standby replicas fill the
store with other workers' partitions; exporting them would double every sum). Used by the
/metrics collectors and the Redis snapshot alike, so both always show the same numbers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from ccmon.agents import buckets as b
from ccmon.agents.ledger import Tables
from ccmon.streams.config import QueuePolicy

PolicyFor = Callable[[str, str], QueuePolicy]


@dataclass
class QueueView:
    channel: str
    queue: str
    policy: QueuePolicy
    windows: dict[str, b.Counters] = field(default_factory=dict)
    totals: Mapping[str, Any] = field(default_factory=dict)
    waiting: int = 0
    oldest_waiting_since: float | None = None
    tickets_open: int = 0
    tickets_overdue: int = 0
    oldest_open_ticket_since: float | None = None


@dataclass
class ReadModel:
    now: float
    queues: dict[tuple[str, str], QueueView]
    built_in_seconds: float


def build(
    tables: Tables, partitions: Collection[int], policy_for: PolicyFor, now: float
) -> ReadModel:
    started = time.perf_counter()
    views: dict[tuple[str, str], QueueView] = {}

    def view(channel: str, queue: str) -> QueueView:
        found = views.get((channel, queue))
        if found is None:
            found = views[(channel, queue)] = QueueView(channel, queue, policy_for(channel, queue))
        return found

    for key, value in tables.totals.items():
        if value.get("p") in partitions:
            channel, queue = key.split("|", 1)
            view(channel, queue).totals = value

    current = b.minute_of(now)
    oldest_needed = current - max(b.WINDOW_MINUTES.values())
    minutes: dict[tuple[str, str], dict[int, Mapping[str, float]]] = {}
    days: dict[tuple[str, str], dict[str, Mapping[str, float]]] = {}
    for key, value in tables.buckets.items():
        if value.get("p") not in partitions:
            continue
        channel, queue, kind, when = b.split_bucket_key(key)
        if kind == "m":
            minute = int(when)
            if oldest_needed <= minute <= current:
                minutes.setdefault((channel, queue), {})[minute] = value
        else:
            days.setdefault((channel, queue), {})[when] = value

    for cq, v in views.items():
        tz = v.policy.timezone
        v.windows = b.rollup(minutes.get(cq, {}), now, tz)
        today = days.get(cq, {}).get(b.local_day(now, tz))
        v.windows["today"] = b.sum_all([today] if today else [])

    for key, value in tables.live.items():
        if value.get("p") not in partitions:
            continue
        kind = value.get("k")
        if kind not in ("w", "t"):
            continue
        channel, rest = key.split("|", 1)
        queue = rest.rsplit("|", 1)[0]
        v = views.get((channel, queue)) or view(channel, queue)
        since = float(value["t"])
        if kind == "w":
            v.waiting += 1
            if v.oldest_waiting_since is None or since < v.oldest_waiting_since:
                v.oldest_waiting_since = since
        else:
            v.tickets_open += 1
            origin = float(value.get("c") or since)
            if now - origin > v.policy.resolution_target_seconds:
                v.tickets_overdue += 1
            if v.oldest_open_ticket_since is None or origin < v.oldest_open_ticket_since:
                v.oldest_open_ticket_since = origin
    return ReadModel(now, views, time.perf_counter() - started)
