"""What a closed record says: the counts of one channel x queue over one local interval or
day, and what they mean against the queue's promises. Pure, and a function of the counts
only: the same events give the same record, to the byte (docs/metrics.md, "Closed records").

The counts come from the partition's reporting-interval buckets (integers, durations in
milliseconds: sums do not depend on how events were batched) and, for tickets, from the
promises still running past their deadline (missed, no reply yet). Ratios are computed from
those integers, so they are the same on every replay too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from ccmon.agents.domain import buckets as b
from ccmon.agents.domain import periods as pd
from ccmon.agents.domain.promises import CODES, MET, MISSED, PROMISES, promise_of
from ccmon.agents.domain.servicelevel import all_parts
from ccmon.agents.domain.state import PartitionState
from ccmon.streams.policy import QueuePolicy

CONTENT_VERSION = 1
WORST = 3  # intervals a day record names as its worst
# Counter names of the buckets as a record names them (durations are milliseconds there).
NAMES = {
    b.OFFERED: "offered",
    b.ANSWERED: "answered",
    b.ANSWERED_WITHIN: "answered_within",
    b.ABANDONED: "abandoned",
    b.ABANDONED_SHORT: "abandoned_short",
    b.ABANDONED_WITHIN: "abandoned_within",
    b.BLOCKED: "blocked",
    b.WAIT_SUM: "wait_ms",
    b.WAIT_N: "waits_known",
    b.WAIT_UNKNOWN: "wait_unknown",
    b.ABANDON_WAIT_SUM: "abandon_wait_ms",
    b.ENDED: "ended",
    b.HANDLE_SUM: "handle_ms",
    b.FCR: "resolved_first_contact",
    b.FCR_N: "first_contact_flagged",
    b.T_CREATED: "tickets_created",
    b.T_RESOLVED: "tickets_resolved",
    b.T_REOPENED: "tickets_reopened",
    b.FR_N: "first_responses",
    b.FR_SUM: "first_response_ms",
    b.FR_TIMED: "first_responses_timed",
    b.T_RES_SUM: "resolution_ms",
    b.T_RES_TIMED: "resolutions_timed",
    b.OFFERED_CLOSED: "offered_closed",
    b.CALLBACKS: "callbacks",
    b.CALLBACKS_WITHIN: "callbacks_within",
    b.FLOWED_OUT: "flowed_out",
    b.FLOWED_OUT_WITHIN: "flowed_out_within",
    b.TRANSFERRED: "transferred",
    b.ABANDONED_ON_HOLD: "abandoned_on_hold",
    b.CALLBACKS_PLACED: "callbacks_placed",
    b.CALLBACKS_MET: "callbacks_placed_in_time",
    b.CALLBACKS_MISSED: "callbacks_missed",
}
for _where in ("queue", "voicemail", "site"):
    NAMES[b.FLOWED_TO + _where] = "flowed_out_to_" + _where
for _rule in ("not_offered", "repeated", "unknown_target"):
    NAMES[b.IRREGULAR + _rule] = "irregular_" + _rule
for _name, _closed in b.CLOSED_PARTS.items():
    NAMES.setdefault(_closed, NAMES[_name] + "_closed")


def local(ts: float, tz: str) -> str:
    return datetime.fromtimestamp(ts, b.zone(tz)).isoformat(timespec="minutes")


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def counts_of(
    buckets: Iterable[Mapping[str, float]],
) -> tuple[dict[str, int], dict[str, list[int]], dict[str, int]]:
    """Summed counts, the first and last source offset per source partition, and the
    promise outcomes (met / missed, by promise code)."""
    counts: dict[str, int] = {}
    outcomes: dict[str, int] = {}
    sources: dict[str, list[int]] = {}
    for bucket in buckets:
        for raw, value in bucket.items():
            if raw[0] in "<>":
                span = sources.setdefault(raw[1:], [int(value), int(value)])
                if raw[0] == "<":
                    span[0] = min(span[0], int(value))
                else:
                    span[1] = max(span[1], int(value))
                continue
            if raw[:3] in (MET, MISSED):  # the record's promises, with the ones running
                outcomes[raw] = outcomes.get(raw, 0) + round(value)
                continue
            if raw.startswith(b.BLOCKED_BY):
                name = "blocked_" + raw[len(b.BLOCKED_BY) :]
            else:
                name = NAMES.get(raw, raw)
            counts[name] = counts.get(name, 0) + round(value)
    kept = {k: v for k, v in sorted(counts.items()) if v}
    return kept, dict(sorted(sources.items())), outcomes


def _raw(counts: Mapping[str, int]) -> dict[str, float]:
    """Back to the bucket names the service-level formulas read."""
    back = {name: raw for raw, name in NAMES.items()}
    return {back.get(k, k): float(v) for k, v in counts.items()}


def service_level(counts: Mapping[str, int], policy: QueuePolicy) -> dict[str, Any]:
    """Every profile (docs/metrics.md, "Service-level profiles") with the queue's options,
    and whether its own met its target."""
    profiles = {
        name: {"good": round(good), "eligible": round(eligible), "ratio": _ratio(good, eligible)}
        for name, (good, eligible) in all_parts(_raw(counts), policy).items()
    }
    ratio = profiles[policy.profile]["ratio"]
    return {
        "profile": policy.profile,
        "threshold_seconds": policy.threshold_seconds,
        "comparison": policy.comparison,
        "target_ratio": policy.target_ratio,
        "closed_in_service_level": policy.closed_in_service_level,
        "exclude_short_abandons": policy.exclude_short_abandons,
        "include_flow_outs": policy.include_flow_outs,
        "ratio": ratio,
        "met": None if ratio is None else ratio >= policy.target_ratio,
        "profiles": profiles,
    }


def promises(
    outcomes: Mapping[str, int], open_missed: Mapping[str, int], policy: QueuePolicy
) -> Any:
    targets = {
        "first_reply": policy.first_response_target_seconds,
        "next_reply": policy.next_reply_target_seconds,
        "resolution": policy.resolution_target_seconds,
    }
    out = {}
    for promise in PROMISES:
        code = CODES[promise]
        met = outcomes.get(MET + code, 0)
        missed = outcomes.get(MISSED + code, 0) + open_missed.get(promise, 0)
        ratio = _ratio(met, met + missed)
        out[promise] = {
            "target_seconds": targets[promise],
            "target_ratio": policy.target_ratio,
            "met": met,
            "missed": missed,
            "ratio": ratio,
            "kept": None if ratio is None else ratio >= policy.target_ratio,
        }
    return out


Deadlines = list[tuple[float, str]]


def running_deadlines(state: PartitionState, cq: str) -> Deadlines:
    """Deadlines of the promises still running and not judged already (missed once their
    deadline is past, their reply still to come), with their promise."""
    out: Deadlines = []
    for entry in state.live.get(cq, {}).values():
        running = entry.get("d")
        if not running or entry.get("k") == "rec":
            continue
        judged = entry.get("o", {})
        for instance, (deadline, _) in running.items():
            if deadline is not None and instance not in judged:
                out.append((float(deadline), promise_of(instance)))
    return out


def open_missed(deadlines: Deadlines, start: float, end: float) -> dict[str, int]:
    out: dict[str, int] = {}
    for deadline, promise in deadlines:
        if start <= deadline < end:
            out[promise] = out.get(promise, 0) + 1
    return out


def body(
    state: PartitionState,
    cq: str,
    kind: str,
    name: str,
    policy: QueuePolicy,
    starts: list[int],
    deadlines: Deadlines | None = None,
) -> dict[str, Any]:
    """The content of the record of ``kind`` (interval, day) named ``name`` (first
    minute, local date); ``starts`` the intervals it sums (one for an interval);
    ``deadlines`` those of :func:`running_deadlines`, when the caller has them."""
    channel, queue = cq.split("|", 1)
    tz = policy.timezone
    if kind == pd.INTERVAL:
        start, end = pd.interval_bounds(int(name), policy.interval_minutes)
        opened = policy.hours.business_seconds(start, end)
    else:
        start, end = pd.day_bounds(name, tz)
        opened = policy.hours.open_seconds(date.fromisoformat(name))
    periods = state.periods.get(cq, {})
    counts, sources, outcomes = counts_of(periods.get(s, {}) for s in starts)
    content: dict[str, Any] = {
        "record": CONTENT_VERSION,
        "channel": channel,
        "queue": queue,
        "period": kind,
        "start": local(start, tz),
        "end": local(end, tz),
        "timezone": tz,
        "seconds": end - start,
        "open_seconds": opened,
        "calendar": policy.calendar,
        "config_version": policy.version,
        "counts": counts,
        "provenance": {"sources": sources},
    }
    if channel == "ticket":
        if deadlines is None:
            deadlines = running_deadlines(state, cq)
        late = open_missed(deadlines, start, end)
        content["promises"] = promises(outcomes, late, policy)
    else:
        content["service_level"] = service_level(counts, policy)
        content["asa_seconds"] = _seconds(counts.get("wait_ms", 0), counts.get("waits_known", 0))
        content["aht_seconds"] = _seconds(counts.get("handle_ms", 0), counts.get("ended", 0))
        offered, blocked = counts.get("offered", 0), counts.get("blocked", 0)
        content["abandon_ratio"] = _ratio(counts.get("abandoned", 0), offered)
        content["blocking_ratio"] = _ratio(blocked, offered + blocked)
    if kind == pd.DAY:
        content["intervals"] = len(starts)
        content["worst_intervals"] = worst(state, cq, starts, policy, deadlines)
    return content


def _seconds(ms: int, n: int) -> float | None:
    return ms / n / 1000 if n > 0 else None


def worst(
    state: PartitionState,
    cq: str,
    starts: list[int],
    policy: QueuePolicy,
    deadlines: Deadlines | None,
) -> list[dict[str, Any]]:
    """The day's intervals that did worst: the lowest service level (calls, chats) or the
    lowest share of promises kept (tickets), ties to the busiest, then the earliest."""
    rows = []
    for s in starts:
        one = body(state, cq, pd.INTERVAL, str(s), policy, [s], deadlines)
        if "service_level" in one:
            figure = one["service_level"]["profiles"][policy.profile]
            ratio, volume = figure["ratio"], figure["eligible"]
        else:
            met = sum(p["met"] for p in one["promises"].values())
            missed = sum(p["missed"] for p in one["promises"].values())
            ratio, volume = _ratio(met, met + missed), met + missed
        if ratio is not None:
            rows.append((ratio, -volume, s, one["start"], volume))
    rows.sort()
    return [
        {"start": start, "ratio": ratio, "volume": volume}
        for ratio, _, _, start, volume in rows[:WORST]
    ]
