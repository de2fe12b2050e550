"""Golden-file test of the /metrics exposition (node_exporter style): fixed table contents
and a fixed clock give byte-identical output, which promtool accepts.

Regenerate on purpose with ``CCMON_UPDATE_GOLDEN=1 pytest tests/unit/agents``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from support.paths import ROOT

from ccmon.agents.contacts import apply_contact
from ccmon.agents.effects import HANDLE, WAIT, Effects, StateLimits
from ccmon.agents.metrics.counters import CountersCollector
from ccmon.agents.metrics.live import LiveCollector
from ccmon.agents.metrics.source import ReadModelSource
from ccmon.agents.metrics.targets import TargetsCollector
from ccmon.agents.metrics.windows import WindowsCollector
from ccmon.agents.state import PartitionState
from ccmon.agents.surveys import apply_survey
from ccmon.agents.tickets import apply_ticket
from ccmon.streams.config import load_queue_config
from ccmon.streams.events import Event

GOLDEN = Path(__file__).parent / "data" / "metrics.golden.txt"
NOW = 1_795_435_200.0  # 2026-11-23T09:00:00Z
CONFIG = load_queue_config(ROOT / "deploy" / "queues.example.yaml")


def _state() -> PartitionState:
    state = PartitionState(0)
    limits = StateLimits(histogram_bounds={WAIT: [20.0, 60.0, 89.99999999999999], HANDLE: [300.0]})
    events = [
        ("call", "offered", 600, "c1", {}),
        ("call", "answered", 590, "c1", {"wait_seconds": 10.0}),
        ("call", "ended", 300, "c1", {"talk_seconds": 200.0, "resolved_first_contact": True}),
        ("call", "offered", 400, "c2", {}),
        ("call", "abandoned", 300, "c2", {"wait_seconds": 100.0}),
        ("call", "offered", 120, "c3", {}),
        ("call", "blocked", 60, "c4", {"reason": "trunks_busy"}),
        ("call", "survey", 30, "c1", {"csat": 5, "nps": 10, "ces": 2}),
        ("chat", "offered", 2000, "h1", {}),
        ("ticket", "created", 3 * 86400, "T1", {}),
    ]
    for offset, (channel, kind, ago, contact, extra) in enumerate(events):
        ev = Event(
            event_id=str(offset),
            channel=channel,
            type=kind,
            occurred_at=NOW - ago,
            queue="billing",
            contact_id=contact,
            **extra,
        )
        fx = Effects(state, limits)
        policy = CONFIG.policy(channel, "billing")
        if kind == "survey":
            apply_survey(ev, fx, policy, NOW)
        elif channel == "ticket":
            apply_ticket(ev, fx, policy, NOW)
        else:
            apply_contact(ev, fx, policy, NOW)
        state.merge(fx.writes)
    return state


def exposition() -> bytes:
    state = _state()
    source = ReadModelSource(lambda: {0: state}, CONFIG.policy, lambda: NOW)
    registry = CollectorRegistry(auto_describe=False)
    bounds = {WAIT: [20.0, 60.0, 89.99999999999999], HANDLE: [300.0]}
    for collector in (
        CountersCollector(source, bounds),
        WindowsCollector(source),
        LiveCollector(source),
        TargetsCollector(source),
    ):
        registry.register(collector)
    return generate_latest(registry)


def test_metrics_match_the_golden_file() -> None:
    got = exposition()
    if os.environ.get("CCMON_UPDATE_GOLDEN") == "1":
        GOLDEN.write_bytes(got)
    assert got.decode() == GOLDEN.read_text()


def test_exposition_passes_promtool_check_metrics() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool not found: run `make deps` (Debian package prometheus)")
    result = subprocess.run(
        [promtool, "check", "metrics"], input=exposition(), capture_output=True, check=False
    )
    assert result.returncode == 0, result.stderr.decode() + result.stdout.decode()


def test_only_owned_partitions_are_exported() -> None:
    owned: dict[int, PartitionState] = {0: _state()}
    source = ReadModelSource(lambda: owned, CONFIG.policy, lambda: NOW, max_age_seconds=0)
    assert source.get().queues
    owned.clear()  # revoked: its queues leave the read model with it
    assert source.get().queues == {}
