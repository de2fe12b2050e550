"""Erlang B, C and A: the queueing-theory yardstick the simulator and the dashboards are checked
against.

Conventions: ``traffic`` is the offered load A = lambda x AHT in Erlangs, ``aht`` the mean
handle time and ``t`` the service-level threshold, both in seconds. Only ``math`` is used so
the module can be imported anywhere (wall-screen helpers, notebooks, tests).

Erlang B and C are the textbook M/M/N/N and M/M/N formulas (e.g. Kleinrock, *Queueing
Systems* vol. 1, 1975; Gans, Koole & Mandelbaum, "Telephone call centers", M&SOM 2003).

Erlang A (M/M/N+M: Poisson arrivals, exponential service, N agents, FIFO, exponential
patience with mean ``patience``) follows Mandelbaum & Zeltyn, "The Palm/Erlang-A queue,
with applications to call centers" (2007), computed here from first principles:

* the stationary distribution of the birth-death chain (birth lambda, death
  min(n, N) mu + max(n - N, 0) theta), in log space and truncated where the terms fall
  below e^-40 of the largest one; by PASTA it is also what an arrival sees;
* P(wait > 0) = sum over n >= N of pi_n and P(abandon) = theta E[Lq] / lambda;
* the answered callers' waiting-time density. An arrival that finds k callers queued
  reaches an agent after T_k = sum_{j=0..k} Exp(N mu + j theta) (callers ahead abandon, its
  own patience is independent), which has the all-positive density
  prod_j (N mu + j theta) / (theta^k k!) e^{-N mu s} (1 - e^{-theta s})^k; it is answered if
  its patience exceeds T_k. Weighting by pi_{N+k} and summing over k in closed form gives,
  for answered callers who waited s > 0,

      g(s) = pi_N N mu exp(-(N mu + theta) s + (lambda / theta)(1 - e^{-theta s}))

  (theta -> 0 gives back Erlang C). SL and ASA are integrals of g, done with composite
  Simpson on a grid that covers the (log-concave) integrand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Terms below e^-40 (4e-18) of the largest one cannot move a double-precision sum.
_LOG_NEGLIGIBLE = 40.0
_MAX_STATES = 5_000_000
_SIMPSON_INTERVALS = 4000


def _check(servers: int, traffic: float) -> None:
    if servers < 0:
        raise ValueError(f"servers must be >= 0, got {servers}")
    if not traffic >= 0 or math.isinf(traffic):
        raise ValueError(f"traffic must be a finite number >= 0, got {traffic}")


def erlang_b(servers: int, traffic: float) -> float:
    """Blocking probability of ``servers`` trunks offered ``traffic`` Erlangs (M/M/N/N).

    Uses B(0) = 1, B(n) = A B(n-1) / (n + A B(n-1)): every step stays in [0, 1], unlike the
    A^N / N! textbook form that overflows past a few hundred servers.
    """
    _check(servers, traffic)
    b = 1.0
    for n in range(1, servers + 1):
        ab = traffic * b
        b = ab / (n + ab)
    return b


def erlang_c(servers: int, traffic: float) -> float:
    """Probability that an arrival waits (M/M/N); 1.0 when the queue is unstable (A >= N)."""
    _check(servers, traffic)
    if traffic >= servers:
        return 1.0
    b = erlang_b(servers, traffic)
    return servers * b / (servers - traffic * (1.0 - b))


def service_level(servers: int, traffic: float, aht: float, t: float) -> float:
    """Share of calls answered within ``t`` seconds: 1 - Pw exp(-(N - A) t / AHT).

    An unstable queue (A >= N) answers nobody within any finite threshold in the long run.
    """
    if traffic >= servers:
        return 0.0
    pw = erlang_c(servers, traffic)
    return 1.0 - pw * math.exp(-(servers - traffic) * t / aht)


def asa(servers: int, traffic: float, aht: float) -> float:
    """Average speed of answer in seconds: Pw AHT / (N - A); infinite when A >= N."""
    if traffic >= servers:
        return math.inf
    return erlang_c(servers, traffic) * aht / (servers - traffic)


@dataclass(frozen=True, slots=True)
class ErlangA:
    """Steady-state figures of an M/M/N+M queue (probabilities per offered caller)."""

    p_wait: float  # P(all agents busy on arrival)
    p_abandon: float  # P(caller abandons)
    p_answered_within: float  # P(answered with wait <= t), per offered caller
    service_level: float  # answered within t / answered (the Asterisk variant)
    asa: float  # mean wait of answered callers, seconds
    mean_queue_length: float  # E[Lq]


def _logsumexp(values: list[float]) -> float:
    top = max(values)
    return top + math.log(math.fsum(math.exp(v - top) for v in values))


def _simpson(f: list[float], h: float) -> float:
    inner = math.fsum(f[1:-1:2]) * 4.0 + math.fsum(f[2:-1:2]) * 2.0
    return (f[0] + f[-1] + inner) * h / 3.0


def erlang_a(
    servers: int, traffic: float, aht: float, patience: float | None, t: float = 20.0
) -> ErlangA:
    """Erlang A with exponential patience of mean ``patience`` seconds.

    ``patience=None`` (or infinite) is Erlang C; the result is then only defined for A < N.
    """
    _check(servers, traffic)
    if servers < 1:
        raise ValueError("Erlang A needs at least one server")
    if aht <= 0 or t < 0:
        raise ValueError("aht must be > 0 and t >= 0")
    if patience is None or math.isinf(patience):
        return _erlang_c_as_a(servers, traffic, aht, t)
    if patience <= 0:
        raise ValueError(f"patience must be > 0, got {patience}")
    if traffic == 0:
        return ErlangA(0.0, 0.0, 1.0, 1.0, 0.0, 0.0)
    mu, theta = 1.0 / aht, 1.0 / patience
    lam = traffic * mu
    n_mu = servers * mu

    # log pi_n (unnormalised): A^n / n! up to N, then a product of lambda / (N mu + k theta).
    logs = [0.0]
    for n in range(1, servers + 1):
        logs.append(logs[-1] + math.log(traffic / n))
    queue_logs: list[float] = []  # log pi_{N+k}, k >= 1
    current, peak = logs[-1], max(logs)
    k = 0
    while True:
        k += 1
        current += math.log(lam / (n_mu + k * theta))
        queue_logs.append(current)
        peak = max(peak, current)
        # Past the mode the ratio is < 1 and keeps falling: the tail is a dominated geometric.
        if lam < n_mu + k * theta and current < peak - _LOG_NEGLIGIBLE:
            break
        if k > _MAX_STATES:
            raise ValueError("Erlang A state space too large; is patience absurdly long?")
    log_norm = _logsumexp(logs + queue_logs)
    p_queue_states = [math.exp(v - log_norm) for v in queue_logs]
    # Clamped: the sum of rounded terms can overshoot 1 by an ulp or two.
    p_wait = min(1.0, math.exp(logs[-1] - log_norm) + math.fsum(p_queue_states))
    p_immediate = 1.0 - p_wait
    mean_lq = math.fsum(i * p for i, p in enumerate(p_queue_states, start=1))
    p_abandon = min(1.0, theta * mean_lq / lam)

    log_g0 = logs[-1] - log_norm + math.log(n_mu)
    rate, ratio = n_mu + theta, lam / theta

    def log_g(s: float) -> float:
        # -expm1 keeps (1 - e^{-theta s}) exact when theta s is tiny (long patience).
        return log_g0 - rate * s - ratio * math.expm1(-theta * s)

    # log g is concave (second derivative -lambda theta e^{-theta s}); its mode is s_star.
    s_star = max(0.0, math.log(lam / rate) / theta) if lam > rate else 0.0
    top = log_g(s_star)
    s_max = s_star + 1.0 / rate
    while log_g(s_max) > top - _LOG_NEGLIGIBLE:
        s_max = s_star + 2.0 * (s_max - s_star)
    h = s_max / _SIMPSON_INTERVALS
    grid = [i * h for i in range(_SIMPSON_INTERVALS + 1)]
    g = [math.exp(log_g(s)) for s in grid]
    answered_after_wait = _simpson(g, h)
    mean_wait_mass = _simpson([s * v for s, v in zip(grid, g, strict=True)], h)
    t_cut = min(t, s_max)
    ht = t_cut / _SIMPSON_INTERVALS
    within = _simpson([math.exp(log_g(i * ht)) for i in range(_SIMPSON_INTERVALS + 1)], ht)

    answered = min(1.0, p_immediate + answered_after_wait)
    answered_within = min(answered, p_immediate + within)
    return ErlangA(
        p_wait=p_wait,
        p_abandon=p_abandon,
        p_answered_within=answered_within,
        service_level=answered_within / answered if answered > 0 else 0.0,
        asa=mean_wait_mass / answered if answered > 0 else math.inf,
        mean_queue_length=mean_lq,
    )


def _erlang_c_as_a(servers: int, traffic: float, aht: float, t: float) -> ErlangA:
    pw = erlang_c(servers, traffic)
    if traffic >= servers:
        return ErlangA(1.0, 0.0, 0.0, 0.0, math.inf, math.inf)
    sl = service_level(servers, traffic, aht, t)
    mean_lq = pw * traffic / (servers - traffic)
    return ErlangA(pw, 0.0, sl, sl, asa(servers, traffic, aht), mean_lq)
