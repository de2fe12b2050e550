"""Ticket, e-mail and letter promises in business time: first reply, next reply, resolution.

A ticket's promise-relevant events are kept in its live entry as a history sorted by event
time, and every promise is judged from the whole history each time it changes: the outcome
is a function of the events, not of the order they arrived in, so a late or out-of-order
event gives the same answer as an ordered stream (and a replay gives the same records).

The rules (docs/metrics.md, "Ticket promises", says where Zendesk and Zammad differ and why):

- **first reply**: from creation to the first agent reply (``first_response`` or
  ``agent_replied``); a reply stamped before the creation is an immediate reply (0 s: the
  clock is never negative).
- **next reply**: from a customer message that follows an agent reply (or from the oldest of
  several unanswered ones) to the next agent reply. A customer message before any agent
  reply is covered by the first reply promise.
- **resolution**: from creation to the first resolution, paused while the ticket is pending
  (``pending`` until ``resumed``, or a customer message). A reopened ticket starts no new
  resolution promise: the customer message that reopens it starts a next reply promise.
- A resolution also answers a reply that is due: the customer got an answer.
- Every clock runs in the business hours of the queue's calendar only. Reply promises are
  not paused by ``pending``: only a reply keeps them.

An outcome is decided when it becomes known: **met** at the reply or resolution that came
within the promise, **missed** at the instant the promise fell due (its deadline), whether
the reply came later or has not come yet. Each promise is counted once.
"""

from __future__ import annotations

from dataclasses import dataclass

from ccmon.streams.calendar import BusinessHours
from ccmon.streams.policy import QueuePolicy

FIRST_REPLY, NEXT_REPLY, RESOLUTION = "first_reply", "next_reply", "resolution"
PROMISES = (FIRST_REPLY, NEXT_REPLY, RESOLUTION)
CODES = {FIRST_REPLY: "fr", NEXT_REPLY: "nr", RESOLUTION: "rs"}  # in counter names

# History kinds, and their order at one instant: a reply and "pending" sent together are a
# reply first; a resolution and a reopening, the resolution first.
CREATED, CUSTOMER, RESUMED, REPLY, PENDING, SOLVED, REOPENED = "c", "m", "u", "r", "p", "s", "o"
_ORDER = {CREATED: 0, CUSTOMER: 1, RESUMED: 2, REPLY: 3, PENDING: 4, SOLVED: 5, REOPENED: 6}
KIND_OF_TYPE = {
    "created": CREATED,
    "customer_replied": CUSTOMER,
    "resumed": RESUMED,
    "first_response": REPLY,
    "agent_replied": REPLY,
    "pending": PENDING,
    "resolved": SOLVED,
    "reopened": REOPENED,
}
# Outcome counters, + a promise code (fr, nr, rs): met / missed in the interval buckets
# (exact, revised by late events), met / breached in the totals (the /metrics counters,
# which never decrease).
MET, MISSED, BREACHED = "pm:", "px:", "pb:"
MAX_HISTORY = 500  # events of one ticket kept for its promises; more are counted, not timed

History = list[list[float | str]]  # [[event time, kind], ...], sorted


def insert(history: History, ts: float, kind: str) -> History:
    """The history with one more event, in order (a copy: entries are values)."""
    item: list[float | str] = [ts, kind]
    out = [*history, item]
    out.sort(key=lambda e: (float(e[0]), _ORDER[str(e[1])]))
    return out


@dataclass(frozen=True)
class Settled:
    met: bool
    at: float  # the reply or resolution if met, the deadline if missed


@dataclass(frozen=True)
class Running:
    deadline: float | None  # None: paused, or no business time left in the calendar
    at_risk: float | None  # from when it has at most at_risk_seconds of business time left


@dataclass
class Judgement:
    """Every promise of one ticket: decided ones and the ones still running, by instance
    (``fr``, ``rs``, ``nr:<n>`` for the n-th next reply)."""

    settled: dict[str, Settled]
    running: dict[str, Running]


def promise_of(instance: str) -> str:
    return {"fr": FIRST_REPLY, "rs": RESOLUTION}.get(instance, NEXT_REPLY)


