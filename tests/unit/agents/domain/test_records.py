"""Closing records in a partition's state: intervals and local days closed at the horizon,
23- and 25-hour days at the daylight-saving changes, a late event writes revision 2 with its
reason, an unchanged one writes nothing, and what a crash leaves is sent again as it was."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from ccmon.agents.domain import periods as pd
from ccmon.agents.domain import records
from ccmon.agents.domain.contacts import apply_contact
from ccmon.agents.domain.effects import Effects, StateLimits
from ccmon.agents.domain.state import PartitionState
from ccmon.agents.domain.tickets import apply_ticket
from ccmon.streams.config import QueuePolicy
from ccmon.streams.contract.events import Event

PARIS = ZoneInfo("Europe/Paris")
POLICY = QueuePolicy(threshold_seconds=20, timezone="Europe/Paris", interval_minutes=30)


def at(month: int, day: int, hour: int, minute: int = 0) -> float:
    return datetime(2026, month, day, hour, minute, tzinfo=PARIS).timestamp()


class Partition:
    def __init__(self) -> None:
        self.state = PartitionState(0)
        self.limits = StateLimits(record_revision_days=35)
        self.sent: list[dict[str, Any]] = []
        self.n = 0

    def event(self, kind: str, t: float, contact: str, channel: str = "call", **kw: Any) -> None:
        self.n += 1
        e = Event(f"e{self.n}", channel, kind, t, "q", contact, **kw)
        fx = Effects(self.state, self.limits)
        fx.src = f"{channel}:0:{self.n}"
        (apply_ticket if channel == "ticket" else apply_contact)(e, fx, POLICY, t)
        self.state.merge(fx.writes)
        self.state.progress.ev = max(self.state.progress.ev or t, t)  # as counting keeps it

    def call(self, t: float, wait: float, contact: str) -> None:
        self.event("offered", t - wait, contact)
        self.event("answered", t, contact, wait_seconds=wait)

    def close(self, horizon: float, configured: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """A tick: decide, "send" (kept here), mark sent; the envelopes sent."""
        fx = Effects(self.state, self.limits)
        decided = records.close(fx, horizon, lambda c, q: POLICY, configured, 1.0)
        self.state.merge(fx.writes)
        self.state.records_dirty = False  # as the worker does once the write is accepted
        fx = Effects(self.state, self.limits)
        due = records.pending(fx)
        assert len(due) == len(decided)
        records.sent(fx, [(cq, marker) for cq, marker, _, _ in due])
        self.state.merge(fx.writes)
        out = [orjson.loads(value) for *_, value in due]
        self.sent += out
        return out


def by_period(sent: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(e["content"]["period"], e["content"]["start"]): e for e in sent}


def test_intervals_and_the_day_close_at_the_horizon() -> None:
    p = Partition()
    p.call(at(12, 7, 9, 10), 10.0, "a")
    p.call(at(12, 7, 9, 20), 30.0, "b")
    p.call(at(12, 7, 9, 40), 5.0, "c")
    assert p.close(at(12, 7, 9, 29)) == []  # the first interval ends at 09:30
    first = p.close(at(12, 7, 9, 30))
    assert [e["content"]["start"] for e in first] == ["2026-12-07T09:00+01:00"]
    record = first[0]
    assert record["revision"] == 1 and record["reason"] == "closed"
    content = record["content"]
    assert content["counts"]["answered"] == 2 and content["counts"]["answered_within"] == 1
    assert content["counts"]["wait_ms"] == 40_000 and content["asa_seconds"] == 20.0
    assert content["service_level"]["ratio"] == 0.5 and content["service_level"]["met"] is False
    assert content["provenance"] == {"sources": {"call:0": [1, 4]}}
    assert content["config_version"] == POLICY.version
    assert (
        record["content_sha256"]
        == __import__("hashlib").sha256(records.encode(content)).hexdigest()
    )
    rest = by_period(p.close(at(12, 8, 0, 0)))  # the next interval, then the day
    assert set(rest) == {("interval", "2026-12-07T09:30+01:00"), ("day", "2026-12-07T00:00+01:00")}
    day = rest[("day", "2026-12-07T00:00+01:00")]["content"]
    assert day["counts"]["answered"] == 3 and day["intervals"] == 2 and day["seconds"] == 86400
    assert day["worst_intervals"][0]["start"] == "2026-12-07T09:00+01:00"
    assert p.close(at(12, 9, 0, 0)) == []  # nothing more, nothing twice


def test_days_of_23_and_25_hours() -> None:
    p = Partition()
    for month, day in ((3, 29), (10, 25)):
        for hour in range(24):
            p.call(at(month, day, hour, 10), 1.0, f"{month}-{hour}")
    again = datetime(2026, 10, 25, 2, 10, tzinfo=PARIS, fold=1).timestamp()  # 02:10 again
    p.call(again, 1.0, "10-2b")
    sent = by_period(p.close(at(10, 27, 0, 0)))
    spring = sent[("day", "2026-03-29T00:00+01:00")]["content"]
    autumn = sent[("day", "2026-10-25T00:00+02:00")]["content"]
    assert spring["seconds"] == 23 * 3600 and spring["end"] == "2026-03-30T00:00+02:00"
    assert autumn["seconds"] == 25 * 3600 and autumn["end"] == "2026-10-26T00:00+01:00"
    # 02:10 does not exist on the spring day (it is 03:10), and exists twice in autumn.
    assert spring["counts"]["answered"] == 24 and autumn["counts"]["answered"] == 25
    halves = [k for k in sent if k[0] == "interval" and k[1].startswith("2026-10-25T02")]
    assert sorted(halves) == [("interval", "2026-10-25T02:00+01:00"),
                              ("interval", "2026-10-25T02:00+02:00")]  # fmt: skip


def test_a_late_event_after_the_day_closed_writes_revision_2() -> None:
    p = Partition()
    p.call(at(12, 7, 10, 0), 10.0, "a")
    first = by_period(p.close(at(12, 8, 1, 0)))
    day_key = ("day", "2026-12-07T00:00+01:00")
    assert first[day_key]["revision"] == 1
    p.call(at(12, 7, 16, 5), 50.0, "late")  # counted after the day closed
    second = by_period(p.close(at(12, 8, 1, 1)))
    assert set(second) == {day_key, ("interval", "2026-12-07T16:00+01:00")}
    revised = second[day_key]
    assert revised["revision"] == 2
    assert revised["reason"].startswith("2 late event(s) after revision 1, the first at source")
    assert revised["previous_sha256"] == first[day_key]["content_sha256"]
    assert revised["content"]["counts"]["answered"] == 2
    assert second[("interval", "2026-12-07T16:00+01:00")]["revision"] == 1  # new, closed late
    assert p.close(at(12, 8, 2, 0)) == []


def test_a_late_reply_past_its_deadline_revises_the_provenance_only() -> None:
    p = Partition()
    p.event("created", at(12, 7, 9, 0), "T1", channel="ticket")  # 24 h first reply: 8 Dec 09:00
    first = by_period(p.close(at(12, 9, 1, 0)))
    day8 = ("day", "2026-12-08T00:00+01:00")
    assert first[day8]["content"]["promises"]["first_reply"]["missed"] == 1  # no reply yet
    p.event("agent_replied", at(12, 9, 0, 30), "T1", channel="ticket")  # late: still missed
    second = by_period(p.close(at(12, 9, 1, 1)))
    # Missed still, at its deadline: the 8 December records keep their counts and promises
    # and now name the reply's source offset; the reply's own interval and day change.
    before, after = first[day8]["content"], second[day8]["content"]
    assert {k: v for k, v in before.items() if k != "provenance"} == {
        k: v for k, v in after.items() if k != "provenance"
    }
    assert after["provenance"] == {"sources": {"ticket:0": [2, 2]}}
    assert {k[1] for k in second} == {
        "2026-12-08T00:00+01:00",
        "2026-12-08T09:00+01:00",
        "2026-12-09T00:30+01:00",
    }  # fmt: skip  (the 9th, the reply's day, is not over: it closes later)
    assert p.close(at(12, 9, 2, 0)) == []


def test_a_configured_queue_gets_a_record_for_its_quiet_days_too() -> None:
    p = Partition()
    p.call(at(12, 7, 10, 0), 10.0, "a")
    p.close(at(12, 8, 0, 0), configured=("call|q", "call|never"))
    quiet = p.close(at(12, 9, 0, 0), configured=("call|q", "call|never"))
    # The 8th had no traffic: a record all the same; a queue never seen gets none.
    (record,) = quiet
    assert record["content"]["start"] == "2026-12-08T00:00+01:00"
    assert record["content"]["counts"] == {}
    assert record["content"]["service_level"]["met"] is None  # no contact: nothing missed


def test_a_record_decided_but_not_sent_stays_pending_with_the_same_bytes() -> None:
    p = Partition()
    p.call(at(12, 7, 10, 0), 10.0, "a")
    fx = Effects(p.state, p.limits)
    decided = records.close(fx, at(12, 7, 11, 0), lambda c, q: POLICY, (), 7.0)
    p.state.merge(fx.writes)  # written; then the worker died before Kafka acknowledged
    again = records.pending(Effects(p.state, p.limits))
    assert [(k, v) for *_, k, v in again] == [(d.key, d.value) for d in decided]
    marker = p.state.live["call|q"][pd.marker_key(pd.INTERVAL, str(int(at(12, 7, 10, 0) // 60)))]
    assert marker["rev"] == 1 and marker["pend"]


def test_the_months_days_met_out_of_days_open_follow_the_latest_revision() -> None:
    from ccmon.agents.readmodel.views import view_of

    p = Partition()
    p.call(at(12, 7, 10, 0), 10.0, "a")  # met
    p.call(at(12, 8, 10, 0), 50.0, "b")  # missed
    p.close(at(12, 9, 0, 0), configured=("call|q",))
    view = view_of(p.state, "call|q", lambda c, q: POLICY, at(12, 9, 12, 0))
    assert view.month_days == (2, 1)
    p.call(at(12, 8, 11, 0), 5.0, "c")  # late: the 8th now 1 of 2 within
    p.call(at(12, 8, 11, 5), 5.0, "d")  # and 2 of 3: still missed
    p.call(at(12, 8, 11, 10), 5.0, "e")
    p.call(at(12, 8, 11, 15), 5.0, "f")  # 4 of 5: met, revision 2
    p.close(at(12, 9, 0, 1), configured=("call|q",))
    view = view_of(p.state, "call|q", lambda c, q: POLICY, at(12, 9, 12, 0))
    assert view.month_days == (2, 2)
