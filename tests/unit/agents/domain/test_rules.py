"""The counting rules on a partition's state in memory: out-of-order outcomes, derived
waits, late events, tickets and expiry; each event's effect computed, then merged, as the
owner does once Redis has accepted it."""

from __future__ import annotations

from typing import Any

from ccmon.agents.domain import buckets as b
from ccmon.agents.domain.contacts import apply_contact
from ccmon.agents.domain.effects import TOTALS, WAIT, Effects, StateLimits
from ccmon.agents.domain.expiry import apply_tick
from ccmon.agents.domain.state import PartitionState
from ccmon.agents.domain.surveys import apply_survey
from ccmon.agents.domain.tickets import apply_ticket
from ccmon.streams.config import QueuePolicy
from ccmon.streams.contract.events import Event

NOW = 1_800_000_000.0
POLICY = QueuePolicy(threshold_seconds=20.0, comparison="<=", timezone="UTC", max_wait_seconds=600)


def ev(kind: str, t: float, contact: str = "c1", channel: str = "call", **kw: Any) -> Event:
    return Event(
        event_id=f"{kind}-{contact}-{t}",
        channel=channel,
        type=kind,
        occurred_at=t,
        queue="q",
        contact_id=contact,
        **kw,
    )


class World:
    def __init__(self) -> None:
        self.state = PartitionState(0)
        self.limits = StateLimits(histogram_bounds={WAIT: [10.0, 20.0, 60.0]})

    def effects(self) -> Effects:
        return Effects(self.state, self.limits)

    def apply(self, e: Event) -> bool:
        fx = self.effects()
        if e.channel == "ticket":
            late = apply_ticket(e, fx, POLICY, NOW)
        elif e.type == "survey":
            late = apply_survey(e, fx, POLICY, NOW)
        else:
            late = apply_contact(e, fx, POLICY, NOW)
        self.state.merge(fx.writes)
        return late

    def live(self, cq: str, contact: str) -> dict[str, Any] | None:
        return self.state.live.get(cq, {}).get(contact)

    @property
    def totals(self) -> dict[str, Any]:
        return dict(self.state.totals.get("call|q", {}))


def test_lifecycle_and_derived_wait() -> None:
    w = World()
    w.apply(ev("offered", NOW - 100))
    assert w.live("call|q", "c1")["k"] == "w"  # type: ignore[index]
    w.apply(ev("answered", NOW - 85))  # no wait_seconds: derived from the offer, 15 s
    t = w.totals
    assert t[b.OFFERED] == 1 and t[b.ANSWERED] == 1 and t[b.ANSWERED_WITHIN] == 1
    assert t[b.WAIT_SUM] == 15 and t["h:wait:20.0"] == 1
    assert w.live("call|q", "c1")["k"] == "x"  # type: ignore[index]


def test_effects_change_nothing_until_merged() -> None:
    w = World()
    fx = w.effects()
    apply_contact(ev("offered", NOW - 100), fx, POLICY, NOW)
    apply_contact(ev("answered", NOW - 90, wait_seconds=10.0), fx, POLICY, NOW)
    assert w.state.totals == {} and w.state.live == {}
    assert fx.live("call|q", "c1") == {"k": "x", "t": NOW - 90, "e": 1}  # the batch sees its own
    coalesced = fx.writes.incr[TOTALS]["call|q"]
    assert coalesced["off"] == 1 and coalesced["ans"] == 1
    w.state.merge(fx.writes)
    assert w.totals[b.OFFERED] == 1 and w.live("call|q", "c1")["k"] == "x"  # type: ignore[index]


def test_outcome_before_offer_does_not_leave_a_waiting_contact() -> None:
    w = World()
    w.apply(ev("answered", NOW - 50, wait_seconds=30.0))
    w.apply(ev("offered", NOW - 80))
    assert w.live("call|q", "c1")["k"] == "x"  # type: ignore[index]
    assert w.totals.get(b.ANSWERED_WITHIN, 0) == 0  # 30 s > 20 s


