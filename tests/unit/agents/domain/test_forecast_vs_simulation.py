"""The forecast against what it forecasts: simulated contacts and agents go through the
counting rules (contacts, agent states in both hops) and the read model, as in a worker
(tests.support.simulation.run_through_domain); the forecast it exports every 30 simulated
minutes, averaged over the run, is compared with the service level the simulation really
delivered (issue 25, item 3: within 3 points), for three steady states at a known load:

- calls with patience (Erlang A): A = 20 erlangs, N = 22, patience 300 s, 48 h;
- calls without abandons (Erlang C): the published point A = 10, N = 14, a week;
- chats, 3 at a time (Erlang C on slots): A = 20 erlangs of 300 s chats, 8 agents x 3, a week.

The Erlang C runs are a week long because the simulated service level itself wanders: over
48 h it came out 3.2 points under theory with one seed and 3.7 over with another; over a week
within 1.4. The figures measured here are in docs/metrics.md, "How close it is". Nothing here
runs Kafka: tests/integration/test_forecast_on_kafka.py holds a worker to the same bar.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from ccmon.agents.devkit.simulator import QueueModel
from ccmon.agents.domain import erlang
from ccmon.agents.domain.forecast import Inputs, forecast
from ccmon.agents.domain.servicelevel import queue_parts
from ccmon.agents.metrics.staffing import wait_estimate
from ccmon.agents.readmodel.views import QueueView
from ccmon.streams.config import QueuePolicy
from tests.support.simulation import DomainRun, call_queue, chat_queue, run_through_domain

T = 20.0


def policy(**fields: float) -> QueuePolicy:
    return QueuePolicy(
        threshold_seconds=T, comparison="<=", target_ratio=0.8, min_volume=20, **fields
    )  # type: ignore[arg-type]


@dataclass(frozen=True)
class Case:
    model: QueueModel
    policy: QueuePolicy
    hours: float
    truth: Inputs  # the simulation's true load, as the forecast's inputs
    model_name: str


CASES = {
    "erlang_a": Case(
        call_queue(arrivals_per_hour=400.0, staff=22, patience_seconds=300.0),
        policy(),
        48.0,
        Inputs(400, 20.0, 180.0, 300.0, 22),
        "erlang_a",
    ),
    "erlang_c": Case(call_queue(), policy(), 168.0, Inputs(200, 10.0, 180.0, None, 14), "erlang_c"),
    "chat_slots": Case(
        chat_queue(staff=8, handle=300.0, arrivals_per_hour=240.0),
        policy(max_concurrent=3),
        168.0,
        Inputs(240, 20.0, 300.0, None, 8, slots=24),
        "erlang_c_slots",
    ),
}


def delivered(run: DomainRun, pol: QueuePolicy) -> float:
    """The service level the simulation delivered over the run, in the queue's profile."""
    answered = [e for _, _, e in run.events if e["type"] == "answered"]
    abandoned = sum(1 for _, _, e in run.events if e["type"] == "abandoned")
    return sum(pol.within(e["wait_seconds"]) for e in answered) / (len(answered) + abandoned)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_forecast_agrees_with_the_service_level_it_forecasts(name: str) -> None:
    case = CASES[name]
    run = run_through_domain(case.model, case.policy, case.hours, every=1800.0, warmup=3600.0)
    found = [s.view.forecast for s in run.samples]
    assert all(f is not None for f in found)
    predicted = [f.predicted if f.predicted is not None else 0.0 for f in found if f]
    windows = [queue_parts(s.view.windows["30m"], case.policy) for s in run.samples]
    observed = delivered(run, case.policy)
    theory = forecast(case.truth, case.policy)
    required = [f.required for f in found if f]
    print(
        f"{name}: {len(predicted)} windows, forecast {statistics.mean(predicted):.4f}, "
        f"delivered {observed:.4f} (per window {statistics.mean(g / e for g, e in windows):.4f}),"
        f" theory {theory.predicted:.4f}; required mean {statistics.mean(required):.2f} "
        f"median {statistics.median(required)} (theory {theory.required})"
    )
    assert statistics.mean(predicted) == pytest.approx(observed, abs=0.03)
    assert {f.inputs.staffed for f in found if f} == {case.truth.staffed}  # N from the agents
    assert {f.inputs.servers for f in found if f} == {case.truth.servers}
    models = [f.model.removesuffix("_overloaded") for f in found if f]
    assert models.count(case.model_name) > 0.9 * len(models)
    # The estimate of A moves with the window's noise (about 14 % from 100 contacts), and with
    # it the agents required: at the true load they are the theory's (the test below); over
    # the run their median is within one agent of it.
    assert abs(statistics.median(required) - theory.required) <= 1.0


def test_agents_required_is_the_theorys_answer_at_the_true_load() -> None:
    # The smallest N meeting 80 % in 20 s, searched in the model directly.
    def smallest(meets: Callable[[int], bool]) -> int:
        return next(n for n in range(1, 500) if meets(n))

    a = CASES["erlang_a"].truth
    erlang_a = smallest(
        lambda n: erlang.erlang_a(n, 20.0, 180.0, 300.0, T).p_answered_within >= 0.8
    )
    erlang_c = smallest(lambda n: n > 10 and erlang.service_level(n, 10.0, 180.0, T) >= 0.8)
    slots = smallest(lambda n: n > 20 and erlang.service_level(n, 20.0, 300.0, T) >= 0.8)
    assert forecast(a, CASES["erlang_a"].policy).required == erlang_a
    assert forecast(CASES["erlang_c"].truth, CASES["erlang_c"].policy).required == erlang_c == 14
    chats = forecast(CASES["chat_slots"].truth, CASES["chat_slots"].policy)
    assert chats.required == math.ceil(slots / 3) == 9


def test_the_estimated_wait_against_the_waits_arrivals_really_had() -> None:
    # Calls without abandons (every wait is seen) and chats 3 at a time: what a contact
    # arriving would have been told, against the wait it then had.
    for name in ("erlang_c", "chat_slots"):
        case = CASES[name]
        told: dict[str, float] = {}

        def at_offered(
            t: float, contact: str, view: QueueView, told: dict[str, float] = told
        ) -> None:
            wait = wait_estimate(view)
            if wait is not None:
                told[contact] = wait

        run = run_through_domain(
            case.model, case.policy, 48.0, warmup=3600.0, at_offered=at_offered, offered_every=4
        )
        had = {
            e["contact_id"]: e["wait_seconds"] for _, _, e in run.events if e["type"] == "answered"
        }
        pairs = [(told[c], had[c]) for c in told if c in had]
        bias = statistics.mean(p - h for p, h in pairs)
        mae = statistics.mean(abs(p - h) for p, h in pairs)
        mean_wait = statistics.mean(h for _, h in pairs)
        waited = [(p, h) for p, h in pairs if p > 0]
        print(
            f"{name}: {len(pairs)} arrivals, mean wait {mean_wait:.1f} s, estimate bias "
            f"{bias:+.1f} s, mean absolute error {mae:.1f} s; told to wait: {len(waited)}, "
            f"mean told {statistics.mean(p for p, _ in waited):.1f} s, "
            f"had {statistics.mean(h for _, h in waited):.1f} s (absolute error "
            f"{statistics.mean(abs(p - h) for p, h in waited):.1f} s)"
        )
        assert len(pairs) > 1000
        assert abs(bias) < 0.15 * mean_wait + 1.0
