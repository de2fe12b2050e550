"""The counting rules on plain dicts: idempotency per key, out-of-order outcomes, derived
waits, late events, tickets and expiry."""

from __future__ import annotations

from typing import Any

import pytest

from ccmon.agents import buckets as b
from ccmon.agents.contacts import apply_contact
from ccmon.agents.expiry import apply_tick
from ccmon.agents.ledger import WAIT, Ledger, StateLimits, Tables
from ccmon.agents.surveys import apply_survey
from ccmon.agents.tickets import apply_ticket
from ccmon.streams.config import QueuePolicy
from ccmon.streams.events import Event

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
        self.tables = Tables(buckets={}, totals={}, live={})
        self.limits = StateLimits(histogram_bounds={WAIT: [10.0, 20.0, 60.0]})
        self.offset = 0

    def led(self, offset: int | None = None) -> Ledger:
        if offset is None:
            self.offset += 1
            offset = self.offset
        return Ledger(self.tables, self.limits, partition=0, offset=offset)

    def apply(self, e: Event, offset: int | None = None) -> bool:
        led = self.led(offset)
        if e.channel == "ticket":
            return apply_ticket(e, led, POLICY, NOW)
        if e.type == "survey":
            return apply_survey(e, led, POLICY, NOW)
        return apply_contact(e, led, POLICY, NOW)

    @property
    def totals(self) -> dict[str, Any]:
        return dict(self.tables.totals.get("call|q", {}))


def test_lifecycle_and_derived_wait() -> None:
    w = World()
    w.apply(ev("offered", NOW - 100))
    assert w.tables.live["call|q|c1"]["k"] == "w"
    w.apply(ev("answered", NOW - 85))  # no wait_seconds: derived from the offer, 15 s
    t = w.totals
    assert t[b.OFFERED] == 1 and t[b.ANSWERED] == 1 and t[b.ANSWERED_WITHIN] == 1
    assert t[b.WAIT_SUM] == 15 and t["h:wait:20.0"] == 1
    assert w.tables.live["call|q|c1"]["k"] == "x"


def test_replayed_record_changes_nothing() -> None:
    w = World()
    w.apply(ev("offered", NOW - 100), offset=7)
    before = {k: dict(v) for k, v in w.tables.totals.items()}
    w.apply(ev("offered", NOW - 100), offset=7)  # the same record after a crash
    w.apply(ev("offered", NOW - 100), offset=5)  # an older one
    assert {k: dict(v) for k, v in w.tables.totals.items()} == before


def test_partial_apply_is_completed_on_replay() -> None:
    w = World()
    e = ev("offered", NOW - 100)
    w.apply(e, offset=3)
    del w.tables.totals["call|q"]  # crash: the bucket write landed, the totals write did not
    w.apply(e, offset=3)
    assert w.totals[b.OFFERED] == 1
    minute = b.minute_key("call", "q", b.minute_of(NOW - 100))
    assert w.tables.buckets[minute][b.OFFERED] == 1


def test_outcome_before_offer_does_not_leave_a_waiting_contact() -> None:
    w = World()
    w.apply(ev("answered", NOW - 50, wait_seconds=30.0))
    w.apply(ev("offered", NOW - 80))
    assert w.tables.live["call|q|c1"]["k"] == "x"
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
    assert not any(k.split("|")[2] == "m" for k in w.tables.buckets)
    assert b.day_key("call", "q", b.local_day(old, "UTC")) in w.tables.buckets


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
    t = dict(w.tables.totals["chat|q"])
    assert t[b.FR_SUM] == 20 and t[b.FR_TIMED] == 1


def test_ticket_backlog_reopen_and_resolution_time() -> None:
    w = World()
    w.apply(ev("created", NOW - 1000, contact="T", channel="ticket"))
    w.apply(ev("first_response", NOW - 900, contact="T", channel="ticket"))
    w.apply(ev("resolved", NOW - 400, contact="T", channel="ticket"))
    assert w.tables.live["ticket|q|T"]["k"] == "tc"
    w.apply(ev("reopened", NOW - 300, contact="T", channel="ticket"))
    assert w.tables.live["ticket|q|T"]["k"] == "t"
    t = dict(w.tables.totals["ticket|q"])
    assert t[b.T_RES_SUM] == 600 and t[b.FR_SUM] == 100 and t[b.T_REOPENED] == 1


def test_created_after_resolved_leaves_no_phantom_backlog() -> None:
    w = World()
    w.apply(ev("resolved", NOW - 100, contact="T", channel="ticket"))
    w.apply(ev("created", NOW - 500, contact="T", channel="ticket"))
    assert w.tables.live["ticket|q|T"]["k"] == "tc"


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
    w.tables.buckets[b.minute_key("call", "q", b.minute_of(NOW) - 500)] = {"off": 1, "p": 0}
    w.tables.buckets[b.minute_key("call", "q", b.minute_of(NOW) - 500) + "x"] = {"p": 1}
    removed = apply_tick(w.led(), NOW, lambda c, q: POLICY)
    assert "call|q|stuck" not in w.tables.live and "call|q|fresh" in w.tables.live
    assert "call|q|old" not in w.tables.live  # closed marker older than 15 min
    assert w.totals[b.EXPIRED] == 1
    assert removed["expired_waiting"] == 1 and removed["buckets"] >= 1
    assert any(v.get("p") == 1 for v in w.tables.buckets.values()), "other partitions untouched"


@pytest.mark.parametrize("kind", ["offered", "answered", "abandoned", "ended", "blocked"])
def test_every_contact_event_counts_once_per_offset(kind: str) -> None:
    w = World()
    e = ev(
        kind,
        NOW - 30,
        wait_seconds=5.0 if kind in ("answered", "abandoned") else None,
        reason="other" if kind == "blocked" else None,
        talk_seconds=60.0 if kind == "ended" else None,
    )
    w.apply(e, offset=1)
    first = w.totals
    w.apply(e, offset=1)
    assert w.totals == first
