"""Closing records: which intervals and days of a partition's queues are closed at a tick,
and which closed ones a late event changed (docs/architecture.md, "Decision record: closed
records"). Pure: the owner runs it in its expiry tick, under the partition's lock.

Each closed period has a marker among its channel x queue's live entries
(:func:`ccmon.agents.domain.periods.marker_key`): ``rev`` the last revision decided, ``h``
the SHA-256 of its content, ``pend`` the record itself until Kafka has acknowledged it,
``dirty`` set (with ``late``, the count, and ``src``, the first) by an event that changed a
closed period (:meth:`ccmon.agents.domain.effects.Effects.revise`). A revision is decided
in the state before it is sent, so a crash between the two sends the same record again
(same revision, same bytes), and two owners can never decide two different revision N.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import orjson

from ccmon.agents.domain import buckets as b
from ccmon.agents.domain import periods as pd
from ccmon.agents.domain.effects import Effects
from ccmon.agents.domain.recordbody import Deadlines, body, running_deadlines
from ccmon.streams.policy import QueuePolicy

PolicyFor = Callable[[str, str], QueuePolicy]
Candidate = tuple[str, str, str]  # (channel|queue, kind, name)
MONTH = "month"  # the marker kind of a month's tally of days
BOUNDARY = 900.0  # seconds: intervals and days end on quarter hours
SINCE = pd.MARKER + "since"  # a queue's first traffic: its days are recorded from then on


@dataclass(frozen=True)
class Published:
    """A record to send: its Kafka key and value, and what the wall's cache keeps of it."""

    key: bytes
    value: bytes
    cq: str
    kind: str
    name: str
    content: dict[str, Any]


def encode(content: dict[str, Any]) -> bytes:
    """The canonical bytes of a record's content (sorted keys, no spaces): what its hash
    and the replay test compare."""
    return orjson.dumps(content, option=orjson.OPT_SORT_KEYS)


def record_key(content: dict[str, Any], revision: int) -> bytes:
    """One Kafka key per revision (docs/architecture.md says why): a compacted topic then
    keeps every revision, and a revision sent twice (a crash before its acknowledgement)
    is kept once."""
    parts = [content["channel"], content["queue"], content["period"], content["start"]]
    return orjson.dumps([*parts, revision])


def _starts_by_day(starts: Iterable[int], tz: str) -> dict[str, list[int]]:
    days: dict[str, list[int]] = {}
    for s in sorted(starts):
        days.setdefault(pd.day_of_minute(s, tz), []).append(s)
    return days


def _local_days(start: float, end: float, tz: str) -> list[str]:
    first = date.fromisoformat(b.local_day(start, tz))
    last = date.fromisoformat(b.local_day(end, tz))
    return [d.isoformat() for d in pd.days_between(first, last)]


