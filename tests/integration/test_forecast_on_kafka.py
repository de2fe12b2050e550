"""The staffing forecast through a real worker on real Kafka and Redis: a simulated Erlang A
queue (A = 20 erlangs, N = 22 agents, patience 300 s) is produced 30 simulated minutes at a
time, with its agent events; after each slice the worker's /metrics must show the 22 agents
staffed (from the agent events, through both hops), an Erlang A forecast at A ~ 20 and its
inputs (lambda, AHT, patience, N: anyone can recompute it from /metrics); the run's average
forecast must be within 3 points of the service level the simulation delivered (issue 25,
item 3), as in memory (tests/unit/agents/domain/test_forecast_vs_simulation.py)."""

from __future__ import annotations

import statistics
import time

import orjson
import pytest

from ccmon.agents.devkit.simulator import SimConfig, iter_events
from ccmon.agents.domain import erlang
from tests.support.expect import poll, sample, wait_until_equal
from tests.support.kafka_io import produce
from tests.support.simulation import call_queue
from tests.support.topology import EVERY_CHANNEL, Topology

HOURS = 6
SLICE = 1800.0
Q = {"channel": "call", "queue": "erlang-a"}
FORECAST_AHT = "ccmon_forecast_handle_time_seconds"
WINDOW_AHT = "ccmon_handle_time_average_seconds"  # CCMON_FORECAST_WINDOW: 30m


def test_forecast_on_kafka_follows_the_simulation(topology: Topology) -> None:
    topics = topology.create_topics(2, EVERY_CHANNEL)
    topology.settings = {
        "CCMON_CLOCK": "stream",
        # A slice's agent events can move the stream clock to its end before its calls are
        # counted: a forecast reused from then would be read here. Recomputed every build.
        "CCMON_FORECAST_REFRESH_SECONDS": "0",
        # The window's AHT (ccmon_handle_time_average_seconds) tells this slice's forecast.
        "CCMON_EXPORT_RATIOS": "true",
    }
    topology.queues(
        "defaults: {timezone: UTC}\nqueues:\n  erlang-a:\n"
        "    service_level: {threshold_seconds: 20, comparison: '<=', target_ratio: 0.8}\n"
        "    alerts: {min_volume: 20}\n"
    )
    model = call_queue(name="erlang-a", arrivals_per_hour=400.0, staff=22, patience_seconds=300.0)
    start = time.time() - (HOURS + 1) * 3600.0
    events = list(iter_events(SimConfig(queues=(model,), seed=1), start, HOURS * 3600.0))
    worker = topology.worker().start(all_partitions=True)
    predicted: list[float] = []
    models: list[str] = []
    try:
        offered, i, end = 0, 0, start
        while i < len(events):
            end += SLICE
            batch = []
            while i < len(events) and events[i][0] <= end:
                _, channel, ev = events[i]
                key = str(ev.get("contact_id") or ev.get("agent_id")).encode()
                batch.append((topics[channel], key, orjson.dumps(ev)))
                offered += ev["type"] == "offered"
                i += 1
            produce(topology.kafka, batch)
            wait_until_equal(
                worker.samples,
                {
                    sample("ccmon_contacts_offered_total", **Q): float(offered),
                    sample("ccmon_agents_logged_in", **Q): 22.0,
                },
            )
            # Forecasts are computed off the event loop, a second or so after the build
            # that asked for them: this slice's is the one whose handle time is the
            # window's (the stream clock stands still once the slice is counted).
            got = poll(
                "the forecast of this slice's counts",
                lambda: (
                    (g := worker.samples()).get(sample(FORECAST_AHT, **Q)) is not None
                    and g[sample(FORECAST_AHT, **Q)] == g.get(sample(WINDOW_AHT, **Q, window="30m"))
                    and g
                ),
                60,
            )
            value = got.get(sample("ccmon_service_level_predicted_ratio", **Q))
            # The first hour is the start-up: the first contacts to end are the short ones.
            if end - start >= 3600.0 and value is not None:
                predicted.append(value)
                load = got[sample("ccmon_forecast_offered_load_erlangs", **Q)]
                assert 14.0 < load < 26.0, load  # A = 20 erlangs, within the window's noise
                rate = got[sample("ccmon_forecast_arrival_rate", **Q)]
                aht = got[sample("ccmon_forecast_handle_time_seconds", **Q)]
                assert rate * aht == pytest.approx(load)  # the inputs recompute A
                assert got[sample("ccmon_forecast_servers", **Q)] == 22.0
                assert sample("ccmon_forecast_patience_seconds", **Q) in got
                assert sample("ccmon_estimated_wait_seconds", **Q) in got
                models.append(
                    next(dict(k[1])["model"] for k in got if k[0] == "ccmon_forecast_info")
                )
    finally:
        worker.stop()
    theory = erlang.erlang_a(22, 20.0, 180.0, 300.0, 20.0).p_answered_within
    average = statistics.mean(predicted)
    answered = [e for _, c, e in events if e["type"] == "answered"]
    observed = sum(e["wait_seconds"] <= 20.0 for e in answered) / (
        len(answered) + sum(1 for _, _, e in events if e["type"] == "abandoned")
    )
    print(
        f"forecast SL averaged over {len(predicted)} slices: {average:.4f}; "
        f"Erlang A: {theory:.4f}; simulated: {observed:.4f}; models {models}"
    )
    assert len(predicted) >= 2 * HOURS - 2
    assert models.count("erlang_a") >= len(models) - 1, models  # patience from abandonment
    assert abs(average - observed) < 0.03
