"""Queued contacts — calls and chats share one lifecycle: offered -> answered | abandoned
-> ended, or blocked. Pure domain logic over an :class:`~ccmon.agents.domain.effects.Effects`.

Live entries (per channel x queue and contact id):
``k="w"`` waiting since ``t`` (the offered time); ``k="a"`` an answered chat still waiting
for its first response; ``k="x"`` closed — kept a while so that an ``offered`` arriving
after its own answer (out of order) does not reopen the contact.
"""

from __future__ import annotations

from typing import Any

from ccmon.agents.domain import buckets as b
from ccmon.agents.domain.effects import HANDLE, WAIT, Effects
from ccmon.streams.config import QueuePolicy
from ccmon.streams.contract.events import Event


def _resolve_wait(ev: Event, entry: dict[str, Any] | None) -> float | None:
    """The documented policy: the event's own wait_seconds, else event time minus the
    offered time when this worker saw the offer, else unknown."""
    if ev.wait_seconds is not None:
        return ev.wait_seconds
    if entry is not None and entry.get("k") == "w":
        return max(0.0, ev.occurred_at - float(entry["t"]))
    return None


def _closed_apart(incs: dict[str, float], policy: QueuePolicy, offered_at: float) -> None:
    """Also count an outcome apart when its contact was offered while the queue was closed
    (the offer time: the wait before the outcome, else the offer seen)."""
    if policy.hours.is_open(offered_at):
        return
    for name, closed in b.CLOSED_PARTS.items():
        if name in incs:
            incs[closed] = incs[name]


def apply_contact(ev: Event, fx: Effects, policy: QueuePolicy, now: float) -> bool:
    """Count one call/chat event. Returns True when the event was late."""
    cq, contact = b.cq_key(ev.channel, ev.queue), ev.contact_id
    entry = fx.live(cq, contact)
    incs: dict[str, float] = {}
    observe: dict[str, float] = {}
    kind = ev.type

    if kind == "offered":
        incs[b.OFFERED] = 1
        if entry is None:
            fx.put(cq, contact, {"k": "w", "t": ev.occurred_at})
        if not policy.hours.always and not policy.hours.is_open(ev.occurred_at):
            incs[b.OFFERED_CLOSED] = 1
    elif kind in ("answered", "abandoned"):
        wait = _resolve_wait(ev, entry)
        if kind == "answered":
            incs[b.ANSWERED] = 1
            if wait is not None:
                incs[b.WAIT_SUM] = wait
                incs[b.WAIT_N] = 1
                observe[WAIT] = wait
        else:
            incs[b.ABANDONED] = 1
            if wait is not None:
                incs[b.ABANDON_WAIT_SUM] = wait  # patience, for the Erlang A forecast
                if policy.is_short_abandon(wait):
                    incs[b.ABANDONED_SHORT] = 1
        if wait is None:
            incs[b.WAIT_UNKNOWN] = 1
        elif policy.within(wait):
            incs[b.ANSWERED_WITHIN if kind == "answered" else b.ABANDONED_WITHIN] = 1
        offered_at = entry["t"] if entry is not None and "t" in entry else ev.occurred_at
        if not policy.hours.always:
            _closed_apart(incs, policy, ev.occurred_at - wait if wait is not None else offered_at)
        if kind == "answered" and ev.channel == "chat":
            fx.put(cq, contact, {"k": "a", "t": offered_at})
        else:
            fx.put(cq, contact, {"k": "x", "t": ev.occurred_at})
    elif kind == "blocked":
        incs[b.BLOCKED] = 1
        incs[b.BLOCKED_BY + (ev.reason or "other")] = 1
    elif kind == "ended":
        handle = (ev.talk_seconds or 0.0) + (ev.hold_seconds or 0.0) + (ev.wrap_seconds or 0.0)
        incs[b.ENDED] = 1
        incs[b.HANDLE_SUM] = handle
        observe[HANDLE] = handle
        if ev.resolved_first_contact is not None:
            incs[b.FCR_N] = 1
            incs[b.FCR] = 1 if ev.resolved_first_contact else 0
        fx.put(cq, contact, {"k": "x", "t": ev.occurred_at})
    elif kind == "first_response":
        frt = ev.response_seconds
        if frt is None and entry is not None and entry.get("k") in ("w", "a"):
            frt = max(0.0, ev.occurred_at - float(entry["t"]))
        incs[b.FR_N] = 1
        if frt is not None:
            incs[b.FR_SUM] = frt
            incs[b.FR_TIMED] = 1
    else:  # pragma: no cover - validation admits no other type on these channels
        raise ValueError(f"unexpected contact event type {kind!r}")
    return fx.count(ev.channel, ev.queue, ev.occurred_at, now, policy, incs, observe)