def candidates(
    fx: Effects, closed: float, horizon: float, policy_for: PolicyFor, configured: Iterable[str]
) -> set[Candidate]:
    """Periods ending in (closed, horizon] (closed now), and closed ones marked dirty."""
    state = fx.state
    found: set[Candidate] = set()
    if state.records_dirty:
        for cq, entries in state.live.items():
            for key, entry in entries.items():
                if entry.get("dirty") and entry.get("k") == "rec":
                    where = pd.parse_marker(key)
                    if where is not None:
                        found.add((cq, *where))
    # Every interval and local day ends on a quarter hour of UTC (every zone in use is a
    # whole number of quarter hours from UTC): none ends in between, no need to look.
    if int(closed // BOUNDARY) == int(horizon // BOUNDARY):
        return found
    for cq, periods in state.periods.items():
        policy = policy_for(*cq.split("|", 1))
        length, tz = policy.interval_minutes, policy.timezone
        for start in periods:
            end = pd.interval_bounds(start, length)[1]
            if closed < end <= horizon:
                found.add((cq, pd.INTERVAL, str(start)))
            day = pd.day_of_minute(start, tz)
            if closed < pd.day_bounds(day, tz)[1] <= horizon:
                found.add((cq, pd.DAY, day))
        if cq.startswith("ticket|"):
            for deadline, _ in running_deadlines(state, cq):
                if closed <= deadline < horizon:
                    start = b.interval_start_minute(deadline, tz, length)
                    if pd.interval_bounds(start, length)[1] <= horizon:
                        found.add((cq, pd.INTERVAL, str(start)))
                    day = b.local_day(deadline, tz)
                    if pd.day_bounds(day, tz)[1] <= horizon:
                        found.add((cq, pd.DAY, day))
    # A configured queue gets a day record for every day from its first traffic on, traffic
    # or not: days met out of days open count the quiet ones too. From its own first
    # traffic, not its partition's: the records must not depend on which queues share it.
    for cq in configured:
        since = fx.live(cq, SINCE)
        if since is None:
            continue
        tz = policy_for(*cq.split("|", 1)).timezone
        first = b.local_day(float(since["t"]), tz)
        for day in _local_days(max(closed, float(since["t"])), horizon, tz):
            if day >= first and closed < pd.day_bounds(day, tz)[1] <= horizon:
                found.add((cq, pd.DAY, day))
    return found


def mark_first_traffic(fx: Effects) -> None:
    """Each channel x queue's first counted interval, kept for good (SINCE)."""
    for cq, periods in fx.state.periods.items():
        if periods and SINCE not in fx.state.live.get(cq, {}):
            fx.put(cq, SINCE, {"k": "since", "t": min(periods) * 60.0})


def first_closing(fx: Effects, horizon: float) -> float:
    """Where a partition that never closed anything starts: just before its oldest
    interval, so a new deployment does not write years of empty days."""
    starts = [s for periods in fx.state.periods.values() for s in periods]
    return min(starts) * 60.0 - 1.0 if starts else horizon


def close(
    fx: Effects,
    horizon: float,
    policy_for: PolicyFor,
    configured: Iterable[str],
    generated_at: float,
) -> list[Published]:
    """Decide the records due at ``horizon`` (the partition's clock less the grace) in
    ``fx``: markers with their pending record, the new horizon. Returns the records to
    send once ``fx`` is written."""
    state = fx.state
    if state.progress.ev is None:
        return []  # nothing counted yet: a replay into a new deployment starts from its events
    closed = state.progress.rec
    if closed is None:
        closed = first_closing(fx, horizon)
    horizon = max(horizon, closed)
    mark_first_traffic(fx)
    found = candidates(fx, closed, horizon, policy_for, configured)
    out: list[Published] = []
    deadlines: dict[str, Deadlines] = {}
    for cq, kind, name in sorted(found):
        policy = policy_for(*cq.split("|", 1))
        periods = state.periods.get(cq, {})
        if cq.startswith("ticket|") and cq not in deadlines:
            deadlines[cq] = running_deadlines(state, cq)
        if kind == pd.INTERVAL:
            starts = [int(name)]
        else:
            # The intervals with counts, and those where a running promise fell due.
            length, tz = policy.interval_minutes, policy.timezone
            due = {b.interval_start_minute(t, tz, length) for t, _ in deadlines.get(cq, [])}
            starts = _starts_by_day({*periods, *due}, tz).get(name, [])
        content = body(state, cq, kind, name, policy, starts, deadlines.get(cq))
        if kind == pd.INTERVAL:
            end = pd.interval_bounds(int(name), policy.interval_minutes)[1]
        else:
            end = pd.day_bounds(name, policy.timezone)[1]
        published = _decide(fx, cq, (kind, name, end), content, generated_at)
        if published is not None:
            out.append(published)
    if horizon > closed or state.progress.rec is None:
        progress = fx.writes.progress or state.progress
        fx.writes.progress = replace(progress, rec=horizon)
    return out


def _decide(
    fx: Effects,
    cq: str,
    period: tuple[str, str, float],
    content: dict[str, Any],
    generated_at: float,
) -> Published | None:
    kind, name, end = period
    key = pd.marker_key(kind, name)
    marker = fx.live(cq, key) or {"k": "rec", "rev": 0}
    digest = hashlib.sha256(encode(content)).hexdigest()
    if marker.get("h") == digest:  # a late event that changed nothing in the end
        if marker.get("dirty"):
            fx.put(cq, key, _settled(marker))
        return None
    revision = int(marker.get("rev", 0)) + 1
    if revision == 1:
        reason = "closed"
    elif marker.get("late"):
        source = f", the first at source {marker['src']}" if marker.get("src") else ""
        reason = f"{marker['late']} late event(s) after revision {revision - 1}{source}"
    else:
        reason = f"counts changed after revision {revision - 1} (a promise's deadline moved)"
    envelope = {
        "revision": revision,
        "reason": reason,
        "generated_at": generated_at,
        "previous_sha256": marker.get("h"),
        "content_sha256": digest,
        "content": content,
    }
    value = orjson.dumps(envelope, option=orjson.OPT_SORT_KEYS)
    record_id = record_key(content, revision)
    pend = [record_id.decode(), value.decode()]
    fx.put(cq, key, {"k": "rec", "t": end, "rev": revision, "h": digest, "pend": pend})
    if kind == pd.DAY:
        tally_month(fx, cq, name, end, content)
    return Published(record_id, value, cq, kind, name, content)


def day_met(content: dict[str, Any]) -> bool:
    """None of the day's promises missed (one without volume is not missed)."""
    if "service_level" in content:
        return content["service_level"]["met"] is not False
    return all(p["kept"] is not False for p in content["promises"].values())


def tally_month(fx: Effects, cq: str, day: str, end: float, content: dict[str, Any]) -> None:
    """The month's days, open and met, from the latest revision of each (what /metrics
    exports as days met out of days open this month: a Grafana view needs no report)."""
    key = pd.month_marker(day[:7])
    tally = fx.live(cq, key) or {"k": MONTH, "days": {}}
    opened = float(content["open_seconds"]) > 0
    days = {**tally["days"], day: [int(opened), int(opened and day_met(content))]}
    fx.put(cq, key, {"k": MONTH, "t": max(end, float(tally.get("t", 0.0))), "days": days})


def _settled(marker: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in marker.items() if k not in ("dirty", "late", "src")}


def pending(fx: Effects) -> list[tuple[str, str, bytes, bytes]]:
    """Records decided and not yet acknowledged by Kafka (a crash came between), as
    (channel|queue, marker, key, value)."""
    out = []
    for cq, entries in fx.state.live.items():
        for key, entry in entries.items():
            if entry.get("k") == "rec" and entry.get("pend"):
                record_id, value = entry["pend"]
                out.append((cq, key, str(record_id).encode(), str(value).encode()))
    return sorted(out)


def sent(fx: Effects, done: Iterable[tuple[str, str]]) -> None:
    """Kafka acknowledged these records: their markers keep the revision and hash only."""
    for cq, key in done:
        marker = fx.live(cq, key)
        if marker is not None and marker.get("pend"):
            fx.put(cq, key, {k: v for k, v in marker.items() if k != "pend"})
