"""Tickets: created -> first_response -> resolved (-> reopened -> resolved ...).

Live entries (per queue and ticket id): ``k="t"`` open, with ``t`` the time it
(re)opened, ``c`` the creation time when known and ``fr`` set once answered; ``k="tc"``
closed — kept a day so that a ``created`` delivered after its ``resolved`` does not leave a
phantom open ticket in the backlog.
"""

from __future__ import annotations

from ccmon.agents.domain import buckets as b
from ccmon.agents.domain.effects import TICKET_FRT, TICKET_RESOLUTION, Effects
from ccmon.streams.config import QueuePolicy
from ccmon.streams.contract.events import Event


def apply_ticket(ev: Event, fx: Effects, policy: QueuePolicy, now: float) -> bool:
    """Count one ticket event. Returns True when the event was late."""
    cq, ticket = b.cq_key("ticket", ev.queue), ev.contact_id
    entry = fx.live(cq, ticket)
    is_open = entry is not None and entry.get("k") == "t"
    created = entry.get("c") if is_open and entry is not None else None
    incs: dict[str, float] = {}
    observe: dict[str, float] = {}

    if ev.type == "created":
        incs[b.T_CREATED] = 1
        if entry is None:
            fx.put(cq, ticket, {"k": "t", "t": ev.occurred_at, "c": ev.occurred_at})
    elif ev.type == "first_response":
        incs[b.FR_N] = 1
        if is_open and entry is not None and created is not None and "fr" not in entry:
            frt = max(0.0, ev.occurred_at - float(created))
            incs[b.FR_SUM] = frt
            incs[b.FR_TIMED] = 1
            observe[TICKET_FRT] = frt
            fx.put(cq, ticket, {**entry, "fr": ev.occurred_at})
    elif ev.type == "resolved":
        incs[b.T_RESOLVED] = 1
        if created is not None:
            res = max(0.0, ev.occurred_at - float(created))
            incs[b.T_RES_SUM] = res
            incs[b.T_RES_TIMED] = 1
            observe[TICKET_RESOLUTION] = res
        if ev.resolved_first_contact is not None:
            incs[b.FCR_N] = 1
            incs[b.FCR] = 1 if ev.resolved_first_contact else 0
        fx.put(cq, ticket, {"k": "tc", "t": ev.occurred_at, "c": created})
    elif ev.type == "reopened":
        incs[b.T_REOPENED] = 1
        if not is_open:
            origin = entry.get("c") if entry is not None else None
            fx.put(cq, ticket, {"k": "t", "t": ev.occurred_at, "c": origin})
    else:  # pragma: no cover - validation admits no other type on this channel
        raise ValueError(f"unexpected ticket event type {ev.type!r}")
    return fx.count(ev.channel, ev.queue, ev.occurred_at, now, policy.timezone, incs, observe)
