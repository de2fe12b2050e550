"""A packed interval reads as the dict it was packed from, exactly, and shares its names."""

from __future__ import annotations

import sys

import pytest

from ccmon.agents.domain.packed import Packed


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


def test_intervals_with_the_same_names_share_them_and_take_a_fifth_of_a_dict() -> None:
    names = [sys.intern(f"counter{i}") for i in range(24)]
    dicts = [{name: float(i * 31 + j) for j, name in enumerate(names)} for i in range(200)]
    packed = [Packed(d) for d in dicts]
    assert len({id(p._index) for p in packed}) == 1
    one = sys.getsizeof(packed[0]) + sys.getsizeof(packed[0]._values)
    as_dict = sys.getsizeof(dicts[0]) + sum(sys.getsizeof(v) for v in dicts[0].values())
    assert one * 4 < as_dict
