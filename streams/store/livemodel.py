"""The Redis layout of the wallboard read model: written by :mod:`ccmon.agents.worker.snapshot`
in every worker, read by the wall server (:mod:`ccmon.agents.wall`) and the demo's view.

- ``{prefix}:live:{channel}:{queue}``: one JSON document per channel x queue, rewritten every
  ``CCMON_SNAPSHOT_INTERVAL_SECONDS`` with a TTL of ``CCMON_SNAPSHOT_TTL_SECONDS``
  (docs/metrics.md, "Wallboard read model");
- ``{prefix}:live-index``: a sorted set, member ``channel:queue``, score the wall-clock time
  of its last publication. Readers find the queues here instead of SCANning a keyspace that
  holds millions of duplicate-guard keys, and learn when a queue they no longer see was last
  published (what "data delayed since" shows);
- ``{prefix}:agents:{partition}``, ``{prefix}:agents-index``: with ``CCMON_AGENT_BOARD``, the
  agents of each owned partition (state, reason, since, queues) and the partitions published,
  for the wall's agent board (personal data: docs/wall.md);
- ``{prefix}:live-published``: a pub/sub channel; after each publication a worker sends the
  JSON list of the members it has just written, so a reader refreshes within milliseconds
  instead of polling on its own second (which would add up to a second of delay);
- ``{prefix}:intervals:{channel}:{queue}:{local day}``: a hash of the day's closed interval
  records of a channel x queue (field: the local start ``HH:MM``, value: a JSON summary,
  ``INTERVAL_FIELDS``), written by the owner once Kafka acknowledged the record, kept two
  days: what a wall draws a queue's day from, one HGETALL per tile (docs/metrics.md,
  "Closed records").
"""

from __future__ import annotations

# Index members older than this are dropped by the publishers (a queue nobody has
# published for an hour is gone, not delayed); the index itself expires after it too.
INDEX_HORIZON_SECONDS = 3600


def doc_key(prefix: str, channel: str, queue: str) -> str:
    return f"{prefix}:live:{channel}:{queue}"


def member(channel: str, queue: str) -> str:
    return f"{channel}:{queue}"


def split_member(name: str) -> tuple[str, str]:
    """``channel:queue`` -> (channel, queue); channels never hold a colon, queues may."""
    channel, _, queue = name.partition(":")
    return channel, queue


def member_key(prefix: str, name: str) -> str:
    return f"{prefix}:live:{name}"


def index_key(prefix: str) -> str:
    return f"{prefix}:live-index"


def notify_channel(prefix: str) -> str:
    return f"{prefix}:live-published"


INTERVALS_TTL_SECONDS = 2 * 86400  # past the end of its day
# What the wall's cache keeps of an interval record (docs/metrics.md, "Closed records").
INTERVAL_FIELDS = ("start", "revision", "ratio", "good", "eligible", "offered", "target", "met")


def intervals_key(prefix: str, channel: str, queue: str, day: str) -> str:
    return f"{prefix}:intervals:{channel}:{queue}:{day}"


def agents_key(prefix: str, partition: int) -> str:
    return f"{prefix}:agents:{partition}"


def agents_index_key(prefix: str) -> str:
    return f"{prefix}:agents-index"
