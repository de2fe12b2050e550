"""Redirects of a Redis Cluster: counted, one log line when a storm starts and one when it
ends (the probe's tick), shown on /healthz."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import CollectorRegistry

from ccmon.agents.worker import health
from ccmon.agents.worker.health import Health, probe_keys


def test_a_storm_of_redirects_is_one_line_then_one_when_it_ends(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    now = [1000.0]
    monkeypatch.setattr(health.time, "monotonic", lambda: now[0])
    registry = CollectorRegistry()
    h = Health(registry)
    caplog.set_level(logging.WARNING, logger=health.__name__)
    for i in range(health.STORM_REDIRECTS * 3):
        h.redirects.seen("moved" if i % 4 else "ask")
        now[0] += 0.05
    storm = [r.getMessage() for r in caplog.records if "redirects" in r.getMessage()]
    assert len(storm) == 1, storm
    assert storm[0].startswith("Redis Cluster: 20 redirects (ask 5, moved 15) within 10s")
    report = h.report([0])["redis"]
    assert isinstance(report, dict)
    assert report["redirects"] == {"ask": 15, "moved": 45, "storm": True}
    assert registry.get_sample_value("ccmon_redis_redirects_total", {"kind": "moved"}) == 45
    assert h.report([0])["status"] == "ok"  # Redis answers: redirects are no outage
    h.redirects.calm()  # within the window: still a storm
    now[0] += health.STORM_WINDOW_SECONDS + 1
    h.redirects.calm()
    h.redirects.calm()
    lines = [r.getMessage() for r in caplog.records]
    assert lines[-1].startswith("Redis Cluster: redirects stopped after "), lines
    assert len(lines) == 2


def test_a_single_redis_gets_no_redirect_report_and_one_probe_key() -> None:
    h = Health(CollectorRegistry())
    assert "redirects" not in h.report([])["redis"]  # type: ignore[operator]
    assert probe_keys("ccmon", 8, cluster=False) == ["ccmon:health"]
    assert probe_keys("ccmon", 3, cluster=True) == [
        "{ccmon:0}:health",
        "{ccmon:1}:health",
        "{ccmon:2}:health",
    ]
