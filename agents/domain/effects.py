"""What one batch of events does to one partition, computed before it is written.

The domain modules (contacts, tickets, surveys, expiry) read the partition's state through
an :class:`Effects` and record their changes in it: increments coalesced per bucket and
counter, live entries set or deleted. Nothing is changed in place: the owner writes the
result to Redis in one atomic script and merges it into its copy only once Redis accepted.
Works on any :class:`~ccmon.agents.domain.state.PartitionState` (unit tests build them directly).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ccmon.agents.domain import buckets as b
from ccmon.agents.domain import periods as pd
from ccmon.agents.domain.partition import Bucket, Writes
from ccmon.agents.domain.state import Held, PartitionState
from ccmon.streams.policy import QueuePolicy

# Histogram names -> the bounds they are recorded with (set once at start-up).
WAIT = "wait"
HANDLE = "handle"
TICKET_FRT = "ticket_frt"
TICKET_RESOLUTION = "ticket_res"

TOTALS: Bucket = ("t", "")


@dataclass
class StateLimits:
    bucket_retention_minutes: int = 120
    day_retention_days: int = 3
    closed_marker_seconds: float = 900.0
    closed_ticket_marker_seconds: float = 86400.0
    dedupe_ttl_seconds: int = 86400  # the duplicate guard, in the partition's event time
    histogram_bounds: dict[str, list[float]] = field(default_factory=dict)
    agent_silence_seconds: float = 43200.0
    # How long the counts of a closed reporting interval are kept for revisions.
    record_revision_days: int = 3


class Effects:
    def __init__(self, state: PartitionState, limits: StateLimits) -> None:
        self.state = state
        self.limits = limits
        self.writes = Writes()
        # Records for other partitions (agent states per queue, ccmon.agents.domain.staffing), by
        # repartition partition: sent and acknowledged by Kafka before ``writes`` is written.
        self.outbox: dict[int, list[dict[str, Any]]] = {}
        # Where the records sent now come from: this partition's origin name and the next
        # position (:func:`ccmon.agents.domain.partition.staff_position`); None for the timer.
        self.origin: str | None = None
        self.position = 0
        # The source position of the event being counted (``call:2:1041``): the closed
        # records say which source offsets they cover, and what made a revision.
        self.src: str | None = None
        self.beyond_revision = 0  # counts for intervals too old to be revised, not kept
        self.source_times: dict[str, float] = {}  # latest event time per source partition

    def emit(self, partition: int, record: dict[str, Any]) -> None:
        """A record for another partition, stamped with its origin and position: the same
        record made again from the same state and event (a step counted again after a
        crash, with other batch boundaries) gets the same position there."""
        if self.origin is not None:
            record["o"], record["q"] = self.origin, self.position
            self.position += 1
        self.outbox.setdefault(partition, []).append(record)

    # ---- live entries ------------------------------------------------------------
    def live(self, cq: str, contact: str) -> Held | None:
        key = (cq, contact)
        if key in self.writes.live:
            return self.writes.live[key]
        return self.state.live.get(cq, {}).get(contact)

    def put(self, cq: str, contact: str, entry: Held) -> None:
        self.writes.live[(cq, contact)] = entry

    def delete(self, cq: str, contact: str) -> None:
        self.writes.live[(cq, contact)] = None

    # ---- counters ----------------------------------------------------------------
    def add(self, bucket: Bucket, cq: str, incs: Mapping[str, float]) -> None:
        per_cq = self.writes.incr.get(bucket)
        if per_cq is None:
            per_cq = self.writes.incr[bucket] = {}
        counters = per_cq.get(cq)
        if counters is None:
            counters = per_cq[cq] = {}
        get = counters.get
        for name, value in incs.items():
            counters[name] = get(name, 0.0) + value

    def count(
        self,
        channel: str,
        queue: str,
        ts: float,
        now: float,
        policy: QueuePolicy,
        incs: Mapping[str, float],
        observe: Mapping[str, float] | None = None,
    ) -> bool:
        """Add ``incs`` to the event's minute and local-day buckets, its reporting interval
        and the totals.

        Returns True when the event is late (its minute bucket is gone): it still reaches
        the day bucket while that is kept, its interval while closed intervals are kept for
        revisions, and always the cumulative totals."""
        cq = b.cq_key(channel, queue)
        minute = b.minute_of(ts)
        late = minute <= b.minute_of(now) - self.limits.bucket_retention_minutes
        if not late:
            self.add(("m", str(minute)), cq, incs)
        tz = policy.timezone
        day = b.local_day(ts, tz)
        if not b.day_is_expired(day, now, self.limits.day_retention_days):
            self.add(("d", day), cq, incs)
        self.period(cq, ts, now, policy, incs)
        totals = dict(incs)
        for name, value in (observe or {}).items():
            self._observe(totals, name, value)
        self.add(TOTALS, cq, totals)
        return late

    def period(
        self, cq: str, ts: float, now: float, policy: QueuePolicy, incs: Mapping[str, float]
    ) -> bool:
        """Add ``incs`` to the reporting interval of ``ts`` (the closed records' counts), in
        integers: durations as milliseconds, so that a sum is the same whatever the batches
        it was added in (a replay must give the same record, to the byte). False when the
        interval is older than the revisions kept."""
        length = policy.interval_minutes
        start = b.interval_start_minute(ts, policy.timezone, length)
        if start * 60 < now - self.limits.record_revision_days * 86400:
            self.beyond_revision += 1
            return False
        exact = {
            name: (round(value * 1000) if name in b.DURATION_SUMS else value)
            for name, value in incs.items()
        }
        bucket = ("p", str(start))
        self.add(bucket, cq, exact)
        if self.src is not None:
            where, _, offset = self.src.rpartition(":")
            if offset.isdigit():
                position = int(offset)
                low = self.writes.low.setdefault(bucket, {})
                high = self.writes.high.setdefault(bucket, {})
                first, last = f"{cq}|<{where}", f"{cq}|>{where}"
                if position < low.get(first, math.inf):
                    low[first] = position
                if position > high.get(last, -1):
                    high[last] = position
        closed = self.state.progress.rec
        if closed is not None and (start + length) * 60 <= closed:
            self.revise(cq, start, policy)
        return True

    def touch(self, cq: str, ts: float, policy: QueuePolicy) -> None:
        """Something of the period holding ``ts`` changed without a count (a running
        promise's deadline moved): its record is revised if it is closed already."""
        length = policy.interval_minutes
        start = b.interval_start_minute(ts, policy.timezone, length)
        closed = self.state.progress.rec
        if closed is not None and (start + length) * 60 <= closed:
            self.revise(cq, start, policy)

    def revise(self, cq: str, start: int, policy: QueuePolicy) -> None:
        """Mark the closed interval starting at ``start`` and its day for a new revision
        (:mod:`ccmon.agents.domain.records`), in the state written with this batch: a
        crash before the revision is written leaves the mark, and the next owner writes it."""
        day = pd.day_of_minute(start, policy.timezone)
        ends = (
            (
                pd.marker_key(pd.INTERVAL, str(start)),
                pd.interval_bounds(start, policy.interval_minutes)[1],
            ),
            (pd.marker_key(pd.DAY, day), pd.day_bounds(day, policy.timezone)[1]),
        )
        closed = self.state.progress.rec or 0.0
        for key, end in ends:
            if end > closed:
                continue  # its day is still open: it is closed later, with the change in it
            marker = self.live(cq, key) or {"k": "rec", "t": end, "rev": 0}
            new = {**marker, "dirty": 1, "late": int(marker.get("late", 0)) + 1}
            if "src" not in marker and self.src is not None:
                new["src"] = self.src
            self.put(cq, key, new)

    def _observe(self, into: dict[str, float], name: str, value: float) -> None:
        bounds = self.limits.histogram_bounds.get(name, [])
        idx = bisect.bisect_left(bounds, value)
        label = repr(bounds[idx]) if idx < len(bounds) else "+Inf"
        into[f"h:{name}:{label}"] = into.get(f"h:{name}:{label}", 0.0) + 1.0
        into[f"h:{name}:sum"] = into.get(f"h:{name}:sum", 0.0) + value
