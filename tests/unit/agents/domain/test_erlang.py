"""ccmon.agents.domain.erlang against the published reference points and internal consistency."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccmon.agents.domain.erlang import asa, erlang_a, erlang_b, erlang_c, service_level

# The domain brief's reference point: 100 calls / 30 min, AHT 180 s -> A = 10 Erlangs.
N, A, AHT, T = 14, 10.0, 180.0, 20.0


def test_erlang_c_reference_point() -> None:
    # Published figures carry 4 / 3 / 3 significant digits; allow half a unit in the last.
    assert erlang_c(N, A) == pytest.approx(0.1741, abs=0.00005)
    assert service_level(N, A, AHT, T) == pytest.approx(0.888, abs=0.0005)
    assert asa(N, A, AHT) == pytest.approx(7.84, abs=0.005)


def test_erlang_b_reference_point() -> None:
    assert erlang_b(17, A) == pytest.approx(0.013, abs=0.0005)
    assert erlang_b(17, A) < 0.02 <= erlang_b(16, A)  # 17 is the smallest trunk group < 2 %


def test_erlang_b_small_cases_by_hand() -> None:
    assert erlang_b(0, 3.0) == 1.0
    assert erlang_b(1, 1.0) == pytest.approx(0.5)
    assert erlang_b(2, 1.0) == pytest.approx(0.2)  # (1/2) / (1 + 1 + 1/2)


def test_erlang_b_large_group_is_stable() -> None:
    # A^N / N! overflows a double near N = 171; the recursion does not.
    b = erlang_b(2000, 1900.0)
    assert 0.0 < b < 0.05


def test_unstable_queue() -> None:
    assert erlang_c(10, 10.0) == 1.0
    assert service_level(10, 12.0, AHT, T) == 0.0
    assert asa(10, 12.0, AHT) == math.inf


@pytest.mark.parametrize("bad", [(-1, 1.0), (3, -1.0), (3, math.nan), (3, math.inf)])
def test_bad_input(bad: tuple[int, float]) -> None:
    with pytest.raises(ValueError):
        erlang_b(*bad)


def test_erlang_a_tends_to_erlang_c_with_infinite_patience() -> None:
    c = erlang_a(N, A, AHT, None, T)
    assert (c.p_wait, c.service_level, c.asa, c.p_abandon) == pytest.approx(
        (erlang_c(N, A), service_level(N, A, AHT, T), asa(N, A, AHT), 0.0)
    )
    # Long but finite patience goes through the birth-death path and must agree closely.
    a = erlang_a(N, A, AHT, 1e9, T)
    assert a.p_wait == pytest.approx(c.p_wait, rel=1e-6)
    assert a.service_level == pytest.approx(c.service_level, rel=1e-6)
    assert a.asa == pytest.approx(c.asa, rel=1e-5)
    assert a.p_abandon < 1e-7


def test_erlang_a_abandonment_grows_as_agents_leave() -> None:
    p = [erlang_a(n, A, AHT, 120.0, T).p_abandon for n in range(16, 4, -1)]
    assert all(x < y for x, y in itertools.pairwise(p))
    # With abandonment the queue is stable even at and above 100 % load.
    assert 0.0 < erlang_a(8, A, AHT, 120.0, T).p_abandon < 1.0


def test_erlang_a_patience_helps_those_who_stay() -> None:
    short = erlang_a(N, A, AHT, 60.0, T)
    long = erlang_a(N, A, AHT, 600.0, T)
    assert short.p_abandon > long.p_abandon
    assert short.asa < long.asa and short.service_level > long.service_level
    assert short.p_wait < long.p_wait < erlang_c(N, A)


def test_erlang_a_overloaded_fluid_limit() -> None:
    # 2x overload with patience >> AHT: half the callers must leave, and the answered ones
    # wait ln(2) x patience (fluid approximation, exact in the limit).
    r = erlang_a(1000, 2000.0, AHT, 60_000.0, T)
    assert r.p_abandon == pytest.approx(0.5, abs=1e-3)
    assert r.asa == pytest.approx(math.log(2) * 60_000.0, rel=1e-3)


@settings(max_examples=60, deadline=None)
@given(
    servers=st.integers(1, 60),
    load=st.floats(0.05, 2.5),
    patience=st.floats(5.0, 5000.0),
)
def test_erlang_a_two_routes_to_abandonment_agree(
    servers: int, load: float, patience: float
) -> None:
    # theta E[Lq] / lambda (stationary queue) and 1 - answered (integral of the answered
    # callers' wait density) are computed independently; they must meet.
    r = erlang_a(servers, servers * load, AHT, patience, t=1e12)
    assert r.p_answered_within == pytest.approx(1.0 - r.p_abandon, abs=1e-7)
    assert 0.0 <= r.p_abandon <= r.p_wait <= 1.0
    assert 0.0 <= r.service_level <= 1.0 and r.asa >= 0.0


def test_erlang_a_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        erlang_a(0, A, AHT, 60.0)
    with pytest.raises(ValueError):
        erlang_a(N, A, AHT, 0.0)
    with pytest.raises(ValueError):
        erlang_a(N, A, 0.0, 60.0)