def test_unknown_wait_is_counted_not_within() -> None:
    w = World()
    w.apply(ev("abandoned", NOW - 10))
    assert w.totals[b.WAIT_UNKNOWN] == 1 and b.ABANDONED_WITHIN not in w.totals


def test_late_event_reaches_totals_and_day_but_no_minute_bucket() -> None:
    w = World()
    old = NOW - 3 * 3600
    assert w.apply(ev("offered", old)) is True
    assert w.totals[b.OFFERED] == 1
    assert "call|q" not in w.state.minutes
    assert b.local_day(old, "UTC") in w.state.days["call|q"]


def test_short_abandon_and_blocked_reason() -> None:
    w = World()
    w.apply(ev("abandoned", NOW - 10, contact="a", wait_seconds=2.0))
    w.apply(ev("blocked", NOW - 5, contact="b", reason="queue_full"))
    t = w.totals
    assert t[b.ABANDONED_SHORT] == 1 and t[b.ABANDONED_WITHIN] == 1
    assert t[b.BLOCKED] == 1 and t["blk:queue_full"] == 1


def test_chat_first_response_from_offer_time() -> None:
    w = World()
    w.apply(ev("offered", NOW - 60, channel="chat"))
    w.apply(ev("answered", NOW - 50, channel="chat", wait_seconds=10.0))
    w.apply(ev("first_response", NOW - 40, channel="chat"))
    t = dict(w.state.totals["chat|q"])
    assert t[b.FR_SUM] == 20 and t[b.FR_TIMED] == 1


def test_ticket_backlog_reopen_and_resolution_time() -> None:
    w = World()
    w.apply(ev("created", NOW - 1000, contact="T", channel="ticket"))
    w.apply(ev("first_response", NOW - 900, contact="T", channel="ticket"))
    w.apply(ev("resolved", NOW - 400, contact="T", channel="ticket"))
    assert w.live("ticket|q", "T")["k"] == "tc"  # type: ignore[index]
    w.apply(ev("reopened", NOW - 300, contact="T", channel="ticket"))
    assert w.live("ticket|q", "T")["k"] == "t"  # type: ignore[index]
    t = dict(w.state.totals["ticket|q"])
    assert t[b.T_RES_SUM] == 600 and t[b.FR_SUM] == 100 and t[b.T_REOPENED] == 1


def test_created_after_resolved_leaves_no_phantom_backlog() -> None:
    w = World()
    w.apply(ev("resolved", NOW - 100, contact="T", channel="ticket"))
    w.apply(ev("created", NOW - 500, contact="T", channel="ticket"))
    assert w.live("ticket|q", "T")["k"] == "tc"  # type: ignore[index]


def test_survey_scores() -> None:
    w = World()
    w.apply(ev("survey", NOW - 5, csat=5, nps=3, ces=2))
    t = w.totals
    assert t[b.CSAT_GOOD] == 1 and t[b.NPS_DET] == 1 and t[b.CES_SUM] == 2


def test_tick_expires_waiting_buckets_and_markers() -> None:
    w = World()
    w.apply(ev("offered", NOW - 700, contact="stuck"))
    w.apply(ev("offered", NOW - 100, contact="fresh"))
    w.apply(ev("answered", NOW - 2000, contact="old", wait_seconds=1.0))
    old_minute = b.minute_of(NOW) - 500
    w.state.minutes["call|q"][old_minute] = {"off": 1.0}
    fx = w.effects()
    removed = apply_tick(fx, NOW, lambda c, q: POLICY)
    assert ("m", str(old_minute)) in fx.writes.drop
    w.state.merge(fx.writes)
    assert w.live("call|q", "stuck") is None and w.live("call|q", "fresh") is not None
    assert w.live("call|q", "old") is None  # closed marker older than 15 min
    assert old_minute not in w.state.minutes["call|q"]
    assert w.totals[b.EXPIRED] == 1
    assert removed["expired_waiting"] == 1 and removed["buckets"] >= 1
