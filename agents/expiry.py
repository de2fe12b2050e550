"""Time-driven state changes, applied when a tick record of a partition is consumed.

Ticks go through the repartition topic (see :mod:`agents.worker`), so expiry runs inside
an event of the very partition whose keys it removes: the changelog tombstones land in the
right partition with any table store, and a tick replayed after a crash is as idempotent
as an event. This replaces Faust's window expiry, which never expires recovered windows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from ccmon.agents import buckets as b
from ccmon.agents.ledger import Ledger
from ccmon.streams.config import QueuePolicy

PolicyFor = Callable[[str, str], QueuePolicy]


def apply_tick(led: Ledger, now: float, policy_for: PolicyFor) -> dict[str, int]:
    """Expire what is due in ``led.partition``; returns counts by kind for the log."""
    part = led.partition
    limits = led.limits
    cutoff_minute = b.minute_of(now) - limits.bucket_retention_minutes
    removed: Counter[str] = Counter()

    doomed = []
    for key, value in list(led.t.buckets.items()):
        if value.get("p") != part:
            continue
        _, _, kind, when = b.split_bucket_key(key)
        if (kind == "m" and int(when) <= cutoff_minute) or (
            kind == "d" and b.day_is_expired(when, now, limits.day_retention_days)
        ):
            doomed.append(key)
    for key in doomed:
        led.delete(led.t.buckets, key)
    removed["buckets"] = len(doomed)

    expired: Counter[tuple[str, str]] = Counter()
    for key, value in list(led.t.live.items()):
        if value.get("p") != part:
            continue
        channel, rest = key.split("|", 1)
        queue = rest.rsplit("|", 1)[0]
        age = now - float(value["t"])
        kind = value.get("k")
        if kind in {"w", "a"}:
            if age <= policy_for(channel, queue).max_wait_seconds:
                continue
            if kind == "w":
                expired[(channel, queue)] += 1
        elif kind == "x":
            if age <= limits.closed_marker_seconds:
                continue
        elif kind == "tc":
            if age <= limits.closed_ticket_marker_seconds:
                continue
        else:
            continue
        led.delete(led.t.live, key)
        removed["live"] += 1
    for (channel, queue), n in expired.items():
        led.add(led.t.totals, b.cq_key(channel, queue), {b.EXPIRED: n})
    removed["expired_waiting"] = sum(expired.values())
    return dict(removed)
