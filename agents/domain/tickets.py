"""Tickets (e-mails and letters too): created -> replies, customer messages, pending ->
resolved (-> reopened -> resolved ...), and their promises in business time.

Live entries (per queue and ticket id): ``k="t"`` open, with ``t`` the time it
(re)opened, ``c`` the creation time when known and ``fr`` set once answered; ``k="tc"``
closed — kept a day so that a ``created`` delivered after its ``resolved`` does not leave a
phantom open ticket in the backlog; ``k="tu"`` a ticket whose creation has not been seen yet
(its replies wait for it, so that a ``created`` delivered late still finds them).

Every entry keeps the ticket's promise history (``h``) and what was judged from it
(:mod:`ccmon.agents.domain.promises`): ``o`` the decided outcomes, ``d`` the promises still
running with their deadlines, ``b`` the promises counted breached on /metrics already.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ccmon.agents.domain import buckets as b
from ccmon.agents.domain import promises as pr
from ccmon.agents.domain.effects import TICKET_FRT, TICKET_RESOLUTION, TOTALS, Effects
from ccmon.streams.config import QueuePolicy
from ccmon.streams.contract.events import Event

# Counter names: agent replies, customer messages, times set pending.
T_REPLIES = "t_replies"
T_CUSTOMER = "t_customer"
T_PENDING = "t_pending"
MET, MISSED, BREACHED = pr.MET, pr.MISSED, pr.BREACHED


def apply_ticket(ev: Event, fx: Effects, policy: QueuePolicy, now: float) -> bool:
    """Count one ticket event. Returns True when the event was late."""
    cq, ticket = b.cq_key("ticket", ev.queue), ev.contact_id
    entry = fx.live(cq, ticket)
    kind = entry.get("k") if entry is not None else None
    is_open = kind == "t"
    created = entry.get("c") if is_open and entry is not None else None
    incs: dict[str, float] = {}
    observe: dict[str, float] = {}
    new: Mapping[str, Any] | None = entry
    typ = ev.type

    if typ == "created":
        incs[b.T_CREATED] = 1
        if entry is None or kind == "tu":
            new = {**(entry or {}), "k": "t", "t": ev.occurred_at, "c": ev.occurred_at}
    elif typ in ("first_response", "agent_replied"):
        first = is_open and entry is not None and "fr" not in entry
        if typ == "first_response" or first:
            incs[b.FR_N] = 1
        if typ == "agent_replied":
            incs[T_REPLIES] = 1
        if first and entry is not None and created is not None:
            frt = max(0.0, ev.occurred_at - float(created))
            incs[b.FR_SUM] = frt
            incs[b.FR_TIMED] = 1
            observe[TICKET_FRT] = frt
            new = {**entry, "fr": ev.occurred_at}
    elif typ == "resolved":
        incs[b.T_RESOLVED] = 1
        if created is not None:
            res = max(0.0, ev.occurred_at - float(created))
            incs[b.T_RES_SUM] = res
            incs[b.T_RES_TIMED] = 1
            observe[TICKET_RESOLUTION] = res
        if ev.resolved_first_contact is not None:
            incs[b.FCR_N] = 1
            incs[b.FCR] = 1 if ev.resolved_first_contact else 0
        new = {**(entry or {}), "k": "tc", "t": ev.occurred_at, "c": created}
    elif typ == "reopened":
        incs[b.T_REOPENED] = 1
        if not is_open:
            origin = entry.get("c") if entry is not None else None
            new = {**(entry or {}), "k": "t", "t": ev.occurred_at, "c": origin}
    elif typ == "customer_replied":
        incs[T_CUSTOMER] = 1
    elif typ == "pending":
        incs[T_PENDING] = 1
    elif typ != "resumed":  # pragma: no cover - validation admits no other type here
        raise ValueError(f"unexpected ticket event type {typ!r}")

    if new is None:  # not seen created yet: remember its events for when it is
        new = {"k": "tu", "t": ev.occurred_at}
    history = list(new.get("h", ()))
    if len(history) < pr.MAX_HISTORY:
        history = pr.insert(history, ev.occurred_at, pr.KIND_OF_TYPE[typ])
    new = {**new, "h": history}
    _judge(fx, cq, ev.queue, new, policy, now)
    fx.put(cq, ticket, new)
    return fx.count(ev.channel, ev.queue, ev.occurred_at, now, policy, incs, observe)


def _judge(
    fx: Effects, cq: str, queue: str, entry: dict[str, Any], policy: QueuePolicy, now: float
) -> None:
    """Judge the entry's promises again; count what changed (``entry`` is updated)."""
    judged = pr.judge(entry["h"], policy)
    before: dict[str, list[float]] = entry.get("o", {})
    after = {k: [1.0 if s.met else 0.0, s.at] for k, s in judged.settled.items()}
    breached = list(entry.get("b", ()))
    totals: dict[str, float] = {}
    for instance in sorted(before.keys() | after.keys()):
        old, new = before.get(instance), after.get(instance)
        if old == new:
            continue
        code = pr.CODES[pr.promise_of(instance)]
        # The interval records: the exact account, the old outcome taken back.
        if old is not None:
            fx.period(cq, old[1], now, policy, {(MET if old[0] else MISSED) + code: -1})
        if new is not None:
            fx.period(cq, new[1], now, policy, {(MET if new[0] else MISSED) + code: 1})
        # /metrics counters: the first judgement only (a counter never goes down).
        if old is None and new is not None and instance not in breached:
            totals[(MET if new[0] else BREACHED) + code] = 1
            if not new[0]:
                breached.append(instance)
    if totals:
        fx.add(TOTALS, cq, totals)
    entry["o"] = after
    running = {k: [r.deadline, r.at_risk] for k, r in judged.running.items()}
    # A running promise past its deadline is missed in the record of that deadline's
    # period: one that moved (a late pause, a late reply) revises the periods concerned.
    held: dict[str, list[float | None]] = entry.get("d", {})
    for instance in held.keys() | running.keys():
        old_due = (held.get(instance) or [None])[0]
        new_due = (running.get(instance) or [None])[0]
        if old_due != new_due:
            for due in (old_due, new_due):
                if due is not None:
                    fx.touch(cq, float(due), policy)
    entry["d"] = running
    entry["b"] = breached
    if not entry["o"]:
        del entry["o"]
    if not entry["d"]:
        del entry["d"]
    if not breached:
        del entry["b"]


def count_breaches(
    fx: Effects, cq: str, entries: Mapping[str, Mapping[str, Any]], now: float
) -> int:
    """The expiry tick's part: running promises whose deadline ``now`` has passed are
    counted breached on /metrics once (their reply may come much later, or never)."""
    counted: dict[str, float] = {}
    for ticket, entry in entries.items():
        running = entry.get("d")
        if not running:
            continue
        breached = list(entry.get("b", ()))
        fresh = [
            k for k, (deadline, _) in running.items()
            if deadline is not None and deadline < now and k not in breached
        ]  # fmt: skip
        if not fresh:
            continue
        for instance in fresh:
            name = BREACHED + pr.CODES[pr.promise_of(instance)]
            counted[name] = counted.get(name, 0.0) + 1
        fx.put(cq, ticket, {**entry, "b": breached + fresh})
    if counted:
        fx.add(TOTALS, cq, counted)
    return int(sum(counted.values()))
