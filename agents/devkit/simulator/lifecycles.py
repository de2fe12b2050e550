"""Pure samplers: handle times, survey answers, whole ticket lifecycles, arrival rates.

Kept apart from the event loop so the statistical pieces can be tested on their own and the
engine stays a plain heap walk.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ccmon.agents.devkit.simulator.model import HandleTime, Surge, Survey, TicketModel

# The contract rejects single durations above 24 h and ticket-derived times above 7 days as
# absurd; a heavy lognormal tail must not make the simulator emit invalid events.
MAX_SINGLE_SECONDS = 86_000.0
MAX_TICKET_SECONDS = 7 * 86_400.0 - 3600.0


class HandleSampler:
    def __init__(self, spec: HandleTime, rng: random.Random) -> None:
        self.rng = rng
        self.mean = spec.mean_seconds
        self.lognormal = spec.distribution == "lognormal"
        # Match the configured mean and cv: sigma^2 = ln(1 + cv^2), mu = ln(mean) - sigma^2/2.
        self.sigma = math.sqrt(math.log1p(spec.cv * spec.cv))
        self.mu = math.log(spec.mean_seconds) - self.sigma * self.sigma / 2

    def __call__(self) -> float:
        if self.lognormal:
            x = self.rng.lognormvariate(self.mu, self.sigma)
        else:
            x = self.rng.expovariate(1.0 / self.mean)
        return min(x, MAX_SINGLE_SECONDS)


def survey_answers(survey: Survey, rng: random.Random) -> dict[str, int]:
    out: dict[str, int] = {}
    if survey.csat is not None:
        out["csat"] = rng.choices(range(1, 6), survey.csat)[0]
    if survey.nps is not None:
        out["nps"] = rng.choices(range(11), survey.nps)[0]
    if survey.ces is not None:
        out["ces"] = rng.choices(range(1, 8), survey.ces)[0]
    return out


def maybe_survey(
    survey: Survey | None, rng: random.Random, after: float
) -> tuple[float, dict[str, Any]] | None:
    """(time, fields) of a survey answered after a contact finished at ``after``, or None."""
    if survey is None or survey.probability <= 0 or rng.random() >= survey.probability:
        return None
    delay = rng.expovariate(1.0 / survey.delay_seconds) if survey.delay_seconds > 0 else 0.0
    return after + delay, dict(survey_answers(survey, rng))


def ticket_lifecycle(
    model: TicketModel, rng: random.Random, created: float
) -> list[tuple[float, str, dict[str, Any]]]:
    """All (time, type, extra fields) of one ticket, ``created`` first, in time order.

    Resolution delays count from the first response (then from each reopen); each resolution
    is reopened with ``reopen_probability``, at most ``max_reopens`` times. Delays are capped
    so the whole lifecycle stays inside the contract's 7-day limit on derived times.
    """
    limit = created + MAX_TICKET_SECONDS

    def later(base: float, mean: float) -> float:
        return min(base + rng.expovariate(1.0 / mean), limit)

    created_fields: dict[str, Any] = {}
    if model.priorities:
        names = [p for p, _ in model.priorities]
        created_fields["priority"] = rng.choices(names, [w for _, w in model.priorities])[0]
    events: list[tuple[float, str, dict[str, Any]]] = [(created, "created", created_fields)]
    t = later(created, model.first_response_seconds)
    events.append((t, "first_response", {}))
    t = _conversation(model, rng, t, limit, events)
    reopens = 0
    while True:
        t = later(t, model.resolution_seconds)
        first = reopens == 0
        fcr = first and rng.random() < model.first_contact_resolution
        events.append((t, "resolved", {"resolved_first_contact": fcr}))
        if reopens >= model.max_reopens or rng.random() >= model.reopen_probability:
            break
        t = later(t, model.reopen_delay_seconds)
        if t >= limit:
            break
        events.append((t, "reopened", {}))
        reopens += 1
    survey = maybe_survey(model.survey, rng, t)
    if survey is not None and survey[0] < limit:
        events.append((survey[0], "survey", survey[1]))
    return events


def _conversation(
    model: TicketModel,
    rng: random.Random,
    t: float,
    limit: float,
    events: list[tuple[float, str, dict[str, Any]]],
) -> float:
    """Customer messages and agent replies after the first reply (and "pending" set with
    a reply); returns the time of the last reply. Draws nothing when the model has none, so
    configurations without them give the same events as before."""
    if model.exchanges <= 0 and model.pending_probability <= 0:
        return t
    if rng.random() < model.pending_probability:
        events.append((t, "pending", {}))
    # Poisson by inversion: a handful of draws for the small means a desk has.
    n, p, threshold = 0, rng.random(), math.exp(-model.exchanges)
    while p > threshold:
        n += 1
        p *= rng.random()
    for _ in range(n):
        asked = min(t + rng.expovariate(1.0 / model.customer_reply_seconds), limit)
        t = min(asked + rng.expovariate(1.0 / model.first_response_seconds), limit)
        if t >= limit:
            break
        events.append((asked, "customer_replied", {}))
        events.append((t, "agent_replied", {}))
        if rng.random() < model.pending_probability:
            events.append((t, "pending", {}))
    return t


class RateShape:
    """Arrival-rate multiplier over time (daily profile x surges) and its upper bound.

    The engine draws a homogeneous Poisson stream at the bound and keeps each candidate with
    probability multiplier / bound (Lewis-Shedler thinning), exact for piecewise rates.
    """

    def __init__(
        self,
        start: float,
        profile: tuple[float, ...] | None,
        surges: tuple[Surge, ...],
        timezone: str,
    ) -> None:
        self.start = start
        self.profile = profile
        self.surges = surges
        self.tz = None if timezone == "UTC" else ZoneInfo(timezone)
        peak = max(profile) if profile else 1.0
        for s in surges:
            peak *= max(1.0, s.factor)
        self.bound = peak

    def hour(self, abs_t: float) -> int:
        if self.tz is None:
            return int(abs_t % 86_400 // 3600)
        return datetime.fromtimestamp(abs_t, UTC).astimezone(self.tz).hour

    def __call__(self, offset: float) -> float:
        m = self.profile[self.hour(self.start + offset)] if self.profile else 1.0
        for s in self.surges:
            if s.start <= offset < s.end:
                m *= s.factor
        return m
