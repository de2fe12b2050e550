"""The simulated agents of one queue, as agent state events consistent with the engine's
staffing: the schedule logs agents in and out, ``on_break`` agents are not_ready (reason
``break``), a contact puts its agent on_contact, wrap-up is after_contact_work.

The engine counts capacity in slots (agents x concurrency); the pool names the agents behind
them. Invariant: the slots the engine uses are exactly the free capacity of the pool's
serving agents, so ``take`` always finds one when the engine has a free slot. An agent
above a lowered target finishes its contacts first, then logs out (or goes on break).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Emit = Callable[[float, dict[str, Any]], None]

SERVING, BREAK, LEAVING = "serving", "break", "leaving"


class _Agent:
    __slots__ = ("aid", "role", "state", "talking", "wrapping")

    def __init__(self, aid: str) -> None:
        self.aid = aid
        self.role = SERVING
        self.state = ""
        self.talking = 0
        self.wrapping = 0

    @property
    def load(self) -> int:
        return self.talking + self.wrapping


class AgentPool:
    def __init__(self, prefix: str, channel: str, queue: str, concurrency: int, emit: Emit) -> None:
        self.prefix = prefix
        self.channel = channel
        self.queue = queue
        self.concurrency = concurrency
        self.emit = emit
        self.agents: dict[str, _Agent] = {}  # logged in, in login order
        self.spare: list[str] = []  # ids logged out earlier, reused first (the same people)
        self.n_ids = 0

    # -- events --------------------------------------------------------------------------
    def _event(self, now: float, agent: _Agent, type_: str, **fields: Any) -> None:
        self.emit(now, {"type": type_, "agent_id": agent.aid, **fields})

    def _state(self, now: float, agent: _Agent, state: str, **fields: Any) -> None:
        if state != agent.state or state == "on_contact":
            agent.state = state
            if self.concurrency > 1:  # how many of its slots are busy (docs/events.md)
                fields["slots_busy"] = agent.load
            self._event(now, agent, "state_changed", state=state, **fields)

    def _settle(self, now: float, agent: _Agent) -> None:
        """The state an agent's load and role imply, once a contact ended."""
        if agent.talking:
            if self.concurrency > 1:  # still on a contact, one slot fewer busy
                self._state(now, agent, "on_contact", channel=self.channel)
            return
        if agent.wrapping:
            self._state(now, agent, "after_contact_work")
        elif agent.role == LEAVING:
            del self.agents[agent.aid]
            self.spare.append(agent.aid)
            self._event(now, agent, "logged_out")
        elif agent.role == BREAK:
            self._state(now, agent, "not_ready", reason="break")
        else:
            self._state(now, agent, "available")

    # -- staffing ------------------------------------------------------------------------
    def staff(self, now: float, logged_in: int, on_break: int) -> None:
        """Reach ``logged_in`` agents, ``on_break`` of them not ready; idle agents leave or
        pause first, busy ones once their contacts are done."""
        on_break = min(on_break, logged_in)
        present = [a for a in self.agents.values() if a.role != LEAVING]
        while len(present) < logged_in:
            present.append(self._login(now))
        # Idle agents first (a supervisor moves those at once), and among them those already
        # away, so a schedule step does not shuffle who is on break.
        present.sort(key=lambda a: (a.load > 0, a.role == SERVING))
        for i, agent in enumerate(present):
            if i < len(present) - logged_in:
                role = LEAVING
            elif i < len(present) - logged_in + on_break:
                role = BREAK
            else:
                role = SERVING
            if role != agent.role:
                agent.role = role
                self._settle(now, agent)
            elif role == SERVING and not agent.state:
                self._state(now, agent, "available")

    def _login(self, now: float) -> _Agent:
        if self.spare:
            aid = self.spare.pop(0)
        else:
            self.n_ids += 1
            aid = f"{self.prefix}-{self.channel}-{self.queue}-a{self.n_ids}"
        agent = _Agent(aid)
        self.agents[aid] = agent
        queues = [{"channel": self.channel, "queue": self.queue}]
        limit = {"max_concurrent": self.concurrency} if self.concurrency > 1 else {}
        self._event(now, agent, "logged_in", queues=queues, state="available", **limit)
        agent.state = "available"
        return agent

    # -- contacts ------------------------------------------------------------------------
    def take(self, now: float, contact_id: str) -> str:
        """The serving agent with the least load picks the contact up."""
        free = [a for a in self.agents.values() if a.role == SERVING and a.load < self.concurrency]
        if not free:  # pragma: no cover - the engine only serves with a free slot
            raise RuntimeError(f"no free agent in {self.channel} {self.queue}")
        agent = min(free, key=lambda a: a.load)
        agent.talking += 1
        self._state(now, agent, "on_contact", channel=self.channel, contact_id=contact_id)
        return agent.aid

    def talk_end(self, now: float, aid: str, wraps: bool) -> None:
        agent = self.agents[aid]
        agent.talking -= 1
        if wraps:
            agent.wrapping += 1
            self._settle(now, agent)

    def wrap_end(self, now: float, aid: str, wrapped: bool) -> None:
        agent = self.agents[aid]
        if wrapped:
            agent.wrapping -= 1
        self._settle(now, agent)

    def serving_slots(self) -> int:
        return sum(self.concurrency for a in self.agents.values() if a.role == SERVING)
