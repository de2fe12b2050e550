"""Queued contacts — calls and chats share one lifecycle: offered -> one exit (answered,
abandoned, callback requested, flowed out) -> ended, or blocked; after the answer a
transfer or an abandon on hold (:mod:`ccmon.agents.domain.exits`). Pure domain logic over an
:class:`~ccmon.agents.domain.effects.Effects`.

Live entries (per channel x queue and contact id):
``k="w"`` waiting since ``t`` (the offered time); ``k="a"`` an answered chat still waiting
for its first response; ``k="x"`` closed at ``t`` (``e``: its exit was counted) — kept a
while so that an ``offered`` arriving after its own answer (out of order) does not reopen
the contact, and a second exit is not counted; ``k="cb"`` a requested callback.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ccmon.agents.domain import buckets as b
from ccmon.agents.domain.effects import HANDLE, WAIT, Effects
from ccmon.agents.domain.exits import (
    FLAGS,
    NOT_OFFERED,
    QUEUE_EXITS,
    REPEATED,
    Routes,
    after_answer,
    closed,
    exit_counted,
    never_offered,
    offer_seen,
    place_callback,
    reopens,
    request_callback,
    route,
)
from ccmon.streams.config import QueuePolicy
from ccmon.streams.contract.events import Event

# Routing needs the partition count; one partition routes everything to itself (unit tests).
LOCAL = Routes(partitions=1)


def _resolve_wait(ev: Event, entry: Mapping[str, Any] | None) -> float | None:
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
    for name, apart in b.CLOSED_PARTS.items():
        if name in incs:
            incs[apart] = incs[name]


def apply_contact(
    ev: Event,
    fx: Effects,
    policy: QueuePolicy,
    now: float,
    routes: Routes = LOCAL,
) -> bool:
    """Count one call/chat event. Returns True when the event was late. ``routes``: where
    a flow-out or a transfer may offer its contact (ccmon.agents.domain.exits)."""
    cq, contact = b.cq_key(ev.channel, ev.queue), ev.contact_id
    entry = fx.live(cq, contact)
    incs: dict[str, float] = {}
    observe: dict[str, float] = {}
    kind = ev.type

    if kind == "offered":
        incs[b.OFFERED] = 1
        if reopens(entry, ev):
            fx.put(cq, contact, {"k": "w", "t": ev.occurred_at})
            if entry is not None and never_offered(entry):
                incs[NOT_OFFERED] = 1  # the visit it closes had no offer, and now never will
        elif (seen := offer_seen(entry)) is not None:
            fx.put(cq, contact, seen)
        if not policy.hours.always and not policy.hours.is_open(ev.occurred_at):
            incs[b.OFFERED_CLOSED] = 1
    elif kind in QUEUE_EXITS:
        if exit_counted(entry):
            incs[REPEATED] = 1
        else:
            _queue_exit(ev, fx, policy, entry, incs, observe, routes)
    elif kind in FLAGS:
        incs = after_answer(ev, fx, cq, entry, routes)
    elif kind == "callback_placed":
        incs = place_callback(ev, fx, cq)
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
        # An end before its answer (out of order) leaves the exit to be counted.
        fx.put(cq, contact, closed(entry, ev.occurred_at, int(exit_counted(entry))))
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


# The counters of each exit: counted, counted within T.
_EXIT_COUNTERS = {
    "answered": (b.ANSWERED, b.ANSWERED_WITHIN),
    "abandoned": (b.ABANDONED, b.ABANDONED_WITHIN),
    "callback_requested": (b.CALLBACKS, b.CALLBACKS_WITHIN),
    "flowed_out": (b.FLOWED_OUT, b.FLOWED_OUT_WITHIN),
}


def _queue_exit(
    ev: Event,
    fx: Effects,
    policy: QueuePolicy,
    entry: Mapping[str, Any] | None,
    incs: dict[str, float],
    observe: dict[str, float],
    routes: Routes,
) -> None:
    """The first exit of a visit: out of the waiting contacts, into its counters."""
    cq, kind = b.cq_key(ev.channel, ev.queue), ev.type
    wait = _resolve_wait(ev, entry)
    counted, within = _EXIT_COUNTERS[kind]
    incs[counted] = 1
    if kind == "answered" and wait is not None:
        incs[b.WAIT_SUM] = wait
        incs[b.WAIT_N] = 1
        observe[WAIT] = wait
    elif kind == "abandoned" and wait is not None:
        incs[b.ABANDON_WAIT_SUM] = wait  # patience, for the Erlang A forecast
        if policy.is_short_abandon(wait):
            incs[b.ABANDONED_SHORT] = 1
    if wait is None:
        incs[b.WAIT_UNKNOWN] = 1
    elif policy.within(wait):
        incs[within] = 1
    offered_at = entry["t"] if entry is not None and "t" in entry else ev.occurred_at
    if not policy.hours.always:
        _closed_apart(incs, policy, ev.occurred_at - wait if wait is not None else offered_at)
    if kind == "callback_requested":
        request_callback(ev, fx, cq, policy)
    elif kind == "flowed_out":
        incs[b.FLOWED_TO + (ev.destination or "queue")] = 1
        if ev.destination == "queue":
            route(ev, fx, routes, ev.target_queue or "", incs)
    if kind == "answered" and ev.channel == "chat":
        fx.put(cq, ev.contact_id, {**closed(entry, offered_at, 1), "k": "a"})
    else:
        fx.put(cq, ev.contact_id, closed(entry, ev.occurred_at, 1))