def _target(policy: QueuePolicy, instance: str) -> float:
    promise = promise_of(instance)
    if promise == FIRST_REPLY:
        return policy.first_response_target_seconds
    if promise == NEXT_REPLY:
        return policy.next_reply_target_seconds
    return policy.resolution_target_seconds


class _Clock:
    """One promise's business clock: segments of running time, a budget, a deadline."""

    def __init__(self, hours: BusinessHours, target: float, start: float) -> None:
        self.hours = hours
        self.target = target
        self.used = 0.0
        self.since: float | None = start  # running since; None while paused
        self.due: float | None = None  # set once the budget ran out

    def run(self, ts: float) -> None:
        if self.since is None:
            self.since = ts

    def pause(self, ts: float) -> None:
        if self.since is not None and self.due is None:
            self.due = self._deadline_before(ts)
            if self.due is None:
                self.used += self.hours.business_seconds(self.since, ts)
            self.since = None

    def _deadline_before(self, ts: float) -> float | None:
        assert self.since is not None
        end = self.hours.add(self.since, self.target - self.used)
        return end if end is not None and end < ts else None

    def settle(self, ts: float, instance: str, into: Judgement) -> None:
        if self.due is None and self.since is not None:
            self.due = self._deadline_before(ts)
        if self.due is not None:
            into.settled[instance] = Settled(False, self.due)
        else:
            into.settled[instance] = Settled(True, ts)

    def leave_running(self, instance: str, policy: QueuePolicy, into: Judgement) -> None:
        if self.due is not None:
            into.settled[instance] = Settled(False, self.due)  # missed; no reply yet
            into.running[instance] = Running(self.due, None)
            return
        if self.since is None:
            into.running[instance] = Running(None, None)
            return
        left = self.target - self.used
        deadline = self.hours.add(self.since, left)
        margin = max(0.0, left - policy.at_risk_seconds)
        risk = self.hours.add(self.since, margin, first=True)
        into.running[instance] = Running(deadline, risk if deadline is not None else None)


def judge(history: History, policy: QueuePolicy) -> Judgement:
    """Every promise of a ticket from its history. A missed promise that is still running
    (no reply yet) is in both maps: settled as missed at its deadline, and running (so the
    gauges still count it open and overdue)."""
    out = Judgement({}, {})
    hours = policy.hours
    created: float | None = None
    early_reply = False
    first: _Clock | None = None
    resolution: _Clock | None = None
    next_reply: tuple[str, _Clock] | None = None
    replied = False  # an agent reply after creation: next replies can start
    count = 0
    for item in history:
        ts, kind = float(item[0]), str(item[1])
        if kind == CREATED:
            if created is not None:
                continue  # a second "created": the first one counts
            created = ts
            first = _Clock(hours, _target(policy, "fr"), ts)
            resolution = _Clock(hours, _target(policy, "rs"), ts)
            if early_reply:  # a reply stamped before the creation: an immediate reply
                first.settle(ts, "fr", out)
                first, replied = None, True
            continue
        if kind in (REPLY, SOLVED):
            if created is None:
                early_reply = early_reply or kind == REPLY
            if first is not None:
                first.settle(ts, "fr", out)
                first = None
            if next_reply is not None:
                next_reply[1].settle(ts, next_reply[0], out)
                next_reply = None
            replied = replied or created is not None
            if kind == SOLVED and resolution is not None:
                resolution.settle(ts, "rs", out)
                resolution = None
        elif kind == CUSTOMER:
            if replied and next_reply is None:
                count += 1
                key = f"nr:{count}"
                next_reply = (key, _Clock(hours, _target(policy, key), ts))
            if resolution is not None:
                resolution.run(ts)
        elif kind == RESUMED and resolution is not None:
            resolution.run(ts)
        elif kind == PENDING and resolution is not None:
            resolution.pause(ts)
        # REOPENED: no new promise (see the module's rules); its customer message starts one.
    for key, clock in (("fr", first), ("rs", resolution)):
        if clock is not None:
            clock.leave_running(key, policy, out)
    if next_reply is not None:
        next_reply[1].leave_running(next_reply[0], policy, out)
    return out
