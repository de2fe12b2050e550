from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from ccmon.agents.domain import buckets as b

PARIS = "Europe/Paris"


def ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def test_window_ranges_include_current_minute() -> None:
    now = ts("2026-11-23T10:07:30+01:00")
    ranges = b.window_ranges(now, PARIS)
    current = b.minute_of(now)
    assert ranges["5m"] == (current - 4, current)
    assert ranges["1h"] == (current - 59, current)
    assert ranges["interval_15m"] == (b.minute_of(ts("2026-11-23T10:00:00+01:00")), current)
    assert ranges["interval_30m"] == ranges["interval_15m"]


def test_intervals_follow_local_time_in_half_hour_zones() -> None:
    now = ts("2026-11-23T10:20:00+05:30")
    start = b.interval_start_minute(now, "Asia/Kolkata", 15)
    assert start == b.minute_of(ts("2026-11-23T10:15:00+05:30"))


def test_rollup_matches_brute_force() -> None:
    now = ts("2026-11-23T10:07:30+01:00")
    current = b.minute_of(now)
    minutes = {current - k: {"off": float(k + 1), "o": 99, "p": 3} for k in range(0, 90, 3)}
    minutes[current + 2] = {"off": 1000.0}  # a future bucket is not in any window yet
    out = b.rollup(minutes, now, PARIS)
    for name, (lo, hi) in b.window_ranges(now, PARIS).items():
        expected = sum(v["off"] for m, v in minutes.items() if lo <= m <= hi)
        assert out[name].get("off", 0.0) == expected, name
        assert "o" not in out[name] and "p" not in out[name]


def test_rollup_of_nothing_is_empty_windows() -> None:
    out = b.rollup({}, 0.0, PARIS)
    assert set(out) == set(b.WINDOW_MINUTES) | set(b.INTERVALS)
    assert all(v == {} for v in out.values())


def test_empty_denominators_give_none() -> None:
    assert all(v is None for v in b.kpis({}, (0.0, 0.0)).values())


def test_kpis_definitions() -> None:
    c = {
        "off": 10,
        "blk": 2,
        "ab": 1,
        "wait_sum": 30.0,
        "wait_n": 3,
        "ended": 2,
        "handle_sum": 400.0,
        "csat_n": 4,
        "csat_good": 3,
        "nps_n": 10,
        "nps_pro": 5,
        "nps_det": 2,
        "ces_n": 2,
        "ces_sum": 5,
    }
    k = b.kpis(c, (3.0, 4.0))
    assert k["service_level"] == pytest.approx(0.75)
    assert k["blocking"] == pytest.approx(2 / 12)
    assert k["abandon"] == pytest.approx(0.1)
    assert k["asa"] == pytest.approx(10.0)
    assert k["aht"] == pytest.approx(200.0)
    assert k["csat"] == pytest.approx(0.75)
    assert k["nps"] == pytest.approx(30.0)
    assert k["ces"] == pytest.approx(2.5)


def test_histogram_bounds_honour_comparison() -> None:
    bounds = b.histogram_bounds({(90.0, "<"), (60.0, "<=")}, (30.0, 60.0, 120.0))
    assert 60.0 in bounds and 90.0 not in bounds
    below = math.nextafter(90.0, 0.0)
    assert below in bounds and bounds == sorted(bounds)


def test_local_day_resets_at_local_midnight() -> None:
    before = ts("2026-11-23T23:59:59+01:00")
    after = ts("2026-11-24T00:00:00+01:00")
    assert b.local_day(before, PARIS) == "2026-11-23"
    assert b.local_day(after, PARIS) == "2026-11-24"
    assert b.day_start("2026-11-24", PARIS) == after


def test_bucket_keys_round_trip_with_pipes_in_queue() -> None:
    key = b.minute_key("call", "a|b", 42)
    assert b.split_bucket_key(key) == ("call", "a|b", "m", "42")
    assert b.split_bucket_key(b.day_key("chat", "q", "2026-11-23")) == (
        "chat",
        "q",
        "d",
        "2026-11-23",
    )


def test_day_expiry() -> None:
    now = datetime(2026, 11, 23, 12, tzinfo=ZoneInfo("UTC")).timestamp()
    assert not b.day_is_expired("2026-11-21", now, 2)
    assert b.day_is_expired("2026-11-20", now, 2)
