"""Contacts offered while their queue is closed are counted apart and, by default, left out
of its service level (docs/metrics.md, "Business hours")."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from ccmon.agents.domain import buckets as b
from ccmon.agents.domain.contacts import apply_contact
from ccmon.agents.domain.effects import Effects, StateLimits
from ccmon.agents.domain.servicelevel import queue_parts
from ccmon.agents.domain.state import PartitionState
from ccmon.streams.calendar import BusinessHours
from ccmon.streams.config import QueuePolicy
from ccmon.streams.contract.events import Event

OFFICE = BusinessHours("Europe/Paris", ((((540, 1020),),) * 5) + ((), ()), name="office")
POLICY = QueuePolicy(
    threshold_seconds=20, timezone="Europe/Paris", calendar="office", hours=OFFICE,
    profile="answered_abandoned",
)  # fmt: skip


def at(hour: int, minute: int = 0, second: int = 0) -> float:
    return datetime(2026, 12, 7, hour, minute, second, tzinfo=ZoneInfo("Europe/Paris")).timestamp()


def count(policy: QueuePolicy, events: list[Event]) -> dict[str, float]:
    state = PartitionState(0)
    for e in events:
        fx = Effects(state, StateLimits())
        apply_contact(e, fx, policy, e.occurred_at)
        state.merge(fx.writes)
    return state.totals["call|q"]


def ev(kind: str, t: float, contact: str, **kw: float) -> Event:
    return Event(f"{kind}-{contact}", "call", kind, t, "q", contact, **kw)  # type: ignore[arg-type]


EVENTS = [
    ev("offered", at(8, 58), "early"),  # before opening: closed
    ev("answered", at(9, 0, 10), "early"),  # answered after opening, 70 s: offered closed
    ev("answered", at(8, 59, 55), "unseen", wait_seconds=10.0),  # its offer not seen: 08:59:45
    ev("abandoned", at(17, 0, 5), "late", wait_seconds=8.0),  # offered 16:59:57: open
    ev("offered", at(10, 0), "open"),
    ev("answered", at(10, 0, 5), "open"),
]


def test_closed_contacts_are_counted_apart_and_out_of_the_service_level() -> None:
    totals = count(POLICY, EVENTS)
    assert totals[b.OFFERED] == 2 and totals[b.OFFERED_CLOSED] == 1
    assert totals[b.ANSWERED] == 3 and totals["ans_cl"] == 2 and totals["ans_in_cl"] == 1
    assert "ab_cl" not in totals  # the abandon was offered while open
    # Out of the service level by default: 1 answered within (open) + 1 abandoned within.
    assert queue_parts(totals, POLICY) == (1.0, 2.0)
    # In it, when the queue says so (or has no calendar).
    assert queue_parts(totals, replace(POLICY, closed_in_service_level=True)) == (2.0, 4.0)


def test_a_queue_without_a_calendar_counts_nothing_apart() -> None:
    totals = count(replace(POLICY, calendar="always", hours=BusinessHours("Europe/Paris")), EVENTS)
    assert not any(name.endswith("_cl") for name in totals)


def test_an_abandon_offered_while_closed_is_left_out_alone() -> None:
    """Only an abandon was offered while closed (its offer not seen, its outcome after the
    opening): the service level leaves it out all the same."""
    totals = count(POLICY, [ev("abandoned", at(9, 0, 30), "x", wait_seconds=60.0)])
    assert totals["ab_cl"] == 1 and b.OFFERED_CLOSED not in totals
    assert queue_parts(totals, POLICY) == (0.0, 0.0)


def test_callbacks_and_flow_outs_offered_while_closed_are_counted_apart() -> None:
    events = [
        ev("offered", at(8, 50), "cb"),  # closed: a callback requested at opening
        ev("callback_requested", at(9, 0, 5), "cb", wait_seconds=615.0),
        ev("offered", at(8, 59, 50), "vm"),  # closed: to voicemail at 09:00:05, within 20 s
        Event(
            "fo-vm",
            "call",
            "flowed_out",
            at(9, 0, 5),
            "q",
            "vm",
            wait_seconds=15.0,
            destination="voicemail",
        ),
        ev("offered", at(11, 0), "open"),
        ev("callback_requested", at(11, 0, 10), "open"),  # open: 10 s, within
    ]
    totals = count(replace(POLICY, profile="all_exits", include_flow_outs=True), events)
    assert (totals[b.CALLBACKS], totals["cb_cl"], totals[b.CALLBACKS_WITHIN]) == (2, 1, 1)
    assert "cb_in_cl" not in totals
    assert (totals[b.FLOWED_OUT], totals["fo_cl"], totals["fo_in_cl"]) == (1, 1, 1)
    policy = replace(POLICY, profile="all_exits", include_flow_outs=True)
    assert queue_parts(totals, policy) == (1.0, 1.0)  # the open callback only
