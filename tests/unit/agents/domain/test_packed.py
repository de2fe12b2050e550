"""A packed interval reads as the dict it was packed from, exactly, and shares its names; a
settled record marker is packed too, and nothing else."""

from __future__ import annotations

import hashlib
import math
import sys

import orjson
import pytest

from ccmon.agents.domain.packed import Marker, Packed, settled


def test_a_packed_interval_equals_its_dict_exactly() -> None:
    counters = {"off": 12.0, "wait_ms": float(2**53 - 1), "<call:3": 1_234_567.0, "ans": 0.0}
    packed = Packed(counters)
    assert packed == counters and counters == packed
    assert dict(packed) == counters and packed.unpacked() == counters
    assert packed["wait_ms"] == 2**53 - 1 and packed.get("missing", 7.0) == 7.0
    assert "off" in packed and "missing" not in packed and len(packed) == 4
    with pytest.raises(KeyError):
        packed["missing"]


def test_a_packed_interval_is_read_only() -> None:
    packed = Packed({"off": 1.0})
    with pytest.raises(TypeError):
        packed["off"] = 2.0  # type: ignore[index]
    unpacked = packed.unpacked()
    unpacked["off"] = 2.0
    assert packed["off"] == 1.0


@pytest.mark.parametrize(
    "value",
    [0.0, 1.0, 127.0, 128.0, 16_383.0, 16_384.0, 2.0**31, 2.0**53 - 1],
)
def test_every_integer_an_interval_holds_reads_back_exactly(value: float) -> None:
    counters = {"a": value, "b": 3.0, "c": value}
    packed = Packed(counters)
    assert isinstance(packed._values, bytes)
    assert packed.unpacked() == counters and packed["c"] == value
    assert list(packed.items()) == sorted(counters.items())
    assert list(packed.values()) == [counters[k] for k in sorted(counters)]


@pytest.mark.parametrize("value", [-1.0, 0.5, 2.0**53, 1e300, float("inf"), float("nan")])
def test_a_value_that_is_no_such_integer_keeps_the_doubles(value: float) -> None:
    counters = {"a": 1.0, "b": value}
    packed = Packed(counters)
    assert not isinstance(packed._values, bytes)
    assert packed["a"] == 1.0 and (packed["b"] == value or math.isnan(value))


def test_intervals_with_the_same_names_share_them_and_take_a_ninth_of_a_dict() -> None:
    names = [sys.intern(f"counter{i}") for i in range(24)]
    # Counts, milliseconds and source offsets, as an interval holds them.
    dicts = [
        {name: float((i * 31 + j) * 10 ** (j % 7)) for j, name in enumerate(names)}
        for i in range(200)
    ]
    packed = [Packed(d) for d in dicts]
    assert len({id(p._index) for p in packed}) == 1
    one = sys.getsizeof(packed[0]) + sys.getsizeof(packed[0]._values)
    as_dict = sys.getsizeof(dicts[0]) + sum(sys.getsizeof(v) for v in dicts[0].values())
    assert one * 9 < as_dict
    assert one < 170  # the array of doubles it replaces: 320


def _marker(**extra: object) -> dict[str, object]:
    digest = hashlib.sha256(b"content").hexdigest()
    return {"k": "rec", "t": 1_765_000_800.0, "rev": 2, "h": digest, **extra}


def test_a_settled_record_marker_is_packed_and_equals_its_dict() -> None:
    entry = _marker()
    held = settled(entry)
    assert isinstance(held, Marker)
    assert held == entry and entry == held and dict(held) == entry
    assert held["h"] == entry["h"] and held.get("k") == "rec" and held.get("pend") is None
    assert "pend" not in held and len(held) == 4
    assert {**held, "dirty": 1} == {**entry, "dirty": 1}
    # Written back to Redis as the same JSON object.
    assert orjson.loads(orjson.dumps(held, default=dict)) == entry
    with pytest.raises(KeyError):
        held["late"]


@pytest.mark.parametrize(
    "entry",
    [
        _marker(pend=["key", "value"]),  # sent, not acknowledged yet
        _marker(dirty=1, late=3, src="call:0:17"),  # marked by a late event
        {**_marker(), "h": hashlib.sha256(b"content").hexdigest().upper()},  # kept as written
        {**_marker(), "rev": "2"},
        {"k": "w", "t": 1.0},  # a waiting call
    ],
)
def test_other_entries_are_kept_as_they_are(entry: dict[str, object]) -> None:
    assert settled(entry) is entry


def test_a_packed_marker_takes_less_than_half_of_its_dict() -> None:
    entry = orjson.loads(orjson.dumps(_marker()))
    held = settled(entry)
    assert isinstance(held, Marker)
    as_dict = sys.getsizeof(entry) + sum(sys.getsizeof(v) for v in entry.values())
    packed = sys.getsizeof(held) + sys.getsizeof(held._digest) + sys.getsizeof(held["t"])
    assert packed * 2 < as_dict


def test_a_settled_marker_has_a_text_short_enough_for_a_compact_hash() -> None:
    held = settled(_marker())
    assert isinstance(held, Marker)
    text = held.text()
    assert len(text) <= 64 and text.startswith("1765000800.0|2|")
    again = Marker.from_text(text)
    assert again == held and again["h"] == _marker()["h"]
