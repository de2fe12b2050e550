"""Discrete-event engine: one heap of timed actions, FIFO queues, contract-shaped events.

Every queue (and ticket queue) draws from its own ``random.Random`` seeded with
``"{seed}:{channel}:{name}"``, so adding a queue to a config does not change the contacts
of the others, and the same seed always yields the same events.

Contacts alive at the end of the horizon are cut off, not drained: the last events look
like a live system (some contacts still waiting or talking), which is what a monitor sees.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

from ccmon.agents.devkit.simulator.lifecycles import (
    HandleSampler,
    RateShape,
    maybe_survey,
    ticket_lifecycle,
)
from ccmon.agents.devkit.simulator.model import QueueModel, SimConfig, TicketModel
from ccmon.agents.devkit.simulator.scenarios import apply_scenarios, value_at
from ccmon.agents.devkit.simulator.staff import AgentPool

Event = dict[str, Any]

# Heap action kinds. Ties at equal time run in push order (a sequence number breaks ties),
# which keeps "offered" before "answered" and a chat's first reply before its end.
_ARRIVAL, _TICKET, _STAFF, _ABANDON, _TALK_END, _WRAP_END, _EMIT, _FLOW_OUT = range(8)
_EPOCH_DATE = date(1970, 1, 1)
_DAYS: dict[int, str] = {}


def format_time(t: float, fmt: str) -> str | int:
    """RFC 3339 UTC with milliseconds (``...T12:00:00.123+00:00``) or epoch milliseconds."""
    ms = round(t * 1000)
    if fmt == "epoch_ms":
        return ms
    # Hand-rolled with a per-day cache: datetime.isoformat was a third of the engine's CPU.
    sec, milli = divmod(ms, 1000)
    day, second_of_day = divmod(sec, 86_400)
    prefix = _DAYS.get(day)
    if prefix is None:
        prefix = _DAYS[day] = (_EPOCH_DATE + timedelta(days=day)).isoformat()
    h, rest = divmod(second_of_day, 3600)
    m, s = divmod(rest, 60)
    return f"{prefix}T{h:02d}:{m:02d}:{s:02d}.{milli:03d}+00:00"


class _Contact:
    __slots__ = ("agent", "arrived", "cid", "q", "state", "talk", "wait")

    def __init__(self, cid: str, q: _Queue, arrived: float) -> None:
        self.agent = ""
        self.cid = cid
        self.q = q
        self.arrived = arrived
        self.state = 0  # 0 waiting, 1 in service, 2 abandoned (or called back, flowed out)
        self.talk = 0.0
        self.wait = 0.0


class _Queue:
    """Mutable state of one call/chat queue."""

    def __init__(self, model: QueueModel, rng: random.Random, shape: RateShape) -> None:
        self.model = model
        self.name = model.name
        self.channel = model.channel
        self.rng = rng
        self.shape = shape
        self.per_hour = model.arrivals_per_hour
        self.handle = HandleSampler(model.handle_time, rng)
        self.slots = max(0, model.agents[0][1] - model.on_break[0][1]) * model.concurrency
        self.pool: AgentPool | None = None
        self.trunks = model.trunks[0][1]
        self.busy = 0  # agent slots taken, wrap-up included
        self.talking = 0  # contacts holding a trunk while being served
        self.waiting: deque[_Contact] = deque()
        self.n_waiting = 0  # the deque also holds abandoned contacts, removed lazily


class _Tickets:
    def __init__(self, model: TicketModel, rng: random.Random, shape: RateShape) -> None:
        self.model = model
        self.rng = rng
        self.shape = shape
        self.per_hour = model.created_per_hour


class Engine:
    def __init__(self, config: SimConfig, start: float, duration: float) -> None:
        if not duration >= 0:
            raise ValueError(f"duration must be >= 0, got {duration}")
        self.config = config = apply_scenarios(config)
        self.start = start
        self.horizon = duration  # offsets beyond it are never emitted
        self.fmt = config.time_format
        self.run_id = config.run_id or f"{config.seed}-{round(start * 1000)}"
        self.heap: list[tuple[float, int, int, Any]] = []
        self.seq = 0
        self.n_events = 0
        self.n_contacts = 0
        self.out: list[tuple[float, str, Event]] = []
        self.queues: list[_Queue] = []
        self.by_name: dict[tuple[str, str], _Queue] = {}
        for m in config.queues:
            rng = random.Random(f"{config.seed}:{m.channel}:{m.name}")
            q = _Queue(m, rng, RateShape(start, m.daily_profile, m.surges, config.timezone))
            self.queues.append(q)
            self.by_name[(m.channel, m.name)] = q
            if config.agent_events:
                q.pool = AgentPool(self.run_id, m.channel, m.name, m.concurrency, self._agent)
                q.pool.staff(0.0, m.agents[0][1], m.on_break[0][1])
            self._next_arrival(0.0, _ARRIVAL, q)
            changes = {o for o, _ in m.agents[1:]} | {o for o, _ in m.trunks[1:]}
            changes |= {o for o, _ in m.on_break[1:]}
            for offset in sorted(changes):
                self._push(offset, _STAFF, q)
        for t in config.tickets:
            rng = random.Random(f"{config.seed}:ticket:{t.name}")
            shape = RateShape(start, t.daily_profile, t.surges, config.timezone)
            self._next_arrival(0.0, _TICKET, _Tickets(t, rng, shape))

    # -- plumbing ------------------------------------------------------------------------
    def _push(self, offset: float, kind: int, ref: Any) -> None:
        if offset <= self.horizon:
            self.seq += 1
            heapq.heappush(self.heap, (offset, self.seq, kind, ref))

    def _next_arrival(self, now: float, kind: int, src: _Queue | _Tickets) -> None:
        shape, rng = src.shape, src.rng
        bound = src.per_hour / 3600.0 * shape.bound
        if bound <= 0:
            return
        t = now
        while True:
            t += rng.expovariate(bound)
            if t > self.horizon:
                return
            if rng.random() * shape.bound < shape(t):
                self._push(t, kind, src)
                return

    def _event(self, offset: float, type_: str, queue: str, cid: str, **fields: Any) -> Event:
        return {
            "event_id": "",  # numbered when emitted, so ids follow emission order
            "type": type_,
            "occurred_at": format_time(self.start + offset, self.fmt),
            "queue": queue,
            "contact_id": cid,
            "schema_version": 1,
            **fields,
        }

    def _emit(self, offset: float, channel: str, event: Event) -> None:
        self.n_events += 1
        event["event_id"] = f"{self.run_id}-{self.n_events}"
        self.out.append((self.start + offset, channel, event))

    def _agent(self, offset: float, fields: Event) -> None:
        event = {
            "event_id": "",
            "occurred_at": format_time(self.start + offset, self.fmt),
            "schema_version": 1,
            **fields,
        }
        self._emit(offset, "agent", event)

    def _later(self, offset: float, channel: str, event: Event) -> None:
        self._push(offset, _EMIT, (channel, event))

    def _new_id(self, channel: str) -> str:
        self.n_contacts += 1
        return f"{self.run_id}-{channel}{self.n_contacts}"

    # -- calls and chats -----------------------------------------------------------------
    def _arrival(self, now: float, q: _Queue) -> None:
        m = q.model
        self._next_arrival(now, _ARRIVAL, q)
        cid = self._new_id(q.channel)
        reason = None
        if q.slots == 0:
            reason = "no_agents"
        elif q.trunks is not None and q.talking + q.n_waiting >= q.trunks:
            reason = "trunks_busy"
        elif q.busy >= q.slots and m.queue_size is not None and q.n_waiting >= m.queue_size:
            reason = "queue_full"
        if reason is not None:
            ev = self._event(now, "blocked", q.name, cid, reason=reason)
            self._emit(now, q.channel, ev)
            return
        self._emit(now, q.channel, self._event(now, "offered", q.name, cid))
        self._enter(now, q, cid)

    def _enter(self, now: float, q: _Queue, cid: str) -> None:
        """The contact waits in ``q`` (or is served at once): offered there, or routed
        there by a flow-out or a transfer (ccmon offers those itself)."""
        m = q.model
        c = _Contact(cid, q, now)
        if q.busy < q.slots and q.n_waiting == 0:
            self._serve(now, c)
            return
        q.waiting.append(c)
        q.n_waiting += 1
        if m.patience_seconds is not None:
            self._push(now + q.rng.expovariate(1.0 / m.patience_seconds), _ABANDON, c)
        if m.exits.flow_out_after_seconds is not None:
            self._push(now + m.exits.flow_out_after_seconds, _FLOW_OUT, c)

    def _serve(self, now: float, c: _Contact) -> None:
        q = c.q
        c.state = 1
        c.wait = now - c.arrived
        c.talk = q.handle()
        q.busy += 1
        q.talking += 1
        if q.pool is not None:
            c.agent = q.pool.take(now, c.cid)
        wait = round(c.wait, 3)
        ev = self._event(now, "answered", q.name, c.cid, wait_seconds=wait)
        self._emit(now, q.channel, ev)
        if q.channel == "chat":
            delay = min(q.rng.expovariate(1.0 / q.model.first_response_seconds), c.talk)
            response = round(c.wait + delay, 3)
            ev = self._event(
                now + delay, "first_response", q.name, c.cid, response_seconds=response
            )
            self._later(now + delay, "chat", ev)
        self._push(now + c.talk, _TALK_END, c)

    def _dispatch(self, now: float, q: _Queue) -> None:
        while q.n_waiting and q.busy < q.slots:
            c = q.waiting.popleft()
            if c.state == 0:
                q.n_waiting -= 1
                self._serve(now, c)

    def _abandon(self, now: float, c: _Contact) -> None:
        if c.state != 0:
            return
        q = c.q
        self._leave(c)
        wait = round(now - c.arrived, 3)
        exits = q.model.exits
        if exits.callback > 0 and q.rng.random() < exits.callback:
            # Asked to be called back instead of hanging up: a contact of its own, placed
            # later by a dialer.
            promise = exits.callback_within_seconds
            fields = {} if promise is None else {"callback_within_seconds": promise}
            ev = self._event(now, "callback_requested", q.name, c.cid, wait_seconds=wait, **fields)
            self._emit(now, q.channel, ev)
            placed = now + q.rng.expovariate(1.0 / exits.callback_delay_seconds)
            self._later(placed, q.channel, self._event(placed, "callback_placed", q.name, c.cid))
            return
        self._emit(now, q.channel, self._event(now, "abandoned", q.name, c.cid, wait_seconds=wait))

    def _leave(self, c: _Contact) -> None:
        q = c.q
        c.state = 2
        q.n_waiting -= 1
        # Drop abandoned heads now so the deque does not grow with dead entries.
        while q.waiting and q.waiting[0].state != 0:
            q.waiting.popleft()

    def _flow_out(self, now: float, c: _Contact) -> None:
        if c.state != 0:
            return
        q = c.q
        self._leave(c)
        target = q.model.exits.flow_out_to
        where = {"destination": "voicemail"}
        if target is not None:
            where = {"destination": "queue", "target_queue": target}
        wait = round(now - c.arrived, 3)
        ev = self._event(now, "flowed_out", q.name, c.cid, wait_seconds=wait, **where)
        self._emit(now, q.channel, ev)
        if target is not None:
            self._enter(now, self.by_name[(q.channel, target)], c.cid)

    def _talk_end(self, now: float, c: _Contact) -> None:
        exits = c.q.model.exits
        if exits.hold_abandon > 0 and c.q.rng.random() < exits.hold_abandon:
            ev = self._event(now, "abandoned_on_hold", c.q.name, c.cid)
            self._emit(now, c.q.channel, ev)
        elif exits.transfer > 0 and c.q.rng.random() < exits.transfer:
            target = exits.transfer_to or c.q.name
            ev = self._event(now, "transferred", c.q.name, c.cid, target_queue=target)
            self._emit(now, c.q.channel, ev)
            self._enter(now, self.by_name[(c.q.channel, target)], c.cid)
        c.q.talking -= 1
        if c.q.pool is not None:
            c.q.pool.talk_end(now, c.agent, c.q.model.wrap_seconds > 0)
        if c.q.model.wrap_seconds > 0:
            self._push(now + c.q.model.wrap_seconds, _WRAP_END, c)
        else:
            self._wrap_end(now, c)

    def _wrap_end(self, now: float, c: _Contact) -> None:
        q = c.q
        m = q.model
        q.busy -= 1
        if q.pool is not None:
            q.pool.wrap_end(now, c.agent, m.wrap_seconds > 0)
        fcr = q.rng.random() < m.first_contact_resolution
        ev = self._event(
            now,
            "ended",
            q.name,
            c.cid,
            talk_seconds=round(c.talk, 3),
            hold_seconds=0.0,
            wrap_seconds=round(m.wrap_seconds, 3),
            resolved_first_contact=fcr,
        )
        self._emit(now, q.channel, ev)
        survey = maybe_survey(m.survey, q.rng, now)
        if survey is not None:
            t, answers = survey
            self._later(t, q.channel, self._event(t, "survey", q.name, c.cid, **answers))
        self._dispatch(now, q)

    def _staff(self, now: float, q: _Queue) -> None:
        # Agents above the new target finish their contact first: ``busy`` may exceed
        # ``slots`` for a while and nobody new is served until it drops below.
        agents, on_break = value_at(q.model.agents, now), value_at(q.model.on_break, now)
        q.slots = max(0, agents - on_break) * q.model.concurrency
        if q.pool is not None:
            q.pool.staff(now, agents, on_break)
        q.trunks = value_at(q.model.trunks, now)
        self._dispatch(now, q)

    # -- tickets -------------------------------------------------------------------------
    def _ticket(self, now: float, src: _Tickets) -> None:
        model, rng = src.model, src.rng
        self._next_arrival(now, _TICKET, src)
        cid = self._new_id("ticket")
        for i, (t, type_, fields) in enumerate(ticket_lifecycle(model, rng, now)):
            ev = self._event(t, type_, model.name, cid, **fields)
            if i == 0:
                self._emit(t, "ticket", ev)
            else:
                self._later(t, "ticket", ev)

    # -- main loop -----------------------------------------------------------------------
    def run(self) -> Iterator[tuple[float, str, Event]]:
        heap, out = self.heap, self.out
        handlers: dict[int, Callable[[float, Any], None]] = {
            _ARRIVAL: self._arrival,
            _TICKET: self._ticket,
            _STAFF: self._staff,
            _ABANDON: self._abandon,
            _TALK_END: self._talk_end,
            _WRAP_END: self._wrap_end,
            _FLOW_OUT: self._flow_out,
        }
        while heap:
            now, _, kind, ref = heapq.heappop(heap)
            if kind == _EMIT:
                self._emit(now, ref[0], ref[1])
            else:
                handlers[kind](now, ref)
            if out:
                yield from out
                out.clear()


def iter_events(
    config: SimConfig, start: float, duration: float
) -> Iterator[tuple[float, str, Event]]:
    """Simulate ``duration`` seconds (``math.inf`` = forever) from epoch second ``start``.

    Yields (event time as epoch seconds, channel "call"/"chat"/"ticket"/"agent", event dict) in
    event-time order; the dicts follow docs/architecture.md and are JSON-serialisable.
    """
    if math.isnan(start) or math.isinf(start):
        raise ValueError("start must be a finite epoch time")
    return Engine(config, start, duration).run()
