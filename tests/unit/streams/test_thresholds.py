"""The threshold model of both walls (ccmon.streams.thresholds, docs/configuration.md "At
risk"): per queue and KPI a limit and a margin before it, read from the queue configuration;
levels are inclusive steps, as Grafana draws them; a margin that leaves a KPI no room to be
OK is refused at load, one line naming its place."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccmon.streams.config import QueueConfigError, load_queue_config
from ccmon.streams.policy import QueuePolicy
from ccmon.streams.thresholds import Level, levels

QUEUES = """
defaults: {timezone: Europe/Paris}
queues:
  sales:
    service_level: {threshold_seconds: 60, target_ratio: 0.80}
  billing:
    service_level: {threshold_seconds: 120, target_ratio: 0.90}
    alerts: {waiting_contacts: 6, abandon_ratio: 0.08}
    tickets: {backlog_limit: 40}
    at_risk: {service_level_margin: 0.08, waiting_margin: 3, oldest_waiting_margin_seconds: 10,
              abandon_margin: 0.02, backlog_margin: 15}
  full:
    service_level: {target_ratio: 0.98}
"""  # fmt: skip


def load(tmp_path: Path, text: str) -> dict[str, dict[str, Level]]:
    path = tmp_path / "queues.yaml"
    path.write_text(text, encoding="utf-8")
    config = load_queue_config(path)
    return {q: levels(config.policy("call", q)) for q in ("sales", "billing", "full")}


def test_a_queue_of_its_own_margins_and_one_of_the_defaults(tmp_path: Path) -> None:
    got = load(tmp_path, QUEUES)
    sales, billing = got["sales"], got["billing"]
    # Defaults: 5 points above the target, a quarter before every other limit.
    assert sales["service_level"] == Level(0.85, 0.80, True)
    assert sales["oldest_waiting"] == Level(45.0, 60.0)
    assert sales["waiting"] == Level(7.5, 10.0)
    assert "backlog" not in sales, "no backlog limit: a plain count"
    # Its own: what the configuration says, in the KPI's own unit.
    assert billing["service_level"] == Level(0.98, 0.90, True)
    assert billing["waiting"] == Level(3.0, 6.0)
    assert billing["oldest_waiting"] == Level(110.0, 120.0)
    assert billing["abandon"] == Level(0.06, 0.08)
    assert billing["backlog"] == Level(25.0, 40.0)
    # A target near 100 %: the default margin stops at 100 %, never above it.
    assert got["full"]["service_level"] == Level(1.0, 0.98, True)


@pytest.mark.parametrize(
    ("value", "state"),
    [(None, "none"), (0.79, "alarm"), (0.80, "warn"), (0.849, "warn"), (0.85, "ok"), (1.0, "ok")],
)
def test_the_service_level_steps_are_inclusive(value: float | None, state: str) -> None:
    assert Level(0.85, 0.80, True).state(value) == state


@pytest.mark.parametrize(
    ("value", "state"), [(0, "ok"), (7.4, "ok"), (7.5, "warn"), (9, "warn"), (10, "alarm")]
)
def test_a_limit_is_breached_at_it_and_at_risk_from_its_margin(value: float, state: str) -> None:
    assert levels(QueuePolicy())["waiting"].state(value) == state


@pytest.mark.parametrize(
    ("at_risk", "place", "words"),
    [
        ("{service_level_margin: 0.25}", "queues.q", "above 100 %"),
        ("{waiting_margin: 10}", "queues.q", "must be below alerts.waiting_contacts (10)"),
        ("{abandon_margin: 0.2}", "queues.q", "must be below alerts.abandon_ratio (0.1)"),
    ],
)
def test_a_margin_that_leaves_no_room_to_be_ok_is_refused_naming_its_place(
    tmp_path: Path, at_risk: str, place: str, words: str
) -> None:
    path = tmp_path / "queues.yaml"
    path.write_text(f"queues:\n  q:\n    at_risk: {at_risk}\n", encoding="utf-8")
    with pytest.raises(QueueConfigError) as caught:
        load_queue_config(path)
    (line,) = caught.value.lines
    assert line.startswith(f"{path}: {place}"), line
    assert words in line, line


def test_a_margin_in_the_defaults_meets_each_queues_own_limit(tmp_path: Path) -> None:
    path = tmp_path / "queues.yaml"
    path.write_text(
        "defaults: {at_risk: {waiting_margin: 5}}\n"
        "queues:\n  roomy: {}\n  small: {alerts: {waiting_contacts: 4}}\n",
        encoding="utf-8",
    )
    with pytest.raises(QueueConfigError) as caught:
        load_queue_config(path)
    (line,) = caught.value.lines
    assert "small" in line and "waiting_margin (5) must be below" in line, line
