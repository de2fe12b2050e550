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
from dataclasses import dataclass, field

import orjson


def partition_for(cq: str, partitions: int) -> int:
    """The repartition partition of a channel x queue (``"channel|queue"``): every event of
    it goes there, hence to the one worker that owns its state (Faust's group_by, made
    explicit). CRC-32, not ``hash()``: it must be the same in every process."""
    return zlib.crc32(cq.encode()) % partitions


Bucket = tuple[str, str]  # ("t", "") totals, ("m", "<minute>"), ("d", "<YYYY-MM-DD>")


@dataclass
class Writes:
    """What one batch changes in one partition, coalesced: one increment per (bucket,
    field), one value (or a deletion, ``None``) per live entry."""

    guards: list[tuple[str, str]] = field(default_factory=list)  # (event_id, source position)
    incr: dict[Bucket, dict[str, float]] = field(default_factory=dict)  # field "cq|name"
    live: dict[tuple[str, str], dict[str, object] | None] = field(default_factory=dict)
    drop: list[Bucket] = field(default_factory=list)  # bucket hashes removed by expiry
    # Values set, not added: the owner's whole copy, written back after Redis lost its data.
    seed: dict[Bucket, dict[str, float]] = field(default_factory=dict)

    def empty(self) -> bool:
        return not (self.guards or self.incr or self.live or self.drop or self.seed)


@dataclass
class RawPartition:
    """A partition as stored: hash contents, decoded to text."""

    totals: dict[str, str]
    buckets: dict[Bucket, dict[str, str]]
    live: dict[str, str]


def live_field(cq: str, contact: str) -> str:
    return orjson.dumps([cq, contact]).decode()


def parse_live_field(raw: str) -> tuple[str, str]:
    cq, contact = orjson.loads(raw)
    return str(cq), str(contact)
