"""Tiles from read-model documents: the states a screen shows, the allow-list that keeps
ids off it, the screens' filters and the worst queue. Documents are made by the real
snapshot code from real views, so a field renamed there fails here."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from ccmon.agents.domain import buckets as b
from ccmon.agents.readmodel.views import QueueView
from ccmon.agents.wall.alerts import summarise
from ccmon.agents.wall.command import stale_after
from ccmon.agents.wall.tiles import Filter, build_tile, worst_tile
from ccmon.agents.worker.snapshot import document
from ccmon.streams import thresholds
from ccmon.streams.config import BUILTIN_DEFAULTS, QueuePolicy

NOW = 1_800_000_000.0


def doc(
    channel: str = "call", queue: str = "sales", *, answered_in: int = 9, late: int = 1,
    waiting_since: list[float] | None = None, tickets: list[float] | None = None,
    policy: QueuePolicy = BUILTIN_DEFAULTS,
) -> dict[str, Any]:  # fmt: skip
    counters = {b.OFFERED: answered_in + late, b.ANSWERED: answered_in + late,
                b.ANSWERED_WITHIN: answered_in, b.WAIT_SUM: 10.0 * (answered_in + late),
                b.WAIT_N: answered_in + late}  # fmt: skip
    view = QueueView(channel, queue, replace(policy, timezone="Europe/Paris"))
    view.windows = {"30m": dict(counters), "today": dict(counters)}
    view.waiting = len(waiting_since or [])
    view.oldest_waiting_since = min(waiting_since) if waiting_since else None
    view.ticket_origins = sorted(tickets or [])
    view.tickets_open = len(view.ticket_origins)
    view.oldest_open_ticket_since = view.ticket_origins[0] if tickets else None
    view.tickets_overdue = sum(
        t < NOW - BUILTIN_DEFAULTS.resolution_target_seconds for t in tickets or []
    )
    return json.loads(json.dumps(document(view, NOW, published_at=NOW - 0.5)))


def tile(d: dict[str, Any], stale: float = 3.0, now: float = NOW) -> dict[str, Any]:
    return build_tile(d["channel"], d["queue"], d, d["published_at"], now, stale)


@pytest.mark.parametrize(
    ("value", "state"),
    [(None, "none"), (0.79, "alarm"), (0.80, "warn"), (0.849, "warn"), (0.85, "ok"), (1.0, "ok")],
)
def test_service_level_is_breached_below_target_and_at_risk_just_above(
    value: float | None, state: str
) -> None:
    assert thresholds.levels(BUILTIN_DEFAULTS)["service_level"].state(value) == state


def test_a_contact_waiting_past_the_threshold_breaches_the_tile_not_its_service_level() -> None:
    t = tile(doc(answered_in=10, late=0, waiting_since=[NOW - 95, NOW - 10]))
    assert t["metrics"]["sl_30m"] == {"value": 1.0, "state": "ok"}
    assert t["metrics"]["oldest_waiting"] == {"value": 95.0, "state": "alarm"}
    assert t["worst"] == "oldest_waiting" and t["state"] == "alarm"


@pytest.mark.parametrize(("wait", "state"), [(10, "ok"), (67, "ok"), (68, "warn"), (90, "alarm")])
def test_oldest_waiting_turns_amber_then_red_around_the_threshold(wait: float, state: str) -> None:
    t = tile(doc(waiting_since=[NOW - wait]))
    assert t["metrics"]["oldest_waiting"]["state"] == state


def test_a_queue_of_its_own_margins_is_judged_by_them() -> None:
    policy = replace(
        BUILTIN_DEFAULTS, target_ratio=0.9, service_level_margin=0.02, waiting_contacts=4,
        waiting_margin=1, threshold_seconds=20, oldest_waiting_margin_seconds=5,
    )  # fmt: skip
    d = doc(answered_in=91, late=9, waiting_since=[NOW - 16, NOW - 3, NOW - 2], policy=policy)
    m = tile(d)["metrics"]
    assert m["sl_30m"] == {"value": 0.91, "state": "warn"}  # 90 % + 2 points
    assert m["waiting"]["state"] == "warn"  # 3 of 4, margin 1
    assert m["oldest_waiting"]["state"] == "warn"  # 16 s of 20, margin 5
    waiting = {"at_risk": 3.0, "breached": 4.0, "higher_is_better": False}
    assert d["thresholds"]["waiting"] == waiting


def test_a_document_without_thresholds_gets_the_built_in_rule_on_its_limits() -> None:
    """A worker of an earlier version, during a rolling upgrade."""
    d = doc(answered_in=82, late=18, waiting_since=[NOW - 70])
    del d["thresholds"]
    m = tile(d)["metrics"]
    assert m["sl_30m"]["state"] == "warn" and m["oldest_waiting"]["state"] == "warn"


def test_limits_are_breached_at_the_limit_and_at_risk_a_margin_before() -> None:
    waiting = thresholds.levels(BUILTIN_DEFAULTS)["waiting"]
    assert [waiting.state(v) for v in (None, 0, 7, 7.5, 9, 10, 30)] == [
        "none", "ok", "ok", "warn", "warn", "alarm", "alarm"
    ]  # fmt: skip
    abandon = thresholds.levels(BUILTIN_DEFAULTS)["abandon"]
    states = [abandon.state(v) for v in (0.07, 0.075, 0.0999, 0.10)]
    assert states == ["ok", "warn", "warn", "alarm"]


def test_handled_and_aht_are_on_the_tile() -> None:
    d = doc()
    m = tile(d)["metrics"]
    assert m["handled_today"] == {"value": 0.0, "state": "info"}
    assert m["aht_30m"] == {"value": None, "state": "none"}


def test_callbacks_waiting_are_on_the_tile_apart_from_the_contacts_waiting() -> None:
    d = doc(waiting_since=[NOW - 30])
    assert tile(d)["metrics"]["callbacks_waiting"] == {"value": 0.0, "state": "info"}
    d["callbacks_waiting"] = 3  # what the worker publishes (ccmon.agents.worker.snapshot)
    m = tile(d)["metrics"]
    assert (m["callbacks_waiting"]["value"], m["waiting"]["value"]) == (3.0, 1.0)


def test_a_tile_holds_the_document_numbers_and_is_live_while_recent() -> None:
    d = doc(answered_in=8, late=2)
    t = tile(d)
    assert t["id"] == "call:sales" and t["kind"] == "contact" and t["live"] is True
    assert t["metrics"]["sl_30m"]["value"] == d["windows"]["30m"]["service_level"] == 0.8
    assert t["metrics"]["offered_today"] == {"value": 10.0, "state": "info"}
    assert t["metrics"]["asa_30m"]["value"] == 10.0
    assert t["target"]["comparison"] == "<" and t["timezone"] == "Europe/Paris"
    assert tile(d, now=NOW + 3.4)["live"] is False, "not republished for 3 s: delayed"


def test_a_known_queue_without_document_is_shown_empty_and_not_live() -> None:
    t = build_tile("chat", "billing", None, NOW - 40, NOW, 3.0)
    assert t["live"] is False and t["metrics"] == {} and t["published_at"] == NOW - 40


def test_tickets_show_backlog_overdue_and_oldest_open() -> None:
    target = BUILTIN_DEFAULTS.resolution_target_seconds
    t = tile(doc("ticket", "support", tickets=[NOW - target - 60, NOW - 600, NOW - 60]))
    m = t["metrics"]
    assert t["kind"] == "ticket"
    assert m["backlog"]["value"] == 3 and m["overdue"] == {"value": 1.0, "state": "alarm"}
    assert m["oldest_open"] == {"value": target + 60, "state": "alarm"}
    assert t["worst"] == "overdue"


def test_only_allow_listed_fields_reach_a_tile() -> None:
    d = doc()
    d["contact_id"] = "SECRET-C"
    d["windows"]["30m"]["agent_id"] = "SECRET-A"
    d["agents"] = [{"agent_id": "SECRET-A"}]
    assert "SECRET" not in json.dumps(tile(d))


def test_filters_select_and_order_tiles_as_the_address_asks() -> None:
    tiles = [
        tile(doc(c, q)) for c, q in [("call", "a"), ("chat", "b"), ("call", "b"), ("ticket", "a")]
    ]
    screen = Filter.parse({"channel": "call,chat", "queue": "b, a"})
    assert [t["id"] for t in screen.select(tiles)] == ["call:b", "chat:b", "call:a"]
    assert [t["id"] for t in Filter.parse({}).select(tiles)] == [
        "call:a", "call:b", "chat:b", "ticket:a"
    ]  # fmt: skip
    assert screen.accepts(None, None), "an alert without labels concerns every screen"
    assert not screen.accepts("ticket", None)


def test_the_worst_queue_is_the_most_severe_then_furthest_below_target() -> None:
    ok = tile(doc("call", "ok", answered_in=10, late=0))
    risky = tile(doc("call", "risky", answered_in=82, late=18))
    bad = tile(doc("call", "bad", answered_in=6, late=4))
    worse = tile(doc("chat", "worse", answered_in=3, late=7))
    assert worst_tile([ok, risky])["id"] == "call:risky"
    assert worst_tile([ok, bad, risky, worse])["id"] == "chat:worse"
    stale = tile(doc("call", "stale", answered_in=1, late=9), now=NOW + 60)
    assert worst_tile([ok, stale])["id"] == "call:ok", "a delayed queue is not ranked"
    assert worst_tile([]) is None


def test_delayed_after_three_missed_snapshots_but_within_the_ttl() -> None:
    assert stale_after(1.0, 5) == 3.0
    assert stale_after(2.0, 5) == 5.0
    assert stale_after(1.0, 2) == 2.0


def test_alert_banner_keeps_names_labels_and_summary_only() -> None:
    alerts = [
        {
            "labels": {"alertname": "B", "severity": "page", "queue": "q", "channel": "call",
                       "contact_id": "SECRET"},
            "annotations": {"summary": "queue q pages", "description": "SECRET detail"},
            "startsAt": "2026-01-01T10:00:00Z",
        },
        {"labels": {"alertname": "A"}, "annotations": {}, "startsAt": "2026-01-01T09:00:00Z"},
        {"labels": {"alertname": "A"}, "annotations": {}, "startsAt": "2026-01-01T09:30:00Z"},
        "garbage",
    ]  # fmt: skip
    shown = summarise(alerts)
    assert [a["name"] for a in shown] == ["A", "B"]
    assert "SECRET" not in json.dumps(shown)
    assert shown[1] == {
        "name": "B", "channel": "call", "queue": "q", "summary": "queue q pages",
        "since": "2026-01-01T10:00:00Z",
    }  # fmt: skip
    assert summarise({"not": "a list"}) == []


def test_staffing_is_on_the_tile_and_a_shortfall_is_an_alarm() -> None:
    d = doc()
    d["agents"] = {
        "staffed": 4,
        "available": 1,
        "forecast": {"required": 6, "shortfall": 2, "service_level_predicted": 0.62},
    }
    m = tile(d)["metrics"]
    assert m["agents_staffed"] == {"value": 4.0, "state": "info"}
    assert m["agents_available"]["value"] == 1.0
    assert m["agents_required"] == {"value": 6.0, "state": "alarm"}
    assert m["sl_predicted"] == {"value": 0.62, "state": "alarm"}
    d["agents"]["forecast"] = None  # no forecast (no traffic yet): shown as a dash
    assert tile(d)["metrics"]["agents_required"]["value"] is None
    assert "slots_free" not in m  # one contact at a time: free agents say it


def test_a_chat_tile_shows_its_free_slots() -> None:
    # 10 agents x 2 chats, 13 chats going on: 7 slots free though only 1 agent is idle.
    d = doc()
    d["agents"] = {"staffed": 10, "available": 1, "slots": 20, "slots_busy": 13, "concurrent": True}
    assert tile(d)["metrics"]["slots_free"] == {"value": 7.0, "state": "info"}


def test_the_trend_is_the_days_closed_intervals_allow_listed_in_order() -> None:
    from ccmon.agents.wall.tiles import trend

    rows = {
        "10:30": {"start": "2026-12-07T10:30+01:00", "ratio": 0.5, "target": 0.8, "met": False,
                  "eligible": 6, "queue": "x", "contact_id": "never shown"},
        "10:00": {"ratio": 1.0, "target": 0.8, "met": True, "eligible": 6},
        "11:00": {"ratio": None, "target": 0.8, "met": None, "eligible": 0},
        "bad": "not a mapping",
    }  # fmt: skip
    assert trend(("2026-12-07", rows)) == [
        {"at": "10:00", "ratio": 1.0, "target": 0.8, "met": True, "volume": 6.0},
        {"at": "10:30", "ratio": 0.5, "target": 0.8, "met": False, "volume": 6.0},
        {"at": "11:00", "ratio": None, "target": 0.8, "met": None, "volume": 0.0},
    ]
    assert trend(None) == []
