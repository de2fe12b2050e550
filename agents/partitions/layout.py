"""Where a partition's state lives in Redis: key names, and how the two big kinds of data are
split into hashes small enough for Redis's compact encoding.

Redis keeps a hash of at most 512 entries of at most 64 bytes each (``hash-max-listpack-*``,
the defaults of Redis 7.0) as one listpack: about 12 bytes an entry of the guard and
30 of a minute bucket, against 60 and 80 in a hashtable, and a key costs about 100 bytes of
its own. So the guard is split into hashes of about 64 events, and a minute bucket or a
reporting interval into ``MINUTE_SHARDS`` hashes by channel x queue (docs/architecture.md,
"Decision record: the duplicate guard"). Every key of partition ``p`` starts with its hash
tag ``{P:p}``.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Mapping

import orjson

# A minute bucket's or an interval's channel x queues go to one of this many hashes (crc32 of
# the pair): at 187 pairs of a partition (1,500 over 8 partitions), 53 fields a hash of a
# minute (9 counters a pair), up to ~150 of an interval.
MINUTE_SHARDS = 32
GUARD_DIGEST_BYTES = 8
# Live calls and chats go to one of this many hashes by contact: at ~30,000 live entries of a
# partition (a million events an hour, closed markers kept 15 minutes), 60 a hash.
LIVE_SHARDS = 512
# Settled closed-record markers go to one of this many hashes: one per queue and interval
# or day for the revision window, ~46,000 a partition at 187 pairs (49 a day, 5 days):
# ~180 a hash.
MARKER_SHARDS = 256
# A closed interval written whole: its key's (and its index name's) suffix.
WHOLE = ":w"
# Redis keeps a hash compact while each of its fields and values is at most this long
# (``hash-max-listpack-value``).
COMPACT_BYTES = 64


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def texts(h: Mapping[bytes | str, bytes | str]) -> dict[str, str]:
    return {text(k): text(v) for k, v in h.items()}


def guard_digest(gid: str) -> bytes:
    """What the guard stores of an event id: 64 bits of BLAKE2b. Two distinct events of one
    partition and minute agree on them with probability 2^-64 (docs/events.md gives what
    that means for a centre's year)."""
    return hashlib.blake2b(gid.encode(), digest_size=GUARD_DIGEST_BYTES).digest()


def guard_shard(digest: bytes, shards: int) -> int:
    return int.from_bytes(digest[:4], "little") & (shards - 1)


def bucket_shard(cq: str) -> int:
    return zlib.crc32(cq.encode()) % MINUTE_SHARDS


def is_sharded(kind: str) -> bool:
    """Minute buckets and reporting intervals (the revision window's: days of them) are
    split; totals and days (a few keys each) are not."""
    return kind in {"m", "p"}


def combine(field: str, held: str, value: str) -> str:
    """A field found in two keys of one split bucket (written whole by an earlier layout,
    then split): a counter is the sum of both; an interval's lowest / highest offset
    (``<source``, ``>source``) the lower / higher."""
    mark = field.rpartition("|")[2][:1]
    a, b = float(held), float(value)
    return repr(min(a, b) if mark == "<" else max(a, b) if mark == ">" else a + b)


def whole_value(per_cq: Mapping[str, Mapping[str, float]]) -> bytes:
    """A closed interval written whole: ``{channel|queue: {counter: value}}`` as JSON,
    compressed. Why: its split hashes cost ~150 B a queue (the ``channel|queue|`` of every
    field, a key per shard); this, ~18 B. Values are integers (Effects.period): written as
    such, read back as the same floats."""
    doc = {cq: {name: _integral(v) for name, v in c.items()} for cq, c in per_cq.items()}
    return zlib.compress(orjson.dumps(doc))


def _integral(value: float) -> float | int:
    as_float = float(value)
    return int(as_float) if as_float.is_integer() and abs(as_float) < 2**53 else as_float


def whole_fields(value: bytes) -> dict[str, str]:
    """:func:`whole_value` back to the fields of the split hashes (``channel|queue|counter``
    -> value as text)."""
    doc = orjson.loads(zlib.decompress(value))
    return {f"{cq}|{name}": repr(float(v)) for cq, c in doc.items() for name, v in c.items()}


def live_shard(cq: str, contact: str) -> int | None:
    """The hash of a live entry: a call's or a chat's (a few dozen bytes) one of
    ``LIVE_SHARDS``; a ticket's (hundreds of bytes: too long for the compact encoding, which
    a whole hash loses for one long value) and ccmon's own markers (ids that start with a
    control character: agents in a queue, closed records) stay in the partition's one hash
    (None)."""
    if contact[:1] < " " or not cq.startswith(("call|", "chat|")):
        return None
    return zlib.crc32(contact.encode()) % LIVE_SHARDS


def marker_shard(field: str) -> int:
    """The hash of a settled record marker, by its live field."""
    return zlib.crc32(field.encode()) % MARKER_SHARDS


class Keys:
    """The key names of one prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._lives: dict[int, list[str]] = {}

    def base(self, partition: int) -> str:
        return f"{{{self.prefix}:{partition}}}"

    def meta(self, partition: int) -> str:
        return f"{self.base(partition)}:meta"

    def first(self, partition: int) -> list[str]:
        """meta, idx, live, pos, guard index: the first KEYS of every script."""
        base = self.base(partition)
        return [f"{base}:meta", f"{base}:idx", f"{base}:l", f"{base}:pos", f"{base}:gi"]

    def live(self, partition: int, shard: int | None) -> str:
        base = self.base(partition)
        return f"{base}:l" if shard is None else f"{base}:l:{shard}"

    def marker(self, partition: int, shard: int) -> str:
        return f"{self.base(partition)}:r:{shard}"

    def lives(self, partition: int) -> list[str]:
        """Every key of the partition's live entries: the one hash, the contacts' shards,
        the settled markers' shards (made once: every write looks its keys up here)."""
        held = self._lives.get(partition)
        if held is None:
            held = self._lives[partition] = [
                *(self.live(partition, s) for s in (None, *range(LIVE_SHARDS))),
                *(self.marker(partition, s) for s in range(MARKER_SHARDS)),
            ]
        return held

    def bucket(self, partition: int, kind: str, when: str) -> str:
        """A bucket's name (in the index), and the key of an unsplit bucket."""
        base = self.base(partition)
        return f"{base}:t" if kind == "t" else f"{base}:{kind}:{when}"

    def shard(self, name: str, shard: int) -> str:
        return f"{name}:{shard}"

    def shards(self, name: str) -> list[str]:
        """Every key a split bucket of this name may have, its own name first (ccmon 0.3
        wrote it whole there)."""
        return [name, *(self.shard(name, s) for s in range(MINUTE_SHARDS))]

    def whole(self, name: str) -> str:
        """A closed interval written whole (:func:`whole_value`): a string, not a hash. The
        index names it apart from the interval's split hashes."""
        return f"{name}{WHOLE}"

    def bucket_keys(self, name: str, kind: str) -> list[str]:
        """The keys a name of the index stands for."""
        if not is_sharded(kind) or name.endswith(WHOLE):
            return [name]
        return self.shards(name)

    def guard(self, partition: int, minute: int, shard: int) -> str:
        return f"{self.base(partition)}:dg:{minute}:{shard}"

    def legacy_guard(self, partition: int, gid: str) -> str:
        """ccmon 0.3's guard: one key per event, the first source position."""
        return f"{self.base(partition)}:g:{gid}"
