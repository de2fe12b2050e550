"""Named drills folded into a config before the run.

Each scenario edits the per-queue schedules and surges rather than adding special cases to
the engine, so scenarios compose (a spike during an outage is just both edits) and a
scenario can always be written out by hand in a config file instead.

| name | applies to | ``factor`` means (default) |
|---|---|---|
| normal | nothing | - |
| arrival_spike | calls and chats | arrival-rate multiplier (3) |
| agents_leaving | calls and chats | share of agents that stay (0.5) |
| trunk_outage | calls | share of trunks still working (0.25) |
| ticket_flood | tickets | creation-rate multiplier (10) |
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TypeVar

from ccmon.agents.devkit.simulator.model import QueueModel, Scenario, SimConfig, Surge, TicketModel

T = TypeVar("T")

DEFAULT_FACTORS: dict[str, float] = {
    "arrival_spike": 3.0,
    "agents_leaving": 0.5,
    "trunk_outage": 0.25,
    "ticket_flood": 10.0,
}
SCENARIOS: tuple[str, ...] = ("normal", *DEFAULT_FACTORS)


def value_at(steps: Sequence[tuple[float, T]], offset: float) -> T:
    """Value of a step schedule at ``offset`` (steps sorted, first at 0)."""
    current = steps[0][1]
    for start, value in steps:
        if start > offset:
            break
        current = value
    return current


def rescale(
    steps: Sequence[tuple[float, T]], start: float, end: float, fn: Callable[[T], T]
) -> tuple[tuple[float, T], ...]:
    """Apply ``fn`` to the schedule's values on [start, end), keeping them elsewhere."""
    points = sorted({s for s, _ in steps} | {start} | ({end} if math.isfinite(end) else set()))
    out: list[tuple[float, T]] = []
    for p in points:
        value = value_at(steps, p)
        if start <= p < end:
            value = fn(value)
        if not out or out[-1][1] != value:
            out.append((p, value))
    return tuple(out)


def _window(s: Scenario) -> tuple[float, float]:
    return s.start, math.inf if s.duration is None else s.start + s.duration


def _targets(s: Scenario, name: str) -> bool:
    return s.queues is None or name in s.queues


def _apply_queue(q: QueueModel, s: Scenario, factor: float) -> QueueModel:
    start, end = _window(s)
    if s.name == "arrival_spike":
        return replace(q, surges=(*q.surges, Surge(start, end, factor)))
    if s.name == "agents_leaving":
        return replace(q, agents=rescale(q.agents, start, end, lambda v: int(v * factor)))
    if s.name == "trunk_outage" and q.channel == "call":
        # An unlimited trunk group still has a physical size; take the largest staffing.
        base = max(v for _, v in q.agents) * q.concurrency

        def cut(v: int | None) -> int | None:
            return int((base if v is None else v) * factor)

        return replace(q, trunks=rescale(q.trunks, start, end, cut))
    return q


def _apply_ticket(t: TicketModel, s: Scenario, factor: float) -> TicketModel:
    if s.name == "ticket_flood":
        start, end = _window(s)
        return replace(t, surges=(*t.surges, Surge(start, end, factor)))
    return t


def apply_scenarios(config: SimConfig) -> SimConfig:
    """Fold ``config.scenarios`` into the queue models; the result has no scenarios left."""
    queues, tickets = list(config.queues), list(config.tickets)
    known = {q.name for q in queues} | {t.name for t in tickets}
    for s in config.scenarios:
        if s.name not in SCENARIOS:
            raise ValueError(f"unknown scenario {s.name!r} (known: {', '.join(SCENARIOS)})")
        missing = sorted(set(s.queues or ()) - known)
        if missing:
            raise ValueError(f"scenario {s.name}: unknown queue(s) {', '.join(missing)}")
        if s.name == "normal":
            continue
        factor = DEFAULT_FACTORS[s.name] if s.factor is None else s.factor
        queues = [_apply_queue(q, s, factor) if _targets(s, q.name) else q for q in queues]
        tickets = [_apply_ticket(t, s, factor) if _targets(s, t.name) else t for t in tickets]
    return replace(config, queues=tuple(queues), tickets=tuple(tickets), scenarios=())


def with_scenarios(config: SimConfig, names: Sequence[str]) -> SimConfig:
    """Add scenarios by name (default timing) on top of those the config already has."""
    added = []
    for name in names:
        if name not in SCENARIOS:
            raise ValueError(f"unknown scenario {name!r} (known: {', '.join(SCENARIOS)})")
        added.append(Scenario(name))
    return replace(config, scenarios=(*config.scenarios, *added))
