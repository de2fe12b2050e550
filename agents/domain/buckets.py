"""Bucket arithmetic: keys, event-time windows and rollups. Pure: no Faust, no I/O.

A bucket is a flat ``dict[str, float]`` of counters. Flat dicts because they are what the
table changelog serialises cheaply and what a window sum needs; the two bookkeeping fields
``o`` (last applied repartition offset) and ``p`` (partition) are never summed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

Counters = dict[str, float]

BOOKKEEPING = frozenset({"o", "p", "k"})

# Counter field names (short: they are written to the changelog for every event).
OFFERED = "off"
ANSWERED = "ans"
ANSWERED_WITHIN = "ans_in"
ABANDONED = "ab"
ABANDONED_SHORT = "ab_short"
ABANDONED_WITHIN = "ab_in"
BLOCKED = "blk"
BLOCKED_BY = "blk:"  # + reason
WAIT_SUM = "wait_sum"
WAIT_N = "wait_n"
WAIT_UNKNOWN = "wait_unknown"
ABANDON_WAIT_SUM = "ab_wait_sum"  # seconds waited by abandoned contacts (patience)
# Other ways out of the queue (docs/events.md, "Queue exits"): each counted on its own.
CALLBACKS = "cb"  # callback requested: left the queue, not an abandon
CALLBACKS_WITHIN = "cb_in"
FLOWED_OUT = "fo"  # routed out before an answer: another queue, voicemail, another site
FLOWED_OUT_WITHIN = "fo_in"
FLOWED_TO = "fo:"  # + destination: queue, voicemail, site
TRANSFERRED = "tr"  # after an answer, to another queue (not an exit from the queue)
ABANDONED_ON_HOLD = "ab_hold"  # hung up on hold after the answer (not a queue abandon)
CALLBACKS_PLACED = "cb_placed"  # the callback itself, a contact of its own
CALLBACKS_MET = "cb_met"  # placed within its promised window
CALLBACKS_MISSED = "cb_missed"  # placed after it, or not placed when it ran out
# What did not fit the lifecycle (docs/events.md, "Queue exits"), counted under a rule:
IRREGULAR = "irr:"  # + not_offered, repeated, unknown_target
ENDED = "ended"
HANDLE_SUM = "handle_sum"
FCR = "fcr"
FCR_N = "fcr_n"
EXPIRED = "expired"
T_CREATED = "t_created"
FR_N = "fr"  # first responses (chats and tickets)
FR_SUM = "fr_sum"
FR_TIMED = "fr_timed"  # first responses whose delay is known
T_RESOLVED = "t_resolved"
T_RES_SUM = "t_res_sum"
T_RES_TIMED = "t_res_timed"
T_REOPENED = "t_reopened"
CSAT_N = "csat_n"
CSAT_GOOD = "csat_good"
NPS_N = "nps_n"
NPS_PRO = "nps_pro"
NPS_DET = "nps_det"
CES_N = "ces_n"
CES_SUM = "ces_sum"
# Of the above, contacts offered while their queue was closed (its calendar): counted apart,
# left out of the service level unless the queue says otherwise.
OFFERED_CLOSED = "off_cl"
CLOSED_PARTS = {
    ANSWERED: "ans_cl",
    ANSWERED_WITHIN: "ans_in_cl",
    ABANDONED: "ab_cl",
    ABANDONED_SHORT: "ab_short_cl",
    ABANDONED_WITHIN: "ab_in_cl",
    CALLBACKS: "cb_cl",
    CALLBACKS_WITHIN: "cb_in_cl",
    FLOWED_OUT: "fo_cl",
    FLOWED_OUT_WITHIN: "fo_in_cl",
    OFFERED: OFFERED_CLOSED,
}

# Sums of seconds: integer milliseconds in the reporting-interval buckets ("p").
DURATION_SUMS = frozenset({WAIT_SUM, ABANDON_WAIT_SUM, HANDLE_SUM, FR_SUM, T_RES_SUM})

WINDOW_MINUTES: dict[str, int] = {"5m": 5, "15m": 15, "30m": 30, "1h": 60}
INTERVALS: dict[str, int] = {"interval_15m": 15, "interval_30m": 30}
WINDOWS: tuple[str, ...] = (*WINDOW_MINUTES, *INTERVALS, "today")


def minute_of(ts: float) -> int:
    """Epoch minute of an event time (buckets are aligned on UTC minutes, which are also
    local minutes in every time zone in use today)."""
    return int(ts // 60)


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_day(ts: float, tz: str) -> str:
    # Per minute: every zone in use today has offsets in whole minutes.
    return _local_day_of_minute(int(ts // 60), tz)


@lru_cache(maxsize=4096)
def _local_day_of_minute(minute: int, tz: str) -> str:
    return datetime.fromtimestamp(minute * 60, zone(tz)).strftime("%Y-%m-%d")


def minute_key(channel: str, queue: str, minute: int) -> str:
    return f"{channel}|{queue}|m|{minute}"


def day_key(channel: str, queue: str, day: str) -> str:
    return f"{channel}|{queue}|d|{day}"


def cq_key(channel: str, queue: str) -> str:
    return f"{channel}|{queue}"


def split_bucket_key(key: str) -> tuple[str, str, str, str]:
    """(channel, queue, kind 'm'|'d', minute-or-day).

    A queue name may itself contain '|': it is everything between the first separator and
    the last two."""
    channel, rest = key.split("|", 1)
    queue, kind, when = rest.rsplit("|", 2)
    return channel, queue, kind, when


def interval_start_minute(now: float, tz: str, length: int) -> int:
    """First minute of the local reporting interval of ``length`` minutes holding ``now``.

    Aligned on local wall time, so a +05:30 or +05:45 zone gets intervals starting at :00,
    :15, :30, :45 local time, as the centre's reports do. Per minute (cached), since every
    event asks."""
    return _interval_of_minute(int(now // 60), tz, length)


@lru_cache(maxsize=8192)
def _interval_of_minute(minute: int, tz: str, length: int) -> int:
    local = datetime.fromtimestamp(minute * 60, zone(tz))
    start = local.replace(minute=local.minute - local.minute % length, second=0, microsecond=0)
    return minute_of(start.timestamp())


def window_ranges(now: float, tz: str) -> dict[str, tuple[int, int]]:
    """Minute ranges (inclusive) of every minute-based window ending at ``now``."""
    current = minute_of(now)
    ranges = {name: (current - n + 1, current) for name, n in WINDOW_MINUTES.items()}
    for name, n in INTERVALS.items():
        ranges[name] = (interval_start_minute(now, tz, n), current)
    return ranges


def add_into(target: Counters, source: Mapping[str, float]) -> None:
    for name, value in source.items():
        if name not in BOOKKEEPING:
            target[name] = target.get(name, 0.0) + value


def rollup(minutes: Mapping[int, Mapping[str, float]], now: float, tz: str) -> dict[str, Counters]:
    """Sum the minute buckets of one channel x queue into every minute-based window.

    One pass from the newest minute backwards with a running sum, so each bucket is added
    once whatever the number of windows."""
    ranges = window_ranges(now, tz)
    # Windows ordered by their first minute, newest first, so the running sum can be copied
    # out the moment it has reached each window's start.
    order = sorted(ranges.items(), key=lambda item: -item[1][0])
    current = minute_of(now)
    running: Counters = {}
    out: dict[str, Counters] = {}
    idx = 0
    for minute in sorted((m for m in minutes if m <= current), reverse=True):
        while idx < len(order) and minute < order[idx][1][0]:
            out[order[idx][0]] = dict(running)
            idx += 1
        if idx == len(order):
            break
        add_into(running, minutes[minute])
    while idx < len(order):
        out[order[idx][0]] = dict(running)
        idx += 1
    return out


def ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def open_hours_only(c: Mapping[str, float]) -> Mapping[str, float]:
    """The counters without the contacts offered while the queue was closed."""
    if not any(c.get(closed) for closed in CLOSED_PARTS.values()):
        return c
    out = dict(c)
    for name, closed in CLOSED_PARTS.items():
        out[name] = out.get(name, 0.0) - c.get(closed, 0.0)
    return out


def kpis(c: Mapping[str, float], service_level: tuple[float, float]) -> dict[str, float | None]:
    """Every windowed KPI of one summed window; None where the denominator is empty.
    ``service_level`` is the window's (good, eligible) in the queue's profile
    (:func:`ccmon.agents.domain.servicelevel.queue_parts`)."""
    g = c.get
    offered = g(OFFERED, 0.0)
    return {
        "service_level": ratio(*service_level),
        "asa": ratio(g(WAIT_SUM, 0.0), g(WAIT_N, 0.0)),
        "abandon": ratio(g(ABANDONED, 0.0), offered),
        "blocking": ratio(g(BLOCKED, 0.0), offered + g(BLOCKED, 0.0)),
        "aht": ratio(g(HANDLE_SUM, 0.0), g(ENDED, 0.0)),
        "fcr": ratio(g(FCR, 0.0), g(FCR_N, 0.0)),
        "csat": ratio(g(CSAT_GOOD, 0.0), g(CSAT_N, 0.0)),
        "nps": (
            None
            if g(NPS_N, 0.0) <= 0
            else 100.0 * (g(NPS_PRO, 0.0) - g(NPS_DET, 0.0)) / g(NPS_N, 0.0)
        ),
        "ces": ratio(g(CES_SUM, 0.0), g(CES_N, 0.0)),
        "first_response": ratio(g(FR_SUM, 0.0), g(FR_TIMED, 0.0)),
        "resolution": ratio(g(T_RES_SUM, 0.0), g(T_RES_TIMED, 0.0)),
    }


def sum_all(buckets: Iterable[Mapping[str, float]]) -> Counters:
    total: Counters = {}
    for b in buckets:
        add_into(total, b)
    return total


def histogram_bounds(thresholds: Iterable[tuple[float, str]], base: Iterable[float]) -> list[float]:
    """Histogram upper bounds: the base ladder plus every configured threshold.

    Prometheus buckets mean ``<=``; a threshold compared with ``<`` becomes the largest float
    below it, so the bucket counts exactly the contacts that met it."""
    bounds = set(base)
    for value, comparison in thresholds:
        bounds.add(value if comparison == "<=" else math.nextafter(value, -math.inf))
    return sorted(bounds)


def day_start(day: str, tz: str) -> float:
    start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=zone(tz))
    return start.timestamp()


def day_is_expired(day: str, now: float, keep_days: int) -> bool:
    return day < _cutoff_day(int(now // 86400), keep_days)  # ISO dates sort as text


@lru_cache(maxsize=64)
def _cutoff_day(utc_day: int, keep_days: int) -> str:
    cutoff = datetime.fromtimestamp(utc_day * 86400, UTC).date() - timedelta(days=keep_days)
    return cutoff.isoformat()
