"""The agents_leaving drill end to end: the simulator (its agent events included) -> Kafka ->
a ccmon worker -> Prometheus with the committed rules (`for:` shortened as in
test_alerting.py). When most agents of a busy queue leave, the staffing forecast's
CcmonUnderstaffed fires before the observed service level burns its error budget
(CcmonServiceLevelBudgetBurn): the leading indicator leads.

Timeline (wall clock): 30 minutes of healthy history (contacts only), then live at speed 1:
26 agents on A = 20 erlangs; 60 s in, the drill keeps 40 % of them (10 agents).
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from ccmon.agents.devkit.simulator import (
    KafkaSink,
    Scenario,
    SimConfig,
    run_fast,
    run_realtime,
)
from tests.support.alerting import write_fast_rules
from tests.support.prometheus import Prometheus
from tests.support.services import PrometheusServer, Services
from tests.support.simulation import call_queue
from tests.support.topology import EVERY_CHANNEL, Topology

# Real time at speed 1 against Prometheus's `for:`: tests/support/phases.py runs it beside
# the unit suite.
pytestmark = [pytest.mark.e2e, pytest.mark.realtime]

QUEUES_YAML = """\
defaults: {timezone: UTC}
queues:
  sales:
    service_level: {threshold_seconds: 20, target_ratio: 0.8}
    alerts: {min_volume: 5}
"""
HISTORY = 1800.0  # the forecast window, full: lambda = offered / 30 min
DRILL_AT = 60.0
BURN, UNDERSTAFFED = "CcmonServiceLevelBudgetBurn", "CcmonUnderstaffed"


class Drill:
    """The simulator in a thread of its own (its own event loop); ``stop`` ends it."""

    def __init__(self, bootstrap: str, topics: dict[str, str]) -> None:
        self.bootstrap, self.topics = bootstrap, topics
        self.loop: asyncio.AbstractEventLoop | None = None
        self.halt: asyncio.Event | None = None
        self.ready = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def start(self) -> None:
        self.thread.start()
        assert self.ready.wait(30), "the simulator did not start"

    def stop(self) -> None:
        if self.loop is not None and self.halt is not None:
            self.loop.call_soon_threadsafe(self.halt.set)
        self.thread.join(timeout=30)

    async def _run(self) -> None:
        model = call_queue(
            name="sales", arrivals_per_hour=1200.0, handle=60.0, staff=26, patience_seconds=120.0
        )
        drill = Scenario("agents_leaving", start=DRILL_AT, duration=None, factor=0.4)
        live = SimConfig(queues=(model,), scenarios=(drill,), seed=7)
        history = replace(live, scenarios=(), agent_events=False)
        self.loop, self.halt = asyncio.get_running_loop(), asyncio.Event()
        self.ready.set()
        sink = KafkaSink(self.bootstrap, self.topics)
        await sink.start()
        try:
            now = time.time()
            await run_fast(history, sink, now - HISTORY, HISTORY, self.halt)
            await run_realtime(live, sink, 1.0, None, self.halt, start=now)
        finally:
            await sink.close()


def test_understaffed_fires_before_the_budget_burn(
    topology: Topology, services: Services, tmp_path: Path
) -> None:
    topics = topology.create_topics(2, EVERY_CHANNEL)
    topology.settings = {"CCMON_CLOCK": "wall", "CCMON_TICK_INTERVAL_SECONDS": "1"}
    topology.queues(QUEUES_YAML)
    worker = topology.worker(workdir=tmp_path / "w")
    worker.start(timeout=45.0)
    prometheus: PrometheusServer | None = None
    sim = Drill(topology.kafka, topics)
    try:
        # No Alertmanager: Prometheus' own alert states.
        prometheus = topology.prometheus(write_fast_rules(tmp_path / "rules"))
        client = Prometheus(prometheus.url)
        sim.start()
        first_seen: dict[tuple[str, str], float] = {}
        deadline = time.monotonic() + 420.0
        while time.monotonic() < deadline and (BURN, "firing") not in first_seen:
            for a in client.alerts():
                if a["labels"].get("queue") == "sales":
                    key = (a["labels"]["alertname"], a["state"])
                    first_seen.setdefault(key, time.monotonic())
            time.sleep(0.5)
        staffed = {
            name: [r["value"][1] for r in client.query(name)]
            for name in (
                "ccmon_agents_logged_in",
                "ccmon_agents_required",
                "ccmon_agents_shortfall",
                "ccmon_forecast_info",
                'ccmon_window_contacts_offered{window="30m"}',
            )
        }
        print("first seen (s after the first):", _relative(first_seen), "staffed:", staffed)
        assert (BURN, "firing") in first_seen, (first_seen, worker.log_tail(30))
        assert (UNDERSTAFFED, "firing") in first_seen, (first_seen, staffed, worker.log_tail(40))
        # Understaffed was firing before the burn even started to be pending.
        burn_began = min(t for (name, _), t in first_seen.items() if name == BURN)
        assert first_seen[(UNDERSTAFFED, "firing")] < burn_began, _relative(first_seen)
    finally:
        sim.stop()
        worker.stop()
        if prometheus is not None:
            services.stop(prometheus)


def _relative(seen: dict[tuple[str, str], float]) -> dict[str, float]:
    if not seen:
        return {}
    zero = min(seen.values())
    return {
        f"{n} {s}": round(t - zero, 1) for (n, s), t in sorted(seen.items(), key=lambda x: x[1])
    }
