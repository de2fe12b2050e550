"""Idempotent writes to the state tables for one repartition record.

Every value written carries ``o``, the offset of the last repartition record applied to
it, and ``p``, its partition. A record is applied to a key only if its offset is larger
than the key's ``o``: a record replayed after a crash (its changelog write durable, its
consumer offset not yet committed) changes nothing the second time. One key is one
changelog record, so "applied" and "offset" are always durable together.

Works on any ``MutableMapping`` — Faust tables in the worker, plain dicts in unit tests.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from ccmon.agents import buckets as b

Table = MutableMapping[str, Any]

# Histogram names -> the bounds they are recorded with (set once at start-up).
WAIT = "wait"
HANDLE = "handle"
TICKET_FRT = "ticket_frt"
TICKET_RESOLUTION = "ticket_res"


@dataclass
class Tables:
    buckets: Table
    totals: Table
    live: Table


@dataclass
class StateLimits:
    bucket_retention_minutes: int = 120
    day_retention_days: int = 3
    closed_marker_seconds: float = 900.0
    closed_ticket_marker_seconds: float = 86400.0
    histogram_bounds: dict[str, list[float]] = field(default_factory=dict)


@dataclass
class Outcome:
    late: bool = False
    duplicate_state: bool = False


class Ledger:
    def __init__(self, tables: Tables, limits: StateLimits, partition: int, offset: int) -> None:
        self.t = tables
        self.limits = limits
        self.partition = partition
        self.offset = offset

    def _fresh(self, current: Mapping[str, Any] | None) -> bool:
        return current is None or current.get("o", -1) < self.offset

    def add(self, table: Table, key: str, incs: Mapping[str, float]) -> bool:
        current = table.get(key)
        if not self._fresh(current):
            return False
        new: dict[str, Any] = dict(current) if current else {}
        for name, value in incs.items():
            new[name] = new.get(name, 0.0) + value
        new["o"] = self.offset
        new["p"] = self.partition
        table[key] = new
        return True

    def put(self, key: str, value: dict[str, Any]) -> bool:
        if not self._fresh(self.t.live.get(key)):
            return False
        value["o"] = self.offset
        value["p"] = self.partition
        self.t.live[key] = value
        return True

    def delete(self, table: Table, key: str) -> None:
        # Deleting is idempotent by nature; the offset guard is not needed.
        if key in table:
            del table[key]

    def count(
        self,
        channel: str,
        queue: str,
        ts: float,
        now: float,
        tz: str,
        incs: Mapping[str, float],
        observe: Mapping[str, float] | None = None,
    ) -> bool:
        """Add ``incs`` to the event's minute and local-day buckets and to the totals.

        Returns True when the event is late (its minute bucket is gone): it still reaches
        the day bucket while that is kept, and always the cumulative totals."""
        minute = b.minute_of(ts)
        late = minute <= b.minute_of(now) - self.limits.bucket_retention_minutes
        if not late:
            self.add(self.t.buckets, b.minute_key(channel, queue, minute), incs)
        day = b.local_day(ts, tz)
        if not b.day_is_expired(day, now, self.limits.day_retention_days):
            self.add(self.t.buckets, b.day_key(channel, queue, day), incs)
        totals = dict(incs)
        for name, value in (observe or {}).items():
            self._observe(totals, name, value)
        self.add(self.t.totals, b.cq_key(channel, queue), totals)
        return late

    def _observe(self, into: dict[str, float], name: str, value: float) -> None:
        bounds = self.limits.histogram_bounds.get(name, [])
        idx = bisect.bisect_left(bounds, value)
        label = repr(bounds[idx]) if idx < len(bounds) else "+Inf"
        into[f"h:{name}:{label}"] = into.get(f"h:{name}:{label}", 0.0) + 1.0
        into[f"h:{name}:sum"] = into.get(f"h:{name}:sum", 0.0) + value
