"""A repartition partition as the domain sees it: which one a channel x queue goes to, the
buckets it holds, what a batch writes to it and what is loaded from it.

Data flows through a partition in a circle (docs/architecture.md, "The counting path"): the
domain modules record a batch's changes as :class:`Writes` (:mod:`ccmon.agents.domain.effects`);
the owner (:mod:`ccmon.agents.partitions.owner`) has them written by the fenced Lua script of
:mod:`ccmon.agents.partitions.statestore` and, once Redis accepted, merges them into its copy
(:mod:`ccmon.agents.domain.state`); on assignment it loads the partition back as a
:class:`RawPartition`. These types are the domain's; the Redis store depends on them, never
the reverse, so the domain imports no Redis client.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import orjson


def partition_for(cq: str, partitions: int) -> int:
    """The repartition partition of a channel x queue (``"channel|queue"``): every event of
    it goes there, hence to the one worker that owns its state (Faust's group_by, made
    explicit). CRC-32, not ``hash()``: it must be the same in every process."""
    return zlib.crc32(cq.encode()) % partitions


# ("t", "") totals, ("m", "<minute>"), ("d", "<YYYY-MM-DD>"), ("p", "<first minute of a
# reporting interval>")
Bucket = tuple[str, str]


def guard_id(channel: str, event_id: str) -> str:
    """What the duplicate guard remembers an event by: its id within its channel (two source
    systems number their events independently; docs/events.md)."""
    return f"{channel}:{event_id}"


# The guard is kept per minute of event time (its bucket), so that it expires with the
# partition's event time, as a whole (docs/architecture.md, "Decision record: the duplicate
# guard"). An event is (guard id, event minute); a producer's retry repeats both.
GuardKey = tuple[str, int]
# Entries per guard hash the shards aim at: Redis keeps a hash of up to 512 short entries
# (hash-max-listpack-entries: 512 by default in Redis 7.0 and Valkey; an operator may lower
# it, 128 is common) as one compact listpack, 12 bytes an entry here, against ~60 in a
# hashtable; 64 leaves room for a minute twice as busy as the estimate even at 128.
GUARD_SHARD_ENTRIES = 64
GUARD_MAX_SHARDS = 4096
# A new guard minute is split for the busiest minute held within this many minutes of it.
# Not the last few minutes: in a backlog those are the least filled (answers and ends land
# minutes after their offers; source partitions are read at different paces), and minutes of
# 2,000 events were split in 4 hashes of 500-600 entries, past the listpack limit.
GUARD_ESTIMATE_MINUTES = 15


def guard_key(channel: str, event_id: str, occurred_at: float) -> GuardKey:
    return guard_id(channel, event_id), int(occurred_at // 60)


def guard_shards(expected_entries: int) -> int:
    """How many hashes a new guard bucket is split into (a power of two): enough for about
    ``GUARD_SHARD_ENTRIES`` each at the expected number of entries. Fixed for the bucket's
    life once written (a lookup finds an event by it)."""
    shards = 1
    while shards * GUARD_SHARD_ENTRIES < expected_entries and shards < GUARD_MAX_SHARDS:
        shards *= 2
    return shards


# Positions of staff records (hop 1 -> hop 2): the hop-1 record's offset, the event's index
# in it (a record holds at most 2,000 events) and the staff record's index among the
# event's (an agent's old and new queues: at most 400), one integer, ordered like them.
EVENTS_PER_RECORD = 4096
STAFF_PER_EVENT = 1024


def staff_position(offset: int, index: int) -> int:
    """The first position of the staff records of the ``index``-th event of the hop-1
    record at ``offset``; its records take the next ones."""
    return (offset * EVENTS_PER_RECORD + index) * STAFF_PER_EVENT


def origin_of(record: dict[str, object]) -> tuple[str, int] | None:
    """Where a record comes from, and its position there, for records that have one:
    ``("call:2", 1041)`` for the event at offset 1041 of partition 2 of the call topic,
    ``("@5", ...)`` for a staff record made from hop-1 partition 5 (``o``, ``q``). Records
    of one origin reach a partition in the order of their positions (docs/architecture.md,
    "Idempotency"), so a position at or below the last one counted is a record read again.
    Records made by the expiry timer have none."""
    origin = record.get("o")
    if origin is not None:
        return str(origin), int(record["q"])  # type: ignore[call-overload]
    src = str(record["src"])
    head, sep, offset = src.rpartition(":")
    if not sep or "@" in src or not offset.isdigit():
        return None
    return head, int(offset)


@dataclass
class Progress:
    """How far a partition has counted: ``rp`` the next offset of its repartition partition
    to read (a new owner that finds it below Kafka's committed offset knows that Redis lost
    writes), ``ev`` the latest event time counted and ``evw`` the wall time it was counted
    at (the expiry clock of a partition that reads a backlog, :mod:`ccmon.agents.domain.expiry`),
    ``n`` the events counted, ``gone`` the records Redis lost that the repartition topic
    no longer held when they were read again (its numbers lack them for good), ``rec`` the
    instant up to which its reporting intervals and days are closed (a record of a period
    that ends by then is written; :mod:`ccmon.agents.domain.records`)."""

    rp: int = 0
    ev: float | None = None
    evw: float | None = None
    n: int = 0
    gone: int = 0
    rec: float | None = None


@dataclass
class Writes:
    """What one batch changes in one partition, coalesced: one increment per (bucket,
    field), one value (or a deletion, ``None``) per live entry, the last position counted
    per origin."""

    guards: list[GuardKey] = field(default_factory=list)  # events counted
    # The source position of a counted record that has no position to be known by when read
    # again (a staff record made by hop 1's timer): its guard holds it.
    guard_src: dict[GuardKey, str] = field(default_factory=dict)
    # Guard buckets (event minute -> shards): written by this batch, or dropped (expiry).
    guard_shards: dict[int, int] = field(default_factory=dict)
    guard_drop: dict[int, int] = field(default_factory=dict)
    # Bucket -> channel|queue -> counter -> increment. Nested, not one "cq|name" field per
    # counter: an event adds to four buckets, and a name made per increment, then split
    # again to merge it, was a tenth of the counting's CPU (docs/benchmarks.md).
    incr: dict[Bucket, dict[str, dict[str, float]]] = field(default_factory=dict)
    live: dict[tuple[str, str], Mapping[str, object] | None] = field(default_factory=dict)
    drop: list[Bucket] = field(default_factory=list)  # bucket hashes removed by expiry
    pos: dict[str, int] = field(default_factory=dict)  # origin -> last position counted
    progress: Progress | None = None  # set by a step of records, not by the expiry timer
    # Values set, not added: the owner's whole copy, written back after Redis lost writes.
    seed: dict[Bucket, dict[str, float]] = field(default_factory=dict)
    # Fields kept at their lowest / highest value (the source offsets a closed record covers).
    low: dict[Bucket, dict[str, float]] = field(default_factory=dict)
    high: dict[Bucket, dict[str, float]] = field(default_factory=dict)
    # Closed reporting intervals written whole (set, not added: the owner's copy before this
    # write's increments), in place of their split hashes: kept for days, a closed interval
    # is read again only by a load. Bucket -> channel|queue -> counter -> value.
    whole: dict[Bucket, dict[str, Mapping[str, float]]] = field(default_factory=dict)

    def empty(self) -> bool:
        return not (
            self.guards
            or self.guard_drop
            or self.incr
            or self.live
            or self.drop
            or self.seed
            or self.pos
            or self.low
            or self.high
            or self.whole
        ) and (self.progress is None)


@dataclass
class RawPartition:
    """A partition as stored: hash contents, decoded to text."""

    totals: dict[str, str]
    buckets: dict[Bucket, dict[str, str]]
    live: dict[str, str]
    pos: dict[str, str] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)
    guard: dict[int, tuple[int, int]] = field(default_factory=dict)  # minute -> shards, entries
    # Reporting intervals Redis holds written whole and nothing else (Writes.whole).
    whole: set[Bucket] = field(default_factory=set)


def live_field(cq: str, contact: str) -> str:
    return orjson.dumps([cq, contact]).decode()


def parse_live_field(raw: str) -> tuple[str, str]:
    cq, contact = orjson.loads(raw)
    return str(cq), str(contact)
