"""An independent, deliberately simple recount of the golden files.

Written from the metric definitions in docs/metrics.md, not from the production code: plain
loops over the deduplicated events, one question at a time.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.support.expect import sample
from tests.support.topology import topic_settings
from tests.support.worker import Sample

DATA = Path(__file__).resolve().parents[1] / "integration" / "data"

# Mirrors tests/integration/data/golden-queues.yaml on purpose (a second, independent copy).
POLICY = {
    "sales": {"T": 20.0, "cmp": "<=", "profile": "answered", "tz": "Europe/Paris", "short": 5.0},
    "billing": {
        "T": 90.0,
        "cmp": "<",
        "profile": "answered_abandoned",
        "tz": "Europe/Paris",
        "short": 5.0,
    },
    "care": {
        "T": 30.0,
        "cmp": "<",
        "profile": "all_exits",
        "tz": "America/New_York",
        "short": 10.0,
    },
}


POLICY_MAX_WAIT = 7200.0  # the golden defaults' max_wait_seconds: a callback's window


def load(name: str) -> list[tuple[str, dict[str, object]]]:
    lines = (DATA / name).read_text().splitlines()
    return [(d["channel"], d["event"]) for d in map(json.loads, lines)]


def seconds(value: object) -> float:
    if isinstance(value, int):
        return value / 1000
    return datetime.fromisoformat(str(value)).timestamp()


def met(queue: str, wait: float) -> bool:
    p = POLICY[queue]
    return wait <= p["T"] if p["cmp"] == "<=" else wait < p["T"]


# Phase 1 with the queue exits sent after it, then the late phase 2.
PHASES = ("golden-phase1.jsonl", "golden-exits.jsonl", "golden-phase2.jsonl")


def recount(phases: tuple[str, ...] = PHASES) -> dict[str, object]:
    return recount_events([item for name in phases for item in load(name)])


def recount_events(items: list[tuple[str, dict[str, object]]]) -> dict[str, object]:
    """The recount of any (channel, event) list in the order given, first copy of each
    event id only; windows end at the largest event time (the stream clock)."""
    seen: set[str] = set()
    events = []
    for channel, e in items:
        if e["event_id"] in seen:
            continue
        seen.add(str(e["event_id"]))
        events.append((channel, e, seconds(e["occurred_at"])))
    now = max(t for _, _, t in events)
    now_minute = math.floor(now / 60)

    def windows_of(queue: str, t: float) -> list[str]:
        tz = ZoneInfo(POLICY[queue]["tz"])
        out = []
        minute = math.floor(t / 60)
        for name, n in (("5m", 5), ("15m", 15), ("30m", 30), ("1h", 60)):
            if now_minute - n < minute <= now_minute:
                out.append(name)
        local_now = datetime.fromtimestamp(now, tz)
        for name, n in (("interval_15m", 15), ("interval_30m", 30)):
            start = local_now.replace(
                minute=local_now.minute - local_now.minute % n, second=0, microsecond=0
            )
            if start.timestamp() <= t and minute <= now_minute:
                out.append(name)
        if datetime.fromtimestamp(t, tz).date() == local_now.date():
            out.append("today")
        return out

    totals: dict[tuple[str, str, str], float] = defaultdict(float)
    win: dict[tuple[str, str, str, str], float] = defaultdict(float)
    # A contact's visit of a queue: ("w", offered at, False, no flags) while waiting, ("x",
    # closed at, exit counted, flags) once it left or ended.
    visits: dict[tuple[str, str, str], tuple[str, float, bool, frozenset[str]]] = {}
    waiting: dict[tuple[str, str, str], float] = {}
    callbacks: dict[tuple[str, str, str], float | None] = {}  # deadline; None once placed
    resolved: set[tuple[str, str, str]] = set()

    def add(channel: str, queue: str, t: float, what: str, value: float = 1.0) -> None:
        totals[(channel, queue, what)] += value
        for w in windows_of(queue, t):
            win[(channel, queue, w, what)] += value

    def offer(channel: str, q: str, c: str, t: float) -> None:
        add(channel, q, t, "offered")
        visit = visits.get((channel, q, c))
        # A new visit unless the contact waits, or its visit closed at or after this offer.
        if visit is None or (visit[0] == "x" and t > visit[1]):
            visits[(channel, q, c)] = ("w", t, False, frozenset())
            waiting[(channel, q, c)] = t

    def route(channel: str, q: str, c: str, t: float, target: object) -> None:
        if target in POLICY:
            offer(channel, str(target), c, t)
        else:
            add(channel, q, t, "irregular:unknown_target")

    def flags(visit: tuple[str, float, bool, frozenset[str]] | None) -> frozenset[str]:
        return visit[3] if visit is not None else frozenset()

    for channel, e, t in events:
        q = str(e["queue"])
        c = str(e["contact_id"])
        kind = e["type"]
        key = (channel, q, c)
        visit = visits.get(key)
        if kind == "offered":
            offer(channel, q, c, t)
        elif kind in ("answered", "abandoned", "callback_requested", "flowed_out"):
            if visit is not None and visit[0] == "x" and visit[2]:
                add(channel, q, t, "irregular:repeated")
                continue
            wait = e.get("wait_seconds")
            if wait is None and visit is not None and visit[0] == "w":
                wait = t - visit[1]
            visits[key] = ("x", t, True, flags(visit))
            waiting.pop(key, None)
            name = {"callback_requested": "callbacks", "flowed_out": "flowed_out"}.get(
                str(kind), str(kind)
            )
            add(channel, q, t, name)
            if kind == "callback_requested":
                window = e.get("callback_within_seconds")
                callbacks[key] = t + (POLICY_MAX_WAIT if window is None else float(str(window)))
            elif kind == "flowed_out":
                add(channel, q, t, f"flowed_out:{e['destination']}")
                if e["destination"] == "queue":
                    route(channel, q, c, t, e["target_queue"])
            if wait is None:
                add(channel, q, t, "wait_unknown")
                continue
            wait = float(wait)  # type: ignore[arg-type]
            if kind == "answered":
                add(channel, q, t, "wait_sum", wait)
                add(channel, q, t, "wait_n")
            elif kind == "abandoned" and wait < POLICY[q]["short"]:
                add(channel, q, t, "abandoned_short")
            if met(q, wait):
                add(channel, q, t, f"{name}_within")
        elif kind in ("transferred", "abandoned_on_hold"):
            flag = str(kind)
            if flag in flags(visit):
                add(channel, q, t, "irregular:repeated")
                continue
            add(channel, q, t, flag)
            if visit is None:
                visits[key] = ("x", t, False, frozenset({flag}))
            else:  # (a contact still waiting keeps waiting: its answer is still to come)
                visits[key] = (visit[0], visit[1], visit[2], visit[3] | {flag})
            if kind == "transferred":
                route(channel, q, c, t, e["target_queue"])
        elif kind == "callback_placed":
            if key in callbacks and callbacks[key] is None:
                add(channel, q, t, "irregular:repeated")
                continue
            add(channel, q, t, "callbacks_placed")
            deadline = callbacks.get(key)
            if deadline is not None:
                add(channel, q, t, "callbacks_met" if t <= deadline else "callbacks_missed")
            callbacks[key] = None
        elif kind == "blocked":
            add(channel, q, t, "blocked")
            add(channel, q, t, f"blocked:{e['reason']}")
        elif kind == "ended":
            exited = visit is not None and visit[0] == "x" and visit[2]
            visits[key] = ("x", t, exited, flags(visit))
            waiting.pop(key, None)
            add(channel, q, t, "ended")
        elif kind == "created":
            add(channel, q, t, "tickets_created")
            if ("ticket", q, c) not in resolved:  # a resolution read first closed it
                waiting[("ticket", q, c)] = t
        elif kind == "resolved":
            add(channel, q, t, "tickets_resolved")
            resolved.add(("ticket", q, c))
            waiting.pop(("ticket", q, c), None)
        elif kind == "reopened":
            add(channel, q, t, "tickets_reopened")
            waiting.setdefault(("ticket", q, c), t)
        elif kind == "survey":
            add(channel, q, t, "surveys")
    for (channel, q, _), deadline in callbacks.items():
        if deadline is not None:
            totals[(channel, q, "callbacks_waiting")] += 1
    return {"now": now, "totals": dict(totals), "windows": dict(win), "waiting": waiting}


def service_level(c: dict[str, float], profile: str) -> float | None:
    within = c.get("answered_within", 0.0)
    if profile == "answered":
        den = c.get("answered", 0.0)
    elif profile == "answered_abandoned":
        den = c.get("answered", 0.0) + c.get("abandoned", 0.0)
    else:  # all_exits: left the queue within T / left it (answered, abandoned, callback)
        within += c.get("abandoned_within", 0.0) + c.get("callbacks_within", 0.0)
        den = c.get("answered", 0.0) + c.get("abandoned", 0.0) + c.get("callbacks", 0.0)
    return within / den if den else None


TOTALS = {
    "offered": "ccmon_contacts_offered_total",
    "answered": "ccmon_contacts_answered_total",
    "answered_within": "ccmon_contacts_answered_within_threshold_total",
    "abandoned": "ccmon_contacts_abandoned_total",
    "abandoned_short": "ccmon_contacts_abandoned_short_total",
    "abandoned_within": "ccmon_contacts_abandoned_within_threshold_total",
    "ended": "ccmon_contacts_ended_total",
    "wait_unknown": "ccmon_contacts_wait_unknown_total",
    "tickets_created": "ccmon_tickets_created_total",
    "tickets_resolved": "ccmon_tickets_resolved_total",
    "tickets_reopened": "ccmon_tickets_reopened_total",
    "wait_n": "ccmon_contact_wait_seconds_count",
    "wait_sum": "ccmon_contact_wait_seconds_sum",
    "callbacks": "ccmon_contacts_callbacks_requested_total",
    "callbacks_placed": "ccmon_callbacks_placed_total",
    "callbacks_met": "ccmon_callback_promises_met_total",
    "callbacks_missed": "ccmon_callback_promises_missed_total",
    "transferred": "ccmon_contacts_transferred_total",
    "abandoned_on_hold": "ccmon_contacts_abandoned_on_hold_total",
}
# Counters with one label, from the recount's "what:label" names.
LABELLED = {
    "blocked": ("ccmon_contacts_blocked_total", "reason"),
    "flowed_out": ("ccmon_contacts_flowed_out_total", "destination"),
    "irregular": ("ccmon_contact_exits_irregular_total", "rule"),
}
WINDOW_COUNTS = {
    "offered": "ccmon_window_contacts_offered",
    "answered": "ccmon_window_contacts_answered",
    "abandoned": "ccmon_window_contacts_abandoned",
    "blocked": "ccmon_window_contacts_blocked",
    "tickets_created": "ccmon_window_tickets_created",
}
WINDOWS = ("5m", "15m", "30m", "1h", "interval_15m", "interval_30m", "today")


def expected_samples_of(ref: dict[str, object]) -> dict[Sample, float]:
    """The /metrics samples a recount implies: every counter, every window's counts and
    service level and ASA, contacts waiting and the oldest, tickets open."""
    totals: dict[tuple[str, str, str], float] = ref["totals"]  # type: ignore[assignment]
    windows: dict[tuple[str, str, str, str], float] = ref["windows"]  # type: ignore[assignment]
    out: dict[Sample, float] = {}
    pairs = {(c, q) for c, q, _ in totals}
    for channel, queue in pairs:
        for what, name in TOTALS.items():
            # A histogram series exists once it has an observation.
            histogram = what.startswith("wait_") and what != "wait_unknown"
            if histogram and not totals.get((channel, queue, "wait_n")):
                continue
            if ("ticket" in name) != (channel == "ticket"):
                continue  # contact families for calls and chats, ticket families for tickets
            out[sample(name, channel=channel, queue=queue)] = totals.get(
                (channel, queue, what), 0.0
            )
        for (c, q, what), value in totals.items():
            family, _, value_of = what.partition(":")
            if (c, q) == (channel, queue) and value_of and family in LABELLED:
                name, label = LABELLED[family]
                out[sample(name, channel=c, queue=q, **{label: value_of})] = value
        if channel != "ticket" and (
            totals.get((channel, queue, "callbacks"))
            or totals.get((channel, queue, "callbacks_waiting"))
        ):
            out[sample("ccmon_callbacks_waiting", channel=channel, queue=queue)] = totals.get(
                (channel, queue, "callbacks_waiting"), 0.0
            )
        for w in WINDOWS:
            counts = {
                what: v
                for (c, q, ww, what), v in windows.items()
                if (c, q, ww) == (channel, queue, w)
            }
            for what, name in WINDOW_COUNTS.items():
                if ("ticket" in name) != (channel == "ticket"):
                    continue
                out[sample(name, channel=channel, queue=queue, window=w)] = counts.get(what, 0.0)
            if channel != "ticket":
                sl = service_level(counts, POLICY[queue]["profile"])  # type: ignore[arg-type]
                if sl is not None:
                    out[
                        sample("ccmon_service_level_ratio", channel=channel, queue=queue, window=w)
                    ] = sl
                if counts.get("wait_n"):
                    out[
                        sample(
                            "ccmon_answer_wait_average_seconds",
                            channel=channel,
                            queue=queue,
                            window=w,
                        )
                    ] = counts["wait_sum"] / counts["wait_n"]
    waiting: dict[tuple[str, str, str], float] = ref["waiting"]  # type: ignore[assignment]
    for channel, queue in pairs:
        mine = [t for (c, q, _), t in waiting.items() if (c, q) == (channel, queue)]
        if channel == "ticket":
            out[sample("ccmon_tickets_open", channel=channel, queue=queue)] = len(mine)
        else:
            out[sample("ccmon_contacts_waiting", channel=channel, queue=queue)] = len(mine)
            if mine:
                out[
                    sample(
                        "ccmon_oldest_waiting_since_timestamp_seconds", channel=channel, queue=queue
                    )
                ] = min(mine)
    # Counters of rare outcomes are exported once non-zero (docs/metrics.md, series budget).
    for key in [k for k, v in out.items() if k[0] in ONCE_NON_ZERO and not v]:
        del out[key]
    return out


ONCE_NON_ZERO = {
    *list(TOTALS.values())[list(TOTALS).index("callbacks") :],  # the exits' counters
    "ccmon_contacts_wait_unknown_total",
    "ccmon_contacts_expired_total",
    "ccmon_contacts_resolved_first_contact_total",
    "ccmon_tickets_reopened_total",
}

# Every window and family opted in: these tests check every number the worker can export.
EVERYTHING = {
    "CCMON_WINDOWS": ",".join(WINDOWS),
    "CCMON_EXPORT_RATIOS": "true",
    "CCMON_EXPORT_DETAIL": "true",
}
# A worker counted against the reference: the stream clock, the golden queues, no expiry
# during the test, and every window and family (the recount checks every number).
GOLDEN_SETTINGS = {
    "CCMON_CLOCK": "stream",
    "CCMON_QUEUE_CONFIG": str(DATA / "golden-queues.yaml"),
    "CCMON_TICK_INTERVAL_SECONDS": "3600",
    **EVERYTHING,
}


def golden_env(topics: dict[str, str], app_id: str, **extra: str) -> dict[str, str]:
    """A worker on these source topics, counted against the reference (GOLDEN_SETTINGS)."""
    return topic_settings(topics, f"{app_id}.dlq") | GOLDEN_SETTINGS | extra
