"""One repartition partition's counting state in this worker's memory: the owner's copy of
what :mod:`ccmon.agents.partitions.statestore` holds in Redis.

The owner is the only writer of its partition (the Redis fence guarantees it), so its copy
is exact: it is loaded once when the partition is assigned, then every batch that Redis
accepted is merged into it. The read side (/metrics, the wallboard) reads only this copy.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from typing import Any, get_args

import orjson

from ccmon.agents.domain.packed import Marker, Packed, settled
from ccmon.agents.domain.partition import (
    GUARD_ESTIMATE_MINUTES,
    Bucket,
    GuardKey,
    Progress,
    RawPartition,
    Writes,
    guard_shards,
    parse_live_field,
)
from ccmon.streams.policy import IntervalMinutes

Counters = dict[str, float]
Entry = dict[str, Any]
# What the state holds of a live entry: the entry written, or a settled record marker packed
# (ccmon.agents.domain.packed.Marker).
Held = Mapping[str, Any]
# An interval starting this many minutes before the closing horizon has ended, whatever
# its queue's interval length: it is closed.
_CLOSED_AFTER_MINUTES = max(get_args(IntervalMinutes))


def split_field(name: str) -> tuple[str, str]:
    """``"call|sales|off"`` -> (``"call|sales"``, ``"off"``). Counter names never hold a
    ``|``; a queue name may: the name is what follows the last one."""
    cq, _, counter = name.rpartition("|")
    # Interned: a counter name is the key of every bucket that holds it, and a reporting
    # interval is kept for days; one string object per (bucket, counter) made each name
    # half of the interval buckets' memory (docs/benchmarks.md, "Soak").
    return cq, sys.intern(counter)


@dataclass
class PartitionState:
    partition: int
    totals: dict[str, Counters] = field(default_factory=lambda: defaultdict(dict))
    minutes: dict[str, dict[int, Counters]] = field(default_factory=lambda: defaultdict(dict))
    days: dict[str, dict[str, Counters]] = field(default_factory=lambda: defaultdict(dict))
    # Reporting intervals by their first epoch minute: the closed records' counts (integers),
    # packed once closed (ccmon.agents.domain.packed); those not packed are listed apart.
    periods: dict[str, dict[int, Counters | Packed]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    unpacked: set[tuple[str, int]] = field(default_factory=set)
    # Interval starts Redis holds (at least partly) in split hashes: once closed, each is
    # written whole (Writes.whole, a few a tick: ccmon.agents.domain.expiry).
    split: set[int] = field(default_factory=set)
    live: dict[str, dict[str, Held]] = field(default_factory=lambda: defaultdict(dict))
    # Bumped on every change of a channel x queue: the read model recomputes only those.
    versions: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # Last position counted per origin (ccmon.agents.domain.partition.origin_of), and how far
    # the partition has counted: what tells a record read again from a new one, and Redis
    # that lost writes from Redis that has them all.
    pos: dict[str, int] = field(default_factory=dict)
    progress: Progress = field(default_factory=Progress)
    # A closed record may have to be revised (a late event marked it; or the state was just
    # loaded and nobody has looked): the next tick looks (ccmon.agents.domain.records).
    records_dirty: bool = True
    # The duplicate guard's buckets in Redis: event minute -> [shards, entries] (the events
    # themselves stay in Redis: ccmon.agents.partitions.statestore).
    guard: dict[int, list[int]] = field(default_factory=dict)

    @classmethod
    def from_raw(cls, partition: int, raw: RawPartition) -> PartitionState:
        state = cls(partition)
        state.pos = {origin: int(value) for origin, value in raw.pos.items()}
        meta = raw.meta
        state.progress = Progress(
            rp=int(meta.get("rp") or 0),
            ev=float(meta["ev"]) if meta.get("ev") else None,
            evw=float(meta["evw"]) if meta.get("evw") else None,
            n=int(meta.get("n") or 0),
            gone=int(meta.get("gone") or 0),
            rec=float(meta["rec"]) if meta.get("rec") else None,
        )
        for name, value in raw.totals.items():
            cq, counter = split_field(name)
            state.totals[cq][counter] = float(value)
        for name, value in raw.live.items():
            cq, contact = parse_live_field(name)
            # Every entry is a JSON object but a settled record marker, stored as its text.
            held = Marker.from_text(value) if value[:1] != "{" else settled(orjson.loads(value))
            state.live[cq][contact] = held
        for cq in {*state.totals, *state.live}:
            state.versions[cq] = 1
        state.guard = {minute: list(held) for minute, held in raw.guard.items()}
        state.add_buckets(raw.buckets, raw.whole)
        return state

    def add_buckets(
        self, buckets: Mapping[Bucket, Mapping[str, str]], whole: Set[Bucket] = frozenset()
    ) -> None:
        """Bucket hashes as stored, while the partition loads (a few at a time: the owner
        does not hold a week of reporting intervals as text at once); ``whole``, the
        intervals among them that Redis holds written whole only."""
        for bucket, content in buckets.items():
            kind, when = bucket
            for name, value in content.items():
                cq, counter = split_field(name)
                self._bucket(cq, kind, when)[counter] = float(value)
                if not self.versions[cq]:
                    self.versions[cq] = 1
            if kind == "p":
                if bucket not in whole:
                    self.split.add(int(when))
                self.pack_closed()  # bucket by bucket: the unpacked whole never held at once

    def _bucket(self, cq: str, kind: str, when: str) -> Counters:
        if kind == "t":
            return self.totals[cq]
        if kind == "m":
            return self.minutes[cq].setdefault(int(when), {})
        if kind == "p":
            start = int(when)
            per_start = self.periods[cq]
            held = per_start.get(start)
            if held is None or isinstance(held, Packed):
                # A new interval, or a late event in a closed one.
                held = per_start[start] = {} if held is None else held.unpacked()
                self.unpacked.add((cq, start))
            return held
        return self.days[cq].setdefault(when, {})

    def pack_closed(self) -> None:
        """Pack the intervals that are closed (module ccmon.agents.domain.packed): each
        is kept for days, and read again only when a late event revises it."""
        closed = self.progress.rec
        if closed is None or not self.unpacked:
            return
        before = closed / 60 - _CLOSED_AFTER_MINUTES
        for cq, start in [held for held in self.unpacked if held[1] <= before]:
            self.unpacked.discard((cq, start))
            counters = self.periods.get(cq, {}).get(start)
            if counters is not None and not isinstance(counters, Packed):
                self.periods[cq][start] = Packed(counters)

    def split_closed(self) -> list[int]:
        """The closed intervals (all of their queues packed) that Redis holds split, the
        oldest first."""
        closed = self.progress.rec
        if closed is None or not self.split:
            return []
        before = closed / 60 - _CLOSED_AFTER_MINUTES
        open_ = {start for _, start in self.unpacked}
        return sorted(s for s in self.split if s <= before and s not in open_)

    def interval(self, start: int) -> dict[str, Mapping[str, float]]:
        """Every queue's counts of the interval that starts at ``start``."""
        return {cq: per[start] for cq, per in self.periods.items() if start in per}

    def written_back(self) -> None:
        """Redis now holds this copy, every interval split (StateStore.replace)."""
        self.split = {start for per in self.periods.values() for start in per}

    def channel_queues(self) -> set[str]:
        return {*self.totals, *self.live}

    def merge(self, writes: Writes) -> None:
        """Apply a batch Redis has accepted."""
        versions = self.versions
        # Written whole with the values before this write; its increments, split, after.
        for _, when in writes.whole:
            self.split.discard(int(when))
        for (kind, when), per_cq in writes.incr.items():
            if kind == "p":
                self.split.add(int(when))
            for cq, incs in per_cq.items():
                counters = self._bucket(cq, kind, when)
                for name, value in incs.items():
                    held = counters.get(name)
                    if held is None:
                        # Interned: see split_field.
                        counters[sys.intern(name)] = 0.0 + value
                    else:
                        counters[name] = held + value
                versions[cq] += 1
        for (cq, contact), entry in writes.live.items():
            if entry is not None and entry.get("dirty"):
                self.records_dirty = True
            if entry is None:
                contacts = self.live.get(cq)
                if contacts is not None:
                    contacts.pop(contact, None)
                    if not contacts:
                        del self.live[cq]
            else:
                self.live[cq][contact] = settled(entry)
            self.versions[cq] += 1
        for extreme, writes_of in ((min, writes.low), (max, writes.high)):
            for (kind, when), fields in writes_of.items():
                if kind == "p":
                    self.split.add(int(when))
                for name, value in fields.items():
                    cq, counter = split_field(name)
                    counters = self._bucket(cq, kind, when)
                    held = counters.get(counter)
                    counters[counter] = value if held is None else extreme(held, value)
                    self.versions[cq] += 1
        for bucket in writes.drop:
            self.forget(bucket)
        self.pos.update(writes.pos)
        if writes.progress is not None:
            advanced = writes.progress.rec != self.progress.rec
            self.progress = writes.progress
            if advanced:
                self.pack_closed()
        for minute, shards in writes.guard_shards.items():
            self.guard.setdefault(minute, [shards, 0])
        for _, minute in writes.guards:
            self.guard[minute][1] += 1
        for minute in writes.guard_drop:
            self.guard.pop(minute, None)

    def add_guard(self, writes: Writes, key: GuardKey, in_step: int) -> None:
        """Record a counted event's guard in ``writes``. A minute with no guard bucket yet
        gets one, split for as many entries as the busiest minute held within
        ``GUARD_ESTIMATE_MINUTES`` of it, or as the step brings (``in_step``), whichever is
        more."""
        writes.guards.append(key)
        minute = key[1]
        if minute in writes.guard_shards:
            return
        held = self.guard.get(minute)
        if held is not None:
            writes.guard_shards[minute] = held[0]
            return
        near = [n for m, (_, n) in self.guard.items() if abs(m - minute) <= GUARD_ESTIMATE_MINUTES]
        writes.guard_shards[minute] = guard_shards(max([in_step, *near]))

    def forget(self, bucket: Bucket) -> None:
        kind, when = bucket
        tables: dict[str, dict[str, Any]] = {"m": self.minutes, "p": self.periods}
        table = tables.get(kind, self.days)
        key: Any = when if kind == "d" else int(when)
        if kind == "p":
            self.split.discard(key)
        for cq, per_when in list(table.items()):
            if per_when.pop(key, None) is not None:
                if kind == "p":
                    self.unpacked.discard((cq, key))
                self.versions[cq] += 1
                if not per_when:
                    del table[cq]

    def as_seed(self) -> Writes:
        """The whole copy as writes that set (not add) every value: what the owner writes
        back when Redis comes back without its data, or behind it."""
        writes = Writes(pos=dict(self.pos), progress=self.progress)
        for cq, counters in self.totals.items():
            writes.seed.setdefault(("t", ""), {}).update(
                {f"{cq}|{k}": v for k, v in counters.items()}
            )
        for cq, per_minute in self.minutes.items():
            for minute, counters in per_minute.items():
                target = writes.seed.setdefault(("m", str(minute)), {})
                target.update({f"{cq}|{k}": v for k, v in counters.items()})
        for cq, per_day in self.days.items():
            for day, counters in per_day.items():
                target = writes.seed.setdefault(("d", day), {})
                target.update({f"{cq}|{k}": v for k, v in counters.items()})
        for cq, per_period in self.periods.items():
            for start, held in per_period.items():
                target = writes.seed.setdefault(("p", str(start)), {})
                target.update({f"{cq}|{k}": v for k, v in held.items()})
        for cq, contacts in self.live.items():
            for contact, entry in contacts.items():
                writes.live[(cq, contact)] = entry
        return writes

    def buckets(self) -> set[Bucket]:
        """Every minute and day bucket held (expiry walks them)."""
        held = {("m", str(m)) for per in self.minutes.values() for m in per}
        held |= {("p", str(m)) for per in self.periods.values() for m in per}
        return held | {("d", d) for per in self.days.values() for d in per}
