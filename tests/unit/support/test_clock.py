"""The test helper that keeps day-based numbers off midnight (tests/support/clock.py)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ccmon.streams.config import load_queue_config
from tests.support.clock import queues_at, zone_at

MIDNIGHT = 1_780_000_000 // 86400 * 86400.0  # a UTC midnight


@pytest.mark.parametrize("utc_hour", range(24))
@pytest.mark.parametrize("hour", [0, 3, 15, 23])
def test_the_zone_has_the_hour_asked_at_every_hour_of_the_day(utc_hour: int, hour: int) -> None:
    now = MIDNIGHT + utc_hour * 3600 + 1799
    zone = zone_at(hour, now)
    assert datetime.fromtimestamp(now, ZoneInfo(zone)).hour == hour


def test_the_queue_configuration_is_one_the_worker_loads(tmp_path: Path) -> None:
    # At a UTC midnight, 15:00 is the day before, 9 hours behind (Etc/GMT+9).
    text = queues_at(15, MIDNIGHT)
    assert text == "defaults: {timezone: Etc/GMT+9}\n"
    (tmp_path / "queues.yaml").write_text(text, encoding="utf-8")
    policy = load_queue_config(tmp_path / "queues.yaml").policy("call", "any")
    assert str(policy.tzinfo) == "Etc/GMT+9"
