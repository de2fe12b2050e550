"""A closed reporting interval's counts, packed: what the owner keeps of each interval for
the days a late event may still revise it (``CCMON_RECORD_REVISION_DAYS`` + 2).

Why: a worker keeps every interval of its partitions for those days, to revise a closed
record and to write its state back to a Redis that lost it. As a dict of float objects,
one interval of one queue with 24 names took about 1.4 kB: some 500 MB of the two
workers' 2 GB after the week-long soak, 1,500 queues x 48 intervals a day x 5 days
(docs/benchmarks.md, "Soak"). Packed, the names' positions are one dict shared by every
interval with the same names, and the values one string of bytes: each a variable-length
integer (7 bits a byte), as the intervals hold counts, milliseconds and source offsets.
The same values, exactly, in ~150 B (an array of doubles took 337). Values that are not
such integers (none are, today) keep the array of doubles.

A closed record's marker (:class:`Marker`) is packed too, for the same days.

A packed interval is read only. The state unpacks it into a dict when an event adds to it
(a late event), and packs it again once it is closed (ccmon.agents.domain.state).
"""

from __future__ import annotations

import base64
from array import array
from collections.abc import ItemsView, Iterable, Iterator, Mapping, Sequence, ValuesView
from typing import Any

# Every distinct set of names, once, with their positions: intervals of the same kind of
# traffic hold the same names, so there are few of them (bounded by the combinations of
# counter names that occur, not by the number of intervals).
_NAMES: dict[tuple[str, ...], dict[str, int]] = {}
# Past this many, a new set of names gets its own positions rather than grow the shared
# ones without bound (a long-lived worker with unusual traffic).
_MOST_SHARED = 65_536


# Integers from 0 to this are written as variable-length integers; a value outside (or not
# an integer) keeps the whole interval's values as doubles. Below 2**53: a double holds
# them exactly, so either way reads back the same float.
_MOST_VARINT = 2**53


def _varints(values: Iterable[float]) -> bytes | None:
    out = bytearray()
    for value in values:
        if not 0 <= value < _MOST_VARINT:  # NaN too
            return None
        n = int(value)
        if n != value:
            return None
        while n > 0x7F:
            out.append(0x80 | (n & 0x7F))
            n >>= 7
        out.append(n)
    return bytes(out)


def _from_varints(data: bytes) -> list[float]:
    out: list[float] = []
    n = shift = 0
    for byte in data:
        n |= (byte & 0x7F) << shift
        if byte & 0x80:
            shift += 7
        else:
            out.append(float(n))
            n = shift = 0
    return out


class Packed(Mapping[str, float]):
    """Names to values, read only; equal to the dict it was packed from. Read it whole
    (``items``, ``values``, ``unpacked``): one name's value decodes all of them."""

    __slots__ = ("_index", "_values")

    def __init__(self, counters: Mapping[str, float]) -> None:
        names = tuple(sorted(counters))
        index = _NAMES.get(names)
        if index is None:
            index = {name: i for i, name in enumerate(names)}
            if len(_NAMES) < _MOST_SHARED:
                _NAMES[names] = index
        self._index = index
        values = [counters[name] for name in names]
        packed = _varints(values)
        self._values: bytes | array[float] = array("d", values) if packed is None else packed

    def _decoded(self) -> Sequence[float]:
        held = self._values
        return _from_varints(held) if isinstance(held, bytes) else held

    def __getitem__(self, name: str) -> float:
        return self._decoded()[self._index[name]]

    def items(self) -> ItemsView[str, float]:
        return self.unpacked().items()

    def values(self) -> ValuesView[float]:
        return self.unpacked().values()

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def unpacked(self) -> dict[str, float]:
        return dict(zip(self._index, self._decoded(), strict=True))

    def __repr__(self) -> str:
        return f"Packed({self.unpacked()!r})"


_ABSENT = object()


class Marker(Mapping[str, Any]):
    """A closed record's settled marker (ccmon.agents.domain.records: ``k`` "rec", ``t``,
    ``rev``, ``h``), read only; equal to the dict it was made from.

    Why: the owner keeps one per queue and closed interval or day for the revision window,
    as many as the intervals. As a dict with its SHA-256 in hex, one took ~380 B; here
    ~150 (the digest as 32 bytes). A marker that is pending or marked by a late event
    stays a dict: it is about to change."""

    __slots__ = ("_digest", "_rev", "_t")
    _KEYS = ("h", "k", "rev", "t")

    def __init__(self, t: float, rev: int, digest: bytes) -> None:
        self._t, self._rev, self._digest = t, rev, digest

    def __getitem__(self, key: str) -> Any:
        value = self.get(key, _ABSENT)
        if value is _ABSENT:
            raise KeyError(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        # The expiry tick asks every entry its kind and time: without Mapping.get's
        # try / except (3x a dict's get; this is 1.3x).
        if key == "k":
            return "rec"
        if key == "t":
            return self._t
        if key == "rev":
            return self._rev
        if key == "h":
            return self._digest.hex()
        return default

    def __iter__(self) -> Iterator[str]:
        return iter(self._KEYS)

    def __len__(self) -> int:
        return 4

    def __contains__(self, key: object) -> bool:
        return key in self._KEYS

    def __repr__(self) -> str:
        return f"Marker({dict(self)!r})"

    def text(self) -> str:
        """``t|rev|digest`` (the digest in base64url, unpadded): ~58 characters where its
        JSON takes ~107, short enough for Redis's compact hashes (64 bytes a value)."""
        digest = base64.urlsafe_b64encode(self._digest).rstrip(b"=").decode()
        return f"{self._t!r}|{self._rev}|{digest}"

    @classmethod
    def from_text(cls, text: str) -> Marker:
        t, rev, digest = text.split("|")
        return cls(float(t), int(rev), base64.urlsafe_b64decode(digest + "=" * (-len(digest) % 4)))


def settled(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    """What the state holds of a live entry: a settled record marker as a :class:`Marker`,
    any other entry as it is."""
    if entry.get("k") != "rec" or len(entry) != 4:
        return entry
    t, rev, h = entry.get("t"), entry.get("rev"), entry.get("h")
    if not (type(t) in (int, float) and type(rev) is int and type(h) is str):
        return entry
    assert isinstance(t, float | int) and isinstance(rev, int) and isinstance(h, str)
    try:
        digest = bytes.fromhex(h)
    except ValueError:
        return entry
    if digest.hex() != h:  # upper case, spaces: kept as written
        return entry
    return Marker(t, rev, digest)
