"""Long fast-mode runs of the simulator agree with Erlang B, C and A.

KPIs are recounted here from the emitted events (not from engine internals), so these tests
check the whole path: arrivals, FIFO service, patience, trunks and the event fields.

Tolerances: each case simulates 750 h (~150 000 calls). Over 8 seeds at 100 000 calls the
seed-to-seed standard deviations were SL 0.0055, Pw 0.0070, ASA 0.48 s (Erlang C),
blocking 0.00083 (Erlang B), abandonment 0.0022, Pw 0.0058, SL 0.0062, ASA 0.42 s
(Erlang A). Scaled to 150 000 calls (x 0.82) the bounds below are about 4 sigma, loose
enough not to be seed-lucky, tight enough to separate the neighbouring staffing levels
(e.g. B(16) = 0.022 and B(18) = 0.007 against B(17) = 0.013 +- 0.003).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pytest

from ccmon.agents.devkit.simulator import SimConfig, iter_events
from ccmon.agents.domain.erlang import asa, erlang_a, erlang_b, erlang_c, service_level
from tests.support.simulation import call_queue

START = 1_700_000_000.0
HOURS = 750.0
WARM_UP = 3600.0  # the run starts empty; the first hour is not steady state
AHT, T = 180.0, 20.0
PER_HOUR = 200.0  # 100 calls / 30 min -> A = 10 Erlangs


@dataclass(frozen=True)
class Recount:
    offered: int
    blocked: int
    answered: int
    abandoned: int
    waited: int  # answered after a wait > 0, or abandoned: every caller who queued
    answered_within: int
    total_answered_wait: float

    @property
    def blocking(self) -> float:
        return self.blocked / (self.offered + self.blocked)

    @property
    def p_abandon(self) -> float:
        return self.abandoned / self.offered

    @property
    def p_wait(self) -> float:
        return self.waited / self.offered

    @property
    def service_level(self) -> float:
        return self.answered_within / self.answered

    @property
    def asa(self) -> float:
        return self.total_answered_wait / self.answered


def recount(events: Iterable[tuple[float, str, dict[str, Any]]], end: float) -> Recount:
    """Steady-state KPIs of contacts that arrived in [START + WARM_UP, end - 1 h)."""
    lo, hi = START + WARM_UP, end - 3600.0
    arrived: dict[str, float] = {}
    offered = blocked = answered = abandoned = waited = within = 0
    total_wait = 0.0
    for t, _, ev in events:
        kind = ev["type"]
        if kind == "blocked":
            blocked += lo <= t < hi
            continue
        if kind == "offered":
            arrived[ev["contact_id"]] = t
            offered += lo <= t < hi
            continue
        if kind not in ("answered", "abandoned"):
            continue
        if not lo <= arrived[ev["contact_id"]] < hi:
            continue
        wait = ev["wait_seconds"]
        if kind == "abandoned":
            abandoned += 1
            waited += 1
        else:
            answered += 1
            waited += wait > 0
            within += wait <= T
            total_wait += wait
    return Recount(offered, blocked, answered, abandoned, waited, within, total_wait)


def simulate(**overrides: Any) -> Recount:
    model = call_queue(arrivals_per_hour=PER_HOUR, handle=AHT, **overrides)
    config = SimConfig(queues=(model,), seed=20240501)
    r = recount(iter_events(config, START, HOURS * 3600), START + HOURS * 3600)
    assert r.offered + r.blocked > 140_000
    assert r.answered + r.abandoned == r.offered  # every steady-state contact has an outcome
    return r


@pytest.fixture(scope="module")
def erlang_c_run() -> Recount:
    return simulate()


@pytest.fixture(scope="module")
def erlang_a_run() -> Recount:
    return simulate(agents=((0.0, 10),), patience_seconds=120.0)


def test_erlang_c_reference_point(erlang_c_run: Recount) -> None:
    r = erlang_c_run
    assert r.blocked == 0 and r.abandoned == 0
    assert r.p_wait == pytest.approx(erlang_c(14, 10.0), abs=0.025)  # 0.1741
    assert r.service_level == pytest.approx(service_level(14, 10.0, AHT, T), abs=0.02)  # 0.888
    assert r.asa == pytest.approx(asa(14, 10.0, AHT), abs=1.6)  # 7.84 s


def test_erlang_b_blocking_with_trunks_equal_to_agents() -> None:
    r = simulate(agents=((0.0, 17),), trunks=((0.0, 17),))
    assert r.waited == 0  # no waiting room: everyone is answered at once or blocked
    assert r.blocking == pytest.approx(erlang_b(17, 10.0), abs=0.003)  # 0.0129


def test_erlang_a_abandonment_at_full_load(erlang_a_run: Recount) -> None:
    # A = N = 10: unstable for Erlang C, stable here because callers give up.
    theory = erlang_a(10, 10.0, AHT, 120.0, T)
    r = erlang_a_run
    assert r.p_abandon == pytest.approx(theory.p_abandon, abs=0.008)  # 0.137
    assert r.p_wait == pytest.approx(theory.p_wait, abs=0.025)  # 0.497
    assert r.service_level == pytest.approx(theory.service_level, abs=0.025)  # 0.742
    assert r.asa == pytest.approx(theory.asa, abs=1.6)  # 14.6 s


def test_erlang_a_separates_neighbouring_staffing(erlang_a_run: Recount) -> None:
    # The tolerance above means something only if one agent more or less is detectable.
    nine = erlang_a(9, 10.0, AHT, 120.0, T).p_abandon
    eleven = erlang_a(11, 10.0, AHT, 120.0, T).p_abandon
    assert eleven + 0.02 < erlang_a_run.p_abandon < nine - 0.02
