"""Ticket promises in business time: the worked example (Friday 16:30 + 1 business hour
breaches on Monday 09:30), pauses while pending, next replies, the rules for events that
come before their ticket or out of order, and what /metrics and the interval counts say."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ccmon.agents.domain import promises as pr
from ccmon.agents.domain.effects import Effects, StateLimits
from ccmon.agents.domain.expiry import apply_tick
from ccmon.agents.domain.state import PartitionState
from ccmon.agents.domain.tickets import apply_ticket
from ccmon.agents.readmodel.views import count_promises, view_of
from ccmon.streams.calendar import BusinessHours
from ccmon.streams.config import QueuePolicy
from ccmon.streams.contract.events import Event

PARIS = ZoneInfo("Europe/Paris")
OFFICE = BusinessHours("Europe/Paris", ((((540, 1020),),) * 5) + ((), ()), name="office")
HOUR = 3600.0
POLICY = QueuePolicy(
    timezone="Europe/Paris",
    calendar="office",
    hours=OFFICE,
    first_response_target_seconds=HOUR,
    next_reply_target_seconds=2 * HOUR,
    resolution_target_seconds=8 * HOUR,
    at_risk_seconds=0.5 * HOUR,
)
CQ = "ticket|mail"


def at(day: int, hour: int, minute: int = 0) -> float:
    """December 2026: the 4th is a Friday, the 7th a Monday."""
    return datetime(2026, 12, day, hour, minute, tzinfo=PARIS).timestamp()


def ev(kind: str, t: float, ticket: str = "T1") -> Event:
    return Event(f"{kind}-{ticket}-{t}", "ticket", kind, t, "mail", ticket)


class Desk:
    def __init__(self, policy: QueuePolicy = POLICY) -> None:
        self.state = PartitionState(0)
        self.limits = StateLimits(record_revision_days=35)
        self.policy = policy

    def apply(self, e: Event, now: float | None = None) -> None:
        fx = Effects(self.state, self.limits)
        apply_ticket(e, fx, self.policy, e.occurred_at if now is None else now)
        self.state.merge(fx.writes)

    def tick(self, now: float) -> int:
        """The expiry tick at ``now``; the promises it counted breached."""
        fx = Effects(self.state, self.limits)
        removed = apply_tick(fx, now, lambda c, q: self.policy)
        self.state.merge(fx.writes)
        return removed.get("promises_breached", 0)

    def entry(self, ticket: str = "T1") -> dict[str, Any]:
        return self.state.live[CQ][ticket]

    @property
    def totals(self) -> dict[str, float]:
        return dict(self.state.totals.get(CQ, {}))

    def periods(self) -> dict[str, float]:
        """Promise outcomes summed over every interval (met pm:, missed px:)."""
        out: dict[str, float] = {}
        for counters in self.state.periods.get(CQ, {}).values():
            for name, value in counters.items():
                if name[:3] in ("pm:", "px:"):
                    out[name] = out.get(name, 0.0) + value
        return {k: v for k, v in out.items() if v}

    def view(self, now: float) -> Any:
        view = view_of(self.state, CQ, lambda c, q: self.policy, now)
        count_promises(view, now)
        return view


def test_friday_afternoon_ticket_breaches_on_monday_morning() -> None:
    desk = Desk()
    desk.apply(ev("created", at(4, 16, 30)))
    running = desk.entry()["d"]
    # Due Monday 09:30; at risk (30 business minutes left) from Friday 17:00.
    assert running["fr"] == [at(7, 9, 30), at(4, 17, 0)]
    assert desk.view(at(4, 17, 30)).tickets_at_risk["first_reply"] == 1  # 30 min left, on Monday
    assert desk.tick(at(4, 17, 30)) == 0  # the elapsed-time rule would breach it here
    assert desk.view(at(7, 8, 59)).tickets_at_risk["first_reply"] == 1
    assert desk.tick(at(7, 9, 29)) == 0
    assert desk.tick(at(7, 9, 30)) == 0  # the last instant it is kept
    assert desk.tick(at(7, 9, 30) + 0.001) == 1
    assert desk.totals["pb:fr"] == 1
    assert desk.tick(at(7, 10, 0)) == 0  # counted once
    desk.apply(ev("agent_replied", at(7, 10, 0)))
    assert desk.periods() == {"px:fr": 1}  # missed, at its deadline
    assert desk.entry()["o"]["fr"] == [0.0, at(7, 9, 30)]
    assert "pm:fr" not in desk.totals and desk.totals["pb:fr"] == 1


def test_a_reply_within_the_promise_is_met_at_the_reply() -> None:
    desk = Desk()
    desk.apply(ev("created", at(4, 16, 30)))
    desk.apply(ev("first_response", at(7, 9, 20)))
    assert desk.periods() == {"pm:fr": 1}
    assert desk.entry()["o"]["fr"] == [1.0, at(7, 9, 20)]
    assert desk.totals["pm:fr"] == 1 and "fr" not in desk.entry().get("d", {})


def test_resolution_pauses_while_pending() -> None:
    desk = Desk()
    desk.apply(ev("created", at(7, 9, 0)))  # Monday 09:00, 8 business hours: all of Monday,
    assert desk.entry()["d"]["rs"][0] == at(8, 9, 0)  # so kept until Tuesday's opening
    desk.apply(ev("agent_replied", at(7, 10, 0)))
    desk.apply(ev("pending", at(7, 10, 0)))  # 1 h used; waits on the customer
    assert desk.entry()["d"]["rs"] == [None, None]
    assert desk.view(at(9, 12, 0)).tickets_overdue == 0  # paused: never overdue
    desk.apply(ev("customer_replied", at(9, 9, 0)))  # Wednesday: 7 h left, and a next reply
    assert desk.entry()["d"]["rs"][0] == at(9, 16, 0)
    assert desk.entry()["d"]["nr:1"][0] == at(9, 11, 0)
    desk.apply(ev("resolved", at(9, 10, 30)))  # answers the customer and resolves: both met
    assert desk.periods() == {"pm:fr": 1, "pm:nr": 1, "pm:rs": 1}


def test_reply_promises_are_not_paused_by_pending() -> None:
    desk = Desk()
    desk.apply(ev("created", at(7, 9, 0)))
    desk.apply(ev("pending", at(7, 9, 10)))  # no reply: the first reply clock keeps running
    desk.apply(ev("agent_replied", at(7, 10, 30)))
    assert desk.periods() == {"px:fr": 1}


def test_several_customer_messages_make_one_next_reply_from_the_oldest() -> None:
    desk = Desk()
    desk.apply(ev("created", at(7, 9, 0)))
    desk.apply(ev("customer_replied", at(7, 9, 5)))  # before any reply: the first reply's
    desk.apply(ev("agent_replied", at(7, 9, 30)))
    desk.apply(ev("customer_replied", at(7, 10, 0)))
    desk.apply(ev("customer_replied", at(7, 11, 0)))
    desk.apply(ev("agent_replied", at(7, 12, 30)))  # 2.5 h after the oldest: missed
    desk.apply(ev("customer_replied", at(7, 13, 0)))
    desk.apply(ev("agent_replied", at(7, 13, 30)))
    assert desk.periods() == {"pm:fr": 1, "px:nr": 1, "pm:nr": 1}
    assert desk.entry()["o"]["nr:1"] == [0.0, at(7, 12, 0)]


def test_reply_before_creation_is_an_immediate_reply() -> None:
    desk = Desk()
    desk.apply(ev("agent_replied", at(7, 9, 0)))  # before its ticket, in time and arrival
    assert desk.entry()["k"] == "tu" and "o" not in desk.entry()
    assert desk.view(at(7, 9, 1)).tickets_open == 0  # not in the backlog until created
    desk.apply(ev("created", at(7, 9, 10)))
    assert desk.entry()["o"]["fr"] == [1.0, at(7, 9, 10)]  # 0 s: never a negative clock
    assert desk.periods() == {"pm:fr": 1}


def test_events_of_an_unknown_ticket_never_crash_and_start_no_promise() -> None:
    desk = Desk()
    for kind in ("customer_replied", "pending", "resumed", "first_response", "reopened"):
        desk.apply(ev(kind, at(7, 9, 0), ticket=kind))
    desk.apply(ev("resolved", at(7, 9, 0), ticket="lost"))
    assert desk.periods() == {}
    assert all("d" not in e for e in desk.state.live[CQ].values())
    desk.tick(at(20, 9, 0))  # markers expire; nothing raises
    assert set(desk.state.live[CQ]) == {"reopened"}  # reopened: in the backlog, as before


def test_the_outcome_does_not_depend_on_the_arrival_order() -> None:
    story = [
        ev("created", at(4, 16, 30)),
        ev("agent_replied", at(7, 9, 10)),
        ev("pending", at(7, 9, 10)),
        ev("customer_replied", at(7, 14, 0)),
        ev("agent_replied", at(7, 17, 30)),
        ev("resolved", at(8, 11, 0)),
    ]
    outcomes = set()
    for order in itertools.permutations(story):
        desk = Desk()
        for e in order:
            desk.apply(e)
        outcomes.add(tuple(sorted(desk.periods().items())))
        outcomes.add(tuple(sorted((k, tuple(v)) for k, v in desk.entry()["o"].items())))
    assert len(outcomes) == 2, outcomes  # one account of the periods, one of the outcomes


def test_a_late_reply_revises_the_interval_counts_not_the_counter() -> None:
    desk = Desk()
    desk.apply(ev("created", at(7, 9, 0)))
    desk.tick(at(7, 10, 5))  # due at 10:00: counted breached
    assert desk.totals["pb:fr"] == 1
    desk.apply(ev("first_response", at(7, 9, 50)), now=at(7, 10, 6))  # it came in time after all
    assert desk.periods() == {"pm:fr": 1}  # the exact account
    assert desk.totals["pb:fr"] == 1 and "pm:fr" not in desk.totals  # counters never go down


@pytest.mark.parametrize("margin", [0.0, 0.5 * HOUR])
def test_at_risk_counts_running_promises_near_their_deadline(margin: float) -> None:
    from dataclasses import replace

    desk = Desk(replace(POLICY, at_risk_seconds=margin))
    desk.apply(ev("created", at(7, 9, 0)))
    assert desk.view(at(7, 9, 20)).tickets_at_risk["first_reply"] == 0
    risky = desk.view(at(7, 9, 40)).tickets_at_risk["first_reply"]
    assert risky == (1 if margin else 0)
    assert desk.view(at(7, 10, 0)).tickets_at_risk["first_reply"] == 0  # due: breached


def test_instances_are_named_and_coded() -> None:
    assert [pr.promise_of(k) for k in ("fr", "nr:3", "rs")] == list(pr.PROMISES)
    assert set(pr.CODES.values()) == {"fr", "nr", "rs"}
