"""Where a partition's state lives in Redis: a closed interval's whole value reads back as
its fields, exactly; a settled marker's shard is a function of its field alone."""

from __future__ import annotations

import pytest

from ccmon.agents.partitions.layout import (
    MARKER_SHARDS,
    Keys,
    marker_shard,
    whole_fields,
    whole_value,
)


@pytest.mark.parametrize("value", [0.0, 3.0, 2.0**53 - 1, 2.5, 2.0**60, -4.0])
def test_a_whole_interval_reads_back_as_its_split_fields(value: float) -> None:
    per_cq = {"call|a|b": {"off": 3.0, "x": value}, "chat|help": {"<chat:2": 17.0}}
    fields = whole_fields(whole_value(per_cq))
    assert fields == {
        "call|a|b|off": "3.0",
        "call|a|b|x": repr(value),
        "chat|help|<chat:2": "17.0",
    }


def test_the_whole_value_is_a_fraction_of_the_fields_it_holds() -> None:
    per_cq = {f"call|q{n}": {"off": float(n), "wait_ms": 1234.0 * n} for n in range(180)}
    text = sum(len(f"call|q{n}|off") + len(f"call|q{n}|wait_ms") + 12 for n in range(180))
    assert len(whole_value(per_cq)) * 4 < text


def test_index_names_and_keys() -> None:
    keys = Keys("P")
    name = keys.bucket(3, "p", "29000010")
    assert keys.whole(name) == "{P:3}:p:29000010:w"
    assert keys.bucket_keys(keys.whole(name), "p") == [keys.whole(name)]
    assert keys.bucket_keys(name, "p")[0] == name and len(keys.bucket_keys(name, "p")) == 33
    assert keys.bucket_keys(keys.bucket(3, "d", "2026-12-07"), "d") == ["{P:3}:d:2026-12-07"]
    lives = keys.lives(3)
    assert lives[-1] == keys.marker(3, MARKER_SHARDS - 1) and len(set(lives)) == len(lives)
    assert 0 <= marker_shard('["call|q","\\u0000r|interval|29000010"]') < MARKER_SHARDS
