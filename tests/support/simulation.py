"""Simulator queues for the tests that hold the simulator, the forecast and the worker to
queueing theory: one way to write "a call queue with a fixed staff" (or a chat queue), and
one way to count a simulation with the domain rules in memory (:func:`run_through_domain`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ccmon.agents.devkit.simulator import HandleTime, QueueModel, SimConfig, iter_events
from ccmon.agents.domain.contacts import apply_contact
from ccmon.agents.domain.effects import Effects, StateLimits
from ccmon.agents.domain.staffing import apply_agent, apply_staff
from ccmon.agents.domain.state import PartitionState
from ccmon.agents.readmodel.views import QueueView, ReadModelBuilder
from ccmon.streams.config import QueuePolicy
from ccmon.streams.contract.events import Event, validate


def call_queue(*, handle: float = 180.0, staff: int = 14, **fields: Any) -> QueueModel:
    """Queue ``q``: calls at 200 an hour, ``handle`` seconds each, ``staff`` agents all
    along; ``fields`` sets any other :class:`QueueModel` field (or overrides these)."""
    model: dict[str, Any] = {
        "name": "q",
        "channel": "call",
        "arrivals_per_hour": 200.0,
        "handle_time": HandleTime(handle),
        "agents": ((0.0, staff),),
        **fields,
    }
    return QueueModel(**model)


def chat_queue(
    *, handle: float = 600.0, staff: int = 8, slots: int = 3, **fields: Any
) -> QueueModel:
    """Queue ``c``: chats at 120 an hour, ``handle`` seconds each in a slot, ``staff`` agents
    of ``slots`` chats each all along (A = 20 erlangs on 24 slots by default)."""
    return call_queue(
        handle=handle,
        staff=staff,
        **{
            "name": "c",
            "channel": "chat",
            "arrivals_per_hour": 120.0,
            "concurrency": slots,
            **fields,
        },
    )


@dataclass
class Sample:
    """The read model of the simulated queue at one instant: its view (forecast, windows,
    agents)."""

    at: float
    view: QueueView


@dataclass
class DomainRun:
    """A simulated queue counted by the domain rules in memory, as one worker owning every
    partition would (both agent hops, contacts, the read model), sampled every ``every``
    simulated seconds after ``warmup``. Where an in-process run is an honest check: the
    counting rules, the read model and the forecast are the worker's own code; what it
    leaves out (Kafka, Redis, batching) is covered by tests/integration."""

    samples: list[Sample] = field(default_factory=list)
    events: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)


def run_through_domain(
    model: QueueModel,
    policy: QueuePolicy,
    hours: float,
    *,
    every: float = 300.0,
    warmup: float = 1800.0,
    seed: int = 1,
    start: float = 1_714_550_400.0,
    at_offered: Callable[[float, str, QueueView], None] | None = None,
    offered_every: int = 1,
) -> DomainRun:
    """``at_offered(t, contact_id, view)``, if given, sees the read model just before every
    ``offered_every``-th contact is offered (what a contact arriving then would be told)."""
    import orjson

    state = PartitionState(0)
    limits = StateLimits()
    builder = ReadModelBuilder(lambda c, q: policy, "30m", forecast_refresh_seconds=0.0)
    run = DomainRun()
    due = start + warmup
    pair = (model.channel, model.name)
    config = SimConfig(queues=(model,), seed=seed)
    offered = 0
    for t, channel, raw in iter_events(config, start, hours * 3600.0):
        while t > due:
            run.samples.append(Sample(due, builder.build({0: state}, due).queues[pair]))
            due += every
        run.events.append((t, channel, raw))
        ev = validate(orjson.dumps(raw), channel, t + 1.0)
        assert isinstance(ev, Event), (raw, ev)
        if at_offered is not None and ev.type == "offered" and t > start + warmup:
            offered += 1
            if offered % offered_every == 0:
                at_offered(t, ev.contact_id, builder.build({0: state}, t).queues[pair])
        fx = Effects(state, limits)
        if channel == "agent":
            apply_agent(ev, f"a:{ev.event_id}", fx, 1)
        else:
            apply_contact(ev, fx, policy, t)
        state.merge(fx.writes)
        for records in fx.outbox.values():  # one partition: hop 2 is here too
            for record in records:
                fx2 = Effects(state, limits)
                apply_staff(record, fx2, "UTC", t, policy.max_concurrent)
                state.merge(fx2.writes)
    return run
