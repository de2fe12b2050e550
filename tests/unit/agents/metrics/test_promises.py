"""``ccmon_queue_open`` follows the queue's calendar at the read model's minute (issue 26,
item 1): 1 within its business hours, 0 outside them and on its holidays; a queue without a
calendar is always open."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ccmon.agents.domain.state import PartitionState
from ccmon.agents.metrics.promises import OPEN, lines
from ccmon.agents.readmodel.views import view_of
from ccmon.streams.config import load_queue_config

QUEUES = """
defaults: {timezone: Europe/Paris}
calendars:
  office:
    hours: {mon-fri: ['09:00-17:00']}
    holidays: ['2026-12-25']
queues:
  support: {calendar: office}
  hotline: {}
"""
PARIS = ZoneInfo("Europe/Paris")


def open_gauge(tmp_path: Path, queue: str, local: datetime) -> str:
    path = tmp_path / "queues.yaml"
    path.write_text(QUEUES, encoding="utf-8")
    config = load_queue_config(path)
    view = view_of(PartitionState(0), f"call|{queue}", config.policy, local.timestamp())
    out: dict[str, list[str]] = {}
    lines(view, out)
    (line,) = out[OPEN.name]
    return line.rstrip("\n")


@pytest.mark.parametrize(
    ("local", "value"),
    [
        (datetime(2026, 12, 4, 16, 59, tzinfo=PARIS), "1.0"),  # Friday, open
        (datetime(2026, 12, 4, 17, 0, tzinfo=PARIS), "0.0"),  # closing time: closed
        (datetime(2026, 12, 5, 11, 0, tzinfo=PARIS), "0.0"),  # Saturday
        (datetime(2026, 12, 7, 9, 0, tzinfo=PARIS), "1.0"),  # Monday, opening time
        (datetime(2026, 12, 25, 11, 0, tzinfo=PARIS), "0.0"),  # a holiday on a Friday
    ],
)
def test_the_gauge_follows_the_calendar(tmp_path: Path, local: datetime, value: str) -> None:
    line = open_gauge(tmp_path, "support", local)
    assert line == f'ccmon_queue_open{{channel="call",queue="support"}} {value}', line


def test_a_queue_without_a_calendar_is_always_open(tmp_path: Path) -> None:
    line = open_gauge(tmp_path, "hotline", datetime(2026, 12, 5, 3, 0, tzinfo=PARIS))
    assert line.endswith(" 1.0"), line
